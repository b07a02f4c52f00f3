import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Wal } from '../../src/storage/wal.js';
import type { LogEntry } from '../../src/storage/wal.js';
import { payload, removeDir, tempDir } from './helpers.js';

// Random operation sequences checked against a plain array. "Crash" abandons
// the Wal without close, once every flush promise has settled: the reopened log
// must equal the model as it was at some point since the last flush call (a
// flush coalesced behind another one also writes what was appended meanwhile;
// anything queued after the last flush started never reached the disk).

interface Model {
  compactIndex: number;
  compactTerm: number;
  entries: LogEntry[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

function copy(m: Model): Model {
  return { compactIndex: m.compactIndex, compactTerm: m.compactTerm, entries: [...m.entries] };
}

function sameAs(wal: Wal, m: Model): boolean {
  if (wal.firstIndex !== m.compactIndex + 1 || wal.lastIndex !== m.compactIndex + m.entries.length) return false;
  if (wal.term(m.compactIndex) !== m.compactTerm) return false;
  const got = wal.entries(wal.firstIndex, wal.lastIndex + 1);
  return m.entries.every((e, i) => got[i]!.index === e.index && got[i]!.term === e.term && got[i]!.data.equals(e.data));
}

function check(wal: Wal, m: Model, where: string): void {
  assert.equal(wal.firstIndex, m.compactIndex + 1, `${where}: firstIndex`);
  assert.equal(wal.lastIndex, m.compactIndex + m.entries.length, `${where}: lastIndex`);
  assert.equal(wal.term(m.compactIndex), m.compactTerm, `${where}: compaction term`);
  const got = wal.entries(wal.firstIndex, wal.lastIndex + 1);
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    assert.equal(got[i]!.index, e.index, `${where}: index`);
    assert.equal(got[i]!.term, e.term, `${where}: term of ${e.index}`);
    assert.ok(got[i]!.data.equals(e.data), `${where}: data of ${e.index}`);
  }
}

// KM_WAL_SEED=<n> replays one seed.
const seeds = process.env['KM_WAL_SEED'] !== undefined ? [Number(process.env['KM_WAL_SEED'])] : [1, 2, 3, 4, 5, 6];
const STEPS = 200;

for (const seed of seeds) {
  test(`wal model: random appends, truncations, compactions, flushes and crashes (seed ${seed})`, async () => {
    const dir = tempDir();
    try {
      const rand = rng(seed);
      const segmentBytes = 200 + Math.floor(rand() * 800);
      const warnings: string[] = [];
      const open = () => Wal.open(dir, { segmentBytes, warn: (w) => warnings.push(w) });
      let wal = await open();
      const model: Model = { compactIndex: 0, compactTerm: 0, entries: [] };
      // States since the last flush call; the disk holds one of them after a crash.
      let since: Model[] = [copy(model)];
      let inFlight: Promise<void>[] = [];
      let term = 1;
      const last = () => model.compactIndex + model.entries.length;
      const lastTerm = () => model.entries.at(-1)?.term ?? model.compactTerm;

      for (let step = 0; step < STEPS; step++) {
        const where = `seed ${seed} step ${step}`;
        const r = rand();
        if (r < 0.45) {
          if (rand() < 0.1) term++;
          term = Math.max(term, lastTerm());
          const n = 1 + Math.floor(rand() * 12);
          const batch: LogEntry[] = [];
          for (let i = 0; i < n; i++) {
            const index = last() + 1 + i;
            batch.push({ index, term, data: payload(index * 7 + term, Math.floor(rand() * 120)) });
          }
          wal.append(batch);
          model.entries.push(...batch);
        } else if (r < 0.65) {
          inFlight.push(wal.flush({ sync: rand() < 0.5 }));
          since = [];
        } else if (r < 0.75 && model.entries.length > 0) {
          const from = model.compactIndex + 1 + Math.floor(rand() * model.entries.length);
          inFlight.push(wal.truncateSuffix(from));
          model.entries.length = from - model.compactIndex - 1;
          since = []; // truncateSuffix flushes
        } else if (r < 0.82) {
          // Compact inside the log, or (rarely) jump past it as an installed snapshot would.
          let through: number;
          let t: number;
          if (rand() < 0.15) {
            through = last() + 1 + Math.floor(rand() * 20);
            term = Math.max(term, lastTerm()) + 1;
            t = term;
            model.entries = [];
          } else {
            if (model.entries.length === 0) continue;
            through = model.compactIndex + 1 + Math.floor(rand() * model.entries.length);
            t = model.entries[through - model.compactIndex - 1]!.term;
            model.entries = model.entries.slice(through - model.compactIndex);
          }
          inFlight.push(wal.compactPrefix(through, t));
          model.compactIndex = through;
          model.compactTerm = t;
          since = []; // compactPrefix flushes
        } else if (r < 0.9) {
          await Promise.all(inFlight);
          inFlight = [];
          await wal.close();
          wal = await open();
          since = [];
          check(wal, model, `${where} after close/reopen`);
        } else if (r < 0.95) {
          // Crash: abandon the object once the disk has caught up with the last flush call.
          await Promise.all(inFlight);
          inFlight = [];
          wal = await open();
          const found = since.find((m) => sameAs(wal, m));
          assert.ok(found !== undefined, `${where}: recovered log matches no state since the last flush`);
          model.compactIndex = found.compactIndex;
          model.compactTerm = found.compactTerm;
          model.entries = [...found.entries];
          since = [];
        }
        since.push(copy(model));
        check(wal, model, where);
      }
      await Promise.all(inFlight);
      await wal.close();
      assert.deepEqual(warnings, [], 'no torn tails without torn writes');
    } finally {
      removeDir(dir);
    }
  });
}
