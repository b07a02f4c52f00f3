// Micro-benchmark of the log's in-memory side: appending entries (as the write path does,
// one write(2) per 16) and compacting half of them away after a snapshot, which runs on
// the event loop and so pauses every client for as long as it takes.
//
//   npx tsc -p tsconfig.json && node dist/bench/wal-log.bench.js [entries]
//
// Prints µs per append and the compaction's milliseconds, best and median of 5 rounds,
// each on a fresh log in the OS temp dir. To compare two builds, run each build's copy.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wal } from '../src/storage/wal.js';
import { countArg } from './results.js';

const entries = countArg(0, 1_000_000, 'usage: node dist/bench/wal-log.bench.js [entries]');
const rounds = 5;
const payload = Buffer.alloc(150, 7);

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const appendUs: number[] = [];
const compactMs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const dir = mkdtempSync(join(tmpdir(), 'keymesh-wal-bench-'));
  try {
    const wal = await Wal.open(dir, { repair: false, warn: () => {} });
    const t0 = performance.now();
    for (let i = 1; i <= entries; i++) {
      wal.append([{ index: i, term: 1, data: payload }]);
      if (i % 16 === 0 && !wal.writeNow()) await wal.flush({ sync: false });
    }
    await wal.flush({ sync: false });
    appendUs.push(((performance.now() - t0) * 1000) / entries);
    // Only the synchronous part pauses the event loop; unlinking segments happens in the flush.
    const t1 = performance.now();
    const done = wal.compactPrefix(entries / 2, 1);
    compactMs.push(performance.now() - t1);
    await done;
    await wal.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(`${entries.toLocaleString('en-US')} entries of ${payload.length} bytes, ${rounds} rounds`);
console.log(`append: best ${Math.min(...appendUs).toFixed(2)} µs, median ${median(appendUs).toFixed(2)} µs per entry`);
console.log(`compact half (synchronous part): best ${Math.min(...compactMs).toFixed(2)} ms, median ${median(compactMs).toFixed(2)} ms`);
