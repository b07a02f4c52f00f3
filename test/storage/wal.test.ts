import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { LogCorruptionError, RECORD_HEADER_BYTES, Wal, WalFailedError } from '../../src/storage/wal.js';
import type { LogEntry, WalOptions } from '../../src/storage/wal.js';
import { prescanWal, type SegmentPrescan } from '../../src/storage/wal-prescan.js';
import { countingFs, makeEntries, recordsEnd, removeDir, segmentFiles, tempDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  removeDir(dir);
});

function assertSameEntries(actual: readonly LogEntry[], expected: readonly LogEntry[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.equal(actual[i]!.index, expected[i]!.index);
    assert.equal(actual[i]!.term, expected[i]!.term);
    assert.ok(actual[i]!.data.equals(expected[i]!.data), `payload of entry ${expected[i]!.index}`);
  }
}

function noWarnings(): { warn: (m: string) => void; messages: string[] } {
  const messages: string[] = [];
  return { warn: (m) => messages.push(m), messages };
}

/** When set, recovery gets the segments as the prescan worker read them (wal-prescan.ts). */
let prescanned = false;

async function openLog(opts: WalOptions = {}): Promise<Wal> {
  return Wal.open(dir, { ...opts, prescan: prescanned ? await prescanWal(dir, 0) : null });
}

async function reopen(opts: { segmentBytes?: number; repair?: boolean } = {}) {
  const w = noWarnings();
  const wal = await openLog({ ...opts, warn: w.warn });
  return { wal, messages: w.messages };
}

describe('wal: round trip', () => {
  test('append, flush and reopen across several segments', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 });
    assert.equal(wal.firstIndex, 1);
    assert.equal(wal.lastIndex, 0);
    assert.equal(wal.term(0), 0);
    const all = [...makeEntries(1, 50, 1), ...makeEntries(51, 50, 2), ...makeEntries(101, 100, 5)];
    wal.append(all.slice(0, 50));
    await wal.flush({ sync: true });
    wal.append(all.slice(50, 120));
    await wal.flush({ sync: false });
    wal.append(all.slice(120));
    await wal.close();
    assert.ok(segmentFiles(dir).length >= 5, `expected several segments, got ${segmentFiles(dir).length}`);
    for (const name of segmentFiles(dir)) {
      assert.ok(fs.statSync(path.join(dir, 'wal', name)).size <= 1024);
    }

    const { wal: again, messages } = await reopen({ segmentBytes: 1024 });
    assert.deepEqual(messages, []);
    assert.equal(again.firstIndex, 1);
    assert.equal(again.lastIndex, 200);
    assert.equal(again.lastTerm, 5);
    assertSameEntries(again.entries(1, 201), all);
    assert.equal(again.term(50), 1);
    assert.equal(again.term(51), 2);
    assert.equal(again.term(201), undefined);
    // Appending after recovery continues the same files.
    again.append(makeEntries(201, 10, 6));
    await again.close();
    const { wal: third } = await reopen({ segmentBytes: 1024 });
    assert.equal(third.lastIndex, 210);
    assert.equal(third.term(210), 6);
    await third.close();
  });

  test('a payload larger than a segment gets a segment of its own', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 256 });
    const big = makeEntries(1, 3, 1, (i) => (i === 2 ? 1000 : 20));
    wal.append(big);
    await wal.close();
    assert.deepEqual(segmentFiles(dir).map((n) => Number(n.slice(0, 20))), [1, 2, 3]);
    const { wal: again } = await reopen({ segmentBytes: 256 });
    assertSameEntries(again.entries(1, 4), big);
    await again.close();
  });

  test('append copies the payload, so callers may reuse their buffers', async () => {
    const wal = await Wal.open(dir);
    const data = Buffer.from('original');
    wal.append([{ index: 1, term: 1, data }]);
    data.write('mutated!');
    assert.equal(wal.entries(1, 2)[0]!.data.toString(), 'original');
    await wal.close();
  });

  test('entries() honours maxBytes but always returns at least one entry', async () => {
    const wal = await Wal.open(dir);
    wal.append(makeEntries(1, 10, 1, () => 100));
    assert.equal(wal.entries(1, 11, 350).length, 3);
    assert.equal(wal.entries(1, 11, 10).length, 1);
    assert.equal(wal.entries(4, 4).length, 0);
    assert.throws(() => wal.entries(0, 3), /outside/);
    assert.throws(() => wal.entries(1, 12), /outside/);
    await wal.close();
  });

  test('compactPrefix refuses a term that disagrees with the log', async () => {
    const wal = await Wal.open(dir);
    wal.append(makeEntries(1, 5, 2));
    assert.throws(() => wal.compactPrefix(3, 1), /entry 3 has term 2/);
    assert.equal(wal.firstIndex, 1);
    await wal.close();
  });

  test('append refuses a gap or a term that goes back', async () => {
    const wal = await Wal.open(dir);
    wal.append(makeEntries(1, 3, 2));
    assert.throws(() => wal.append(makeEntries(5, 1, 2)), /expected 4/);
    assert.throws(() => wal.append(makeEntries(4, 1, 1)), /term 1 after 2/);
    assert.equal(wal.lastIndex, 3);
    await wal.close();
  });
});

describe('wal: truncateSuffix', () => {
  test('a conflict truncates in memory at once and on disk, and new entries follow', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 });
    const first = makeEntries(1, 100, 1);
    wal.append(first);
    await wal.flush({ sync: true });
    const files = segmentFiles(dir).length;
    const p = wal.truncateSuffix(40);
    assert.equal(wal.lastIndex, 39);
    const replacement = makeEntries(40, 30, 2);
    wal.append(replacement); // before the truncation reached the disk
    await p;
    await wal.close();
    assert.ok(segmentFiles(dir).length < files);

    const { wal: again, messages } = await reopen({ segmentBytes: 1024 });
    assert.deepEqual(messages, []);
    assert.equal(again.lastIndex, 69);
    assertSameEntries(again.entries(1, 70), [...first.slice(0, 39), ...replacement]);
    await again.close();
  });

  test('truncating at a segment boundary and before anything was flushed', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 512 });
    wal.append(makeEntries(1, 60, 1));
    await wal.flush({ sync: true });
    const boundary = Number(segmentFiles(dir)[1]!.slice(0, 20));
    await wal.truncateSuffix(boundary);
    assert.equal(wal.lastIndex, boundary - 1);
    wal.append(makeEntries(boundary, 5, 3));
    await wal.truncateSuffix(boundary + 2); // only in the queue so far
    await wal.close();
    const { wal: again } = await reopen({ segmentBytes: 512 });
    assert.equal(again.lastIndex, boundary + 1);
    assert.equal(again.term(boundary + 1), 3);
    assert.equal(again.term(boundary - 1), 1);
    await again.close();
  });

  test('truncating everything after the compaction point', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 512 });
    wal.append(makeEntries(1, 60, 1));
    await wal.compactPrefix(20, 1);
    await wal.truncateSuffix(21);
    assert.equal(wal.lastIndex, 20);
    assert.throws(() => wal.truncateSuffix(20), /compacted/);
    wal.append(makeEntries(21, 2, 4));
    await wal.close();
    const { wal: again } = await reopen({ segmentBytes: 512 });
    assert.equal(again.firstIndex, 21);
    assert.equal(again.lastIndex, 22);
    assert.equal(again.term(20), 1);
    assert.equal(again.term(22), 4);
    await again.close();
  });
});

describe('wal: compactPrefix', () => {
  test('drops covered segments, remembers the compaction term, survives reopen', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 });
    const all = [...makeEntries(1, 150, 1), ...makeEntries(151, 50, 2)];
    wal.append(all);
    await wal.flush({ sync: true });
    const before = segmentFiles(dir);
    await wal.compactPrefix(150, 1);
    assert.equal(wal.firstIndex, 151);
    assert.equal(wal.term(150), 1);
    assert.equal(wal.term(149), undefined);
    const after = segmentFiles(dir);
    assert.ok(after.length < before.length);
    // The first remaining segment still holds index 151.
    assert.ok(Number(after[0]!.slice(0, 20)) <= 151);
    await wal.close();

    const { wal: again, messages } = await reopen({ segmentBytes: 1024 });
    assert.deepEqual(messages, []);
    assert.equal(again.firstIndex, 151);
    assert.equal(again.lastIndex, 200);
    assert.equal(again.term(150), 1);
    assertSameEntries(again.entries(151, 201), all.slice(150));
    await again.close();
  });

  test('a snapshot beyond the log drops it all; the log restarts after it', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 1024 });
    wal.append(makeEntries(1, 80, 1));
    await wal.flush({ sync: true });
    await wal.compactPrefix(500, 3);
    assert.equal(segmentFiles(dir).length, 0);
    assert.equal(wal.lastIndex, 500);
    assert.equal(wal.lastTerm, 3);
    wal.append(makeEntries(501, 5, 3));
    await wal.close();
    const { wal: again } = await reopen({ segmentBytes: 1024 });
    assert.equal(again.firstIndex, 501);
    assert.equal(again.lastIndex, 505);
    assert.equal(again.term(500), 3);
    await again.close();
  });

  test('segments left behind by a compaction cut short are ignored and removed', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 512 });
    wal.append(makeEntries(1, 100, 1));
    await wal.close();
    const saved = segmentFiles(dir).map((n) => [n, fs.readFileSync(path.join(dir, 'wal', n))] as const);
    const w2 = await Wal.open(dir, { segmentBytes: 512 });
    await w2.compactPrefix(70, 1);
    await w2.close();
    // Put the deleted segments back, as if the process died before unlinking them.
    for (const [n, b] of saved) fs.writeFileSync(path.join(dir, 'wal', n), b);
    const { wal: again, messages } = await reopen({ segmentBytes: 512 });
    assert.deepEqual(messages, []);
    assert.equal(again.firstIndex, 71);
    assert.equal(again.lastIndex, 100);
    assert.ok(Number(segmentFiles(dir)[0]!.slice(0, 20)) <= 71);
    assert.ok(Number(segmentFiles(dir)[1]?.slice(0, 20) ?? '999') > 71);
    await again.close();
  });
});

for (const withPrescan of [false, true]) {
  describe(`wal: recovery from a torn or damaged log${withPrescan ? ', the log read by the prescan worker' : ''}`, () => {
    beforeEach(() => {
      prescanned = withPrescan;
    });
    afterEach(() => {
      prescanned = false;
    });

    async function writeLog(count: number, segmentBytes = 1 << 20): Promise<LogEntry[]> {
      const wal = await Wal.open(dir, { segmentBytes });
      const entries = makeEntries(1, count, 1, (i) => 20 + i);
      wal.append(entries);
      await wal.close();
      return entries;
    }

    for (const layout of ['one segment', 'last record alone in the last segment'] as const) {
      test(`a cut at every byte inside the last record loses only that record (${layout})`, async () => {
        // 10 records of 44..53 bytes: a 480-byte segment fits 9 of them, not 10.
        const entries = await writeLog(10, layout === 'one segment' ? 1 << 20 : 480);
        const names = segmentFiles(dir);
        assert.equal(names.length, layout === 'one segment' ? 1 : 2);
        const file = path.join(dir, 'wal', names.at(-1)!);
        const whole = fs.readFileSync(file);
        const lastStart = whole.length - (RECORD_HEADER_BYTES + entries[9]!.data.length);
        let checked = 0;
        for (let cut = lastStart + 1; cut < whole.length; cut++) {
          fs.writeFileSync(file, whole.subarray(0, cut));
          const { wal, messages } = await reopen();
          assert.equal(wal.lastIndex, 9, `cut at ${cut}`);
          assertSameEntries(wal.entries(1, 10), entries.slice(0, 9));
          assert.equal(messages.length, 1, `cut at ${cut}`);
          assert.match(messages[0]!, /torn tail/);
          assert.match(messages[0]!, new RegExp(`byte offset ${lastStart}\\b`));
          assert.equal(fs.statSync(file).size, lastStart, 'the torn bytes are cut off on disk');
          // The log is usable again: the lost entry can be appended anew.
          wal.append([entries[9]!]);
          await wal.close();
          checked++;
        }
        assert.equal(checked, RECORD_HEADER_BYTES + entries[9]!.data.length - 1);
        // A cut exactly at the record boundary is a clean log.
        fs.writeFileSync(file, whole.subarray(0, lastStart));
        const { wal, messages } = await reopen();
        assert.equal(wal.lastIndex, 9);
        assert.deepEqual(messages, []);
        await wal.close();
      });
    }

    test('zeros after the last record (preallocated space) end the log: no warning, appends go right after the records', async () => {
      const entries = await writeLog(10);
      const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
      const size = fs.statSync(file).size;
      fs.appendFileSync(file, Buffer.alloc(4096));
      const { wal, messages } = await reopen();
      assert.equal(wal.lastIndex, 10);
      assertSameEntries(wal.entries(1, 11), entries);
      assert.deepEqual(messages, []);
      const more = makeEntries(11, 3, 1);
      wal.append(more);
      await wal.flush({ sync: true });
      await wal.close();
      assert.equal(recordsEnd(fs.readFileSync(file)), size + more.reduce((n, e) => n + RECORD_HEADER_BYTES + e.data.length, 0));
      const { wal: again, messages: m2 } = await reopen();
      assert.deepEqual(m2, []);
      assertSameEntries(again.entries(1, 14), [...entries, ...more]);
      await again.close();
    });

    test('a torn record followed by zeros is a torn tail: cut, with a warning', async () => {
      const entries = await writeLog(10);
      const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
      const b = fs.readFileSync(file);
      const lastStart = b.length - RECORD_HEADER_BYTES - entries[9]!.data.length;
      // The second half of the last record never reached the disk; preallocated zeros follow.
      const torn = Buffer.concat([b.subarray(0, lastStart + 20), Buffer.alloc(b.length - lastStart - 20 + 4096)]);
      fs.writeFileSync(file, torn);
      const { wal, messages } = await reopen();
      assert.equal(wal.lastIndex, 9);
      assert.equal(messages.length, 1);
      assert.match(messages[0]!, /torn tail/);
      assert.equal(fs.statSync(file).size, lastStart);
      await wal.close();
    });

    test('zeros at the end of a segment that is not the last are damage, as before', async () => {
      const entries = makeEntries(1, 40, 1);
      const w = await Wal.open(dir, { segmentBytes: 300 });
      w.append(entries);
      await w.close();
      const first = path.join(dir, 'wal', segmentFiles(dir)[0]!);
      fs.appendFileSync(first, Buffer.alloc(100));
      await assert.rejects(reopen({ segmentBytes: 300 }), LogCorruptionError);
    });

    test('a flipped bit in the last record truncates it', async () => {
      const entries = await writeLog(10);
      const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
      const b = fs.readFileSync(file);
      b[b.length - 3]! ^= 0x10;
      fs.writeFileSync(file, b);
      const { wal, messages } = await reopen();
      assert.equal(wal.lastIndex, 9);
      assertSameEntries(wal.entries(1, 10), entries.slice(0, 9));
      assert.equal(messages.length, 1);
      assert.match(messages[0]!, /checksum mismatch/);
      await wal.close();
    });

    async function flipInMiddleSegment(): Promise<{ file: string; offset: number; firstLost: number }> {
      await writeLog(100, 600);
      const names = segmentFiles(dir);
      assert.ok(names.length >= 4);
      const name = names[1]!;
      const file = path.join(dir, 'wal', name);
      const b = fs.readFileSync(file);
      // Damage the payload of the second record of that segment.
      const firstLen = 8 + b.readUInt32LE(0);
      b[firstLen + RECORD_HEADER_BYTES + 2]! ^= 0x01;
      fs.writeFileSync(file, b);
      return { file, offset: firstLen, firstLost: Number(name.slice(0, 20)) + 1 };
    }

    test('a flipped bit in a middle segment stops recovery, naming file and offset', async () => {
      const { file, offset } = await flipInMiddleSegment();
      await assert.rejects(openLog({ segmentBytes: 600 }), (err: unknown) => {
        assert.ok(err instanceof LogCorruptionError);
        assert.equal(err.file, file);
        assert.equal(err.offset, offset);
        assert.ok(err.message.includes(path.basename(file)));
        assert.ok(err.message.includes(`byte offset ${offset}`));
        return true;
      });
    });

    test('with repair, a damaged middle segment is truncated there and later ones deleted', async () => {
      const { file, offset, firstLost } = await flipInMiddleSegment();
      const { wal, messages } = await reopen({ segmentBytes: 600, repair: true });
      assert.equal(wal.lastIndex, firstLost - 1);
      assert.equal(messages.length, 1);
      assert.match(messages[0]!, /REPAIR/);
      assert.equal(fs.statSync(file).size, offset);
      assert.equal(segmentFiles(dir).at(-1), path.basename(file));
      wal.append(makeEntries(firstLost, 3, 2));
      await wal.close();
      const { wal: again, messages: m2 } = await reopen({ segmentBytes: 600 });
      assert.deepEqual(m2, []);
      assert.equal(again.lastIndex, firstLost + 2);
      await again.close();
    });

    test('a missing middle segment is corruption', async () => {
      await writeLog(100, 600);
      const names = segmentFiles(dir);
      fs.unlinkSync(path.join(dir, 'wal', names[2]!));
      await assert.rejects(openLog({ segmentBytes: 600 }), LogCorruptionError);
    });

    test('a segment whose name disagrees with its first record is corruption', async () => {
      await writeLog(100, 600);
      const names = segmentFiles(dir);
      const first = Number(names[1]!.slice(0, 20));
      fs.renameSync(path.join(dir, 'wal', names[1]!), path.join(dir, 'wal', `${String(first - 1).padStart(20, '0')}.seg`));
      await assert.rejects(openLog({ segmentBytes: 600 }), /segment starts at index|expected/);
    });

    test('a damaged compaction point is corruption', async () => {
      const wal = await Wal.open(dir);
      wal.append(makeEntries(1, 10, 1));
      await wal.compactPrefix(5, 1);
      await wal.close();
      const f = path.join(dir, 'wal', 'COMPACT');
      const b = fs.readFileSync(f);
      b[6]! ^= 1;
      fs.writeFileSync(f, b);
      await assert.rejects(openLog(), LogCorruptionError);
    });
  });
}

describe('wal: prescan worker', () => {
  test('reads every segment and finds each one\'s intact records, chaining index and term', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 600 });
    const entries = [...makeEntries(1, 12, 1, (i) => 20 + i), ...makeEntries(13, 12, 3, (i) => 20 + i)];
    wal.append(entries);
    await wal.close();
    const names = segmentFiles(dir);
    assert.ok(names.length >= 3, `${names.length} segments`);
    const scan = await prescanWal(dir, 0);
    assert.ok(scan !== null);
    assert.equal(scan.size, names.length);
    let index = 1;
    let prevTerm = 0;
    for (const name of names) {
      const seg: SegmentPrescan = scan.get(Number(name.slice(0, 20)))!;
      assert.equal(seg.firstIndex, index);
      assert.equal(seg.prevTerm, prevTerm);
      assert.ok(seg.buf.equals(fs.readFileSync(path.join(dir, 'wal', name))));
      assert.equal(seg.sizes.reduce((n, x) => n + x, 0), seg.buf.length, 'the run covers the whole segment');
      for (let k = 0; k < seg.count; k++) assert.equal(seg.terms[k], entries[index - 1 + k]!.term);
      index += seg.count;
      prevTerm = seg.terms[seg.count - 1]!;
    }
    assert.equal(index, 25);
    // Recovery takes the runs as found (no file read, no CRC) and ends with the same log.
    const back = await Wal.open(dir, { segmentBytes: 600, prescan: scan });
    assertSameEntries(back.entries(1, 25), entries);
    await back.close();
  });

  test('stops at a damaged record; later segments are left to recovery', async () => {
    const wal = await Wal.open(dir, { segmentBytes: 600 });
    wal.append(makeEntries(1, 30, 1, (i) => 20 + i));
    await wal.close();
    const names = segmentFiles(dir);
    const second = path.join(dir, 'wal', names[1]!);
    const bytes = fs.readFileSync(second);
    bytes[RECORD_HEADER_BYTES + 60]! ^= 0x10;
    fs.writeFileSync(second, bytes);
    const scan = await prescanWal(dir, 0);
    assert.ok(scan !== null);
    assert.equal(scan.size, 2, 'the first two segments only');
    const seg: SegmentPrescan = scan.get(Number(names[1]!.slice(0, 20)))!;
    assert.ok(seg.count < 3, `${seg.count} records counted intact`);
    assert.ok(seg.sizes.reduce((n, x) => n + x, 0) < seg.buf.length);
  });

  test('a small log is not worth a worker', async () => {
    const wal = await Wal.open(dir);
    wal.append(makeEntries(1, 10, 1));
    await wal.close();
    assert.equal(await prescanWal(dir), null);
    assert.equal(await prescanWal(path.join(dir, 'missing'), 0), null);
  });
});

describe('wal: flush', () => {
  test('group commit: 1000 appends then one sync flush cost one writev and one fdatasync', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim });
    for (let i = 1; i <= 1000; i++) wal.append([{ index: i, term: 1, data: Buffer.from(`set key${i} v`) }]);
    assert.ok(wal.pendingBytes > 0);
    await wal.flush({ sync: true });
    assert.equal(shim.counts.fdatasync, 1);
    assert.equal(shim.counts.writev, 1);
    assert.equal(wal.pendingBytes, 0);
    await wal.close();
  });

  test('flushes requested while one runs are coalesced into one more', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim });
    wal.append(makeEntries(1, 10, 1));
    const first = wal.flush({ sync: true });
    const later: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      wal.append(makeEntries(11 + i, 1, 1));
      later.push(wal.flush({ sync: i % 2 === 0 }));
    }
    await Promise.all([first, ...later]);
    assert.equal(shim.counts.writev, 2);
    assert.equal(shim.counts.fdatasync, 2);
    // Nothing new: a sync flush has nothing to do.
    await wal.flush({ sync: true });
    assert.equal(shim.counts.fdatasync, 2);
    await wal.close();
    const { wal: again } = await reopen();
    assert.equal(again.lastIndex, 30);
    await again.close();
  });

  test('ENOSPC rejects the flush, leaves no partial record, and a later flush succeeds', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim });
    const good = makeEntries(1, 10, 1);
    wal.append(good);
    await wal.flush({ sync: true });
    const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
    const goodSize = fs.statSync(file).size;

    const more = makeEntries(11, 10, 1);
    wal.append(more);
    shim.failNextWrite = 'ENOSPC';
    await assert.rejects(wal.flush({ sync: true }), { code: 'ENOSPC' });
    assert.equal(fs.statSync(file).size, goodSize, 'cut back to the last good size');
    // A crash now would recover exactly the good prefix.
    const { wal: peek, messages } = await reopen();
    assert.equal(peek.lastIndex, 10);
    assert.deepEqual(messages, []);
    await peek.close();

    const evenMore = makeEntries(21, 5, 2);
    wal.append(evenMore);
    await wal.flush({ sync: true });
    await wal.close();
    const { wal: again, messages: m2 } = await reopen();
    assert.deepEqual(m2, []);
    assertSameEntries(again.entries(1, 26), [...good, ...more, ...evenMore]);
    await again.close();
  });

  test('a failed fdatasync makes the WAL refuse further work', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim });
    wal.append(makeEntries(1, 3, 1));
    shim.failNextSync = 'EIO';
    await assert.rejects(wal.flush({ sync: true }), WalFailedError);
    assert.throws(() => wal.append(makeEntries(4, 1, 1)), WalFailedError);
    await assert.rejects(wal.flush({ sync: false }), WalFailedError);
    await wal.close();
  });

  test('rolling to a new segment first makes the previous one durable', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim, segmentBytes: 300 });
    wal.append(makeEntries(1, 40, 1));
    await wal.flush({ sync: false });
    const segments = segmentFiles(dir).length;
    assert.ok(segments > 2);
    assert.equal(shim.counts.fdatasync, segments - 1);
    await wal.close();
  });
});

describe('wal: writeNow (synchronous write on the caller thread)', () => {
  /** Flushes one entry so a segment is open, as writeNow needs. */
  async function walWithOpenSegment(shim = countingFs(), opts: { segmentBytes?: number } = {}): Promise<{ wal: Wal; shim: ReturnType<typeof countingFs> }> {
    const wal = await Wal.open(dir, { fs: shim, ...opts });
    wal.append(makeEntries(1, 1, 1));
    await wal.flush({ sync: true });
    return { wal, shim };
  }

  test('a group of appends reaches the file at once, in one write and without fdatasync', async () => {
    const { wal, shim } = await walWithOpenSegment();
    const syncsBefore = shim.counts.fdatasync;
    const group = makeEntries(2, 100, 1);
    for (const e of group) wal.append([e]);
    assert.equal(wal.writeNow(), true);
    assert.equal(shim.counts.writevSync, 1);
    assert.equal(shim.counts.fdatasync, syncsBefore);
    assert.equal(wal.pendingBytes, 0);
    // What a process crash at this moment leaves: the file as the OS has it.
    const { wal: peek, messages } = await reopen();
    assert.deepEqual(messages, []);
    assert.equal(peek.lastIndex, 101);
    assertSameEntries(peek.entries(2, 102), group);
    await peek.close();
    await wal.close();
  });

  test('with nothing queued it writes nothing and reports done', async () => {
    const { wal, shim } = await walWithOpenSegment();
    assert.equal(wal.writeNow(), true);
    assert.equal(shim.counts.writevSync, 0);
    await wal.close();
  });

  test('declines, writing nothing, what only the asynchronous flush may do', async () => {
    const shim = countingFs();
    const wal = await Wal.open(dir, { fs: shim, segmentBytes: 400 });
    // No segment open yet: creating one needs a directory fsync.
    wal.append(makeEntries(1, 1, 1));
    assert.equal(wal.writeNow(), false);
    await wal.flush({ sync: false });
    // A segment roll is due.
    wal.append(makeEntries(2, 20, 1));
    assert.equal(wal.writeNow(), false);
    await wal.flush({ sync: false });
    // A compaction is being executed by the flush worker.
    const compacting = wal.compactPrefix(5, 1);
    wal.append(makeEntries(22, 1, 1));
    assert.equal(wal.writeNow(), false);
    await compacting;
    // A truncation is queued in front of the write.
    const cutting = wal.truncateSuffix(22);
    wal.append(makeEntries(22, 1, 2));
    assert.equal(wal.writeNow(), false);
    await cutting;
    assert.equal(shim.counts.writevSync, 0);
    // Once the worker is idle and only writes to the open segment are queued, it writes.
    wal.append(makeEntries(23, 1, 2));
    assert.equal(wal.writeNow(), true);
    assert.equal(shim.counts.writevSync, 1);
    await wal.close();
    const { wal: again, messages } = await reopen({ segmentBytes: 400 });
    assert.deepEqual(messages, []);
    assert.equal(again.lastIndex, 23);
    assert.equal(again.term(22), 2);
    await again.close();
  });

  test('a write made while an fdatasync is in flight is synced by the next sync flush', async () => {
    const { wal, shim } = await walWithOpenSegment();
    let release!: () => void;
    shim.syncGate = new Promise<void>((r) => (release = r));
    wal.append(makeEntries(2, 1, 1));
    assert.equal(wal.writeNow(), true);
    const syncs = shim.counts.fdatasync;
    const first = wal.flush({ sync: true });
    for (let turns = 0; shim.counts.fdatasync === syncs; turns++) {
      assert.ok(turns < 1000, 'the flush never reached its fdatasync');
      await new Promise((r) => setImmediate(r));
    }
    // The fdatasync for entry 2 is in flight; entry 3 is written meanwhile.
    wal.append(makeEntries(3, 1, 1));
    assert.equal(wal.writeNow(), true, 'an fdatasync in flight does not hold back a write');
    const second = wal.flush({ sync: true });
    shim.syncGate = null;
    release();
    await first;
    await second;
    assert.equal(shim.counts.fdatasync, syncs + 2, 'entry 3 needed an fdatasync of its own');
    // Now everything is synced: another sync flush has nothing to do.
    await wal.flush({ sync: true });
    assert.equal(shim.counts.fdatasync, syncs + 2);
    await wal.close();
  });

  test('ENOSPC is thrown after the file is cut back; the entries stay queued and go out later', async () => {
    const { wal, shim } = await walWithOpenSegment();
    const good = makeEntries(2, 9, 1);
    wal.append(good);
    assert.equal(wal.writeNow(), true);
    const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
    const goodSize = recordsEnd(fs.readFileSync(file));
    assert.ok(fs.statSync(file).size > goodSize, 'zeroed space ahead of the records');

    const more = makeEntries(11, 10, 1);
    wal.append(more);
    shim.failNextWrite = 'ENOSPC';
    assert.throws(() => wal.writeNow(), { code: 'ENOSPC' });
    assert.equal(fs.statSync(file).size, goodSize, 'cut back to the last good size');
    assert.ok(wal.pendingBytes > 0, 'the failed entries are still queued');
    const { wal: peek, messages } = await reopen();
    assert.equal(peek.lastIndex, 10);
    assert.deepEqual(messages, []);
    await peek.close();

    const evenMore = makeEntries(21, 5, 2);
    wal.append(evenMore);
    assert.equal(wal.writeNow(), true);
    await wal.close();
    const { wal: again, messages: m2 } = await reopen();
    assert.deepEqual(m2, []);
    assertSameEntries(again.entries(2, 26), [...good, ...more, ...evenMore]);
    await again.close();
  });

  test('keeps zeroed space ahead of the records, within the segment size; reopening reads it as the end', async () => {
    const { wal } = await walWithOpenSegment(countingFs(), { segmentBytes: 256 * 1024 });
    const group = makeEntries(2, 50, 1);
    wal.append(group);
    assert.equal(wal.writeNow(), true);
    const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
    const end = recordsEnd(fs.readFileSync(file));
    assert.equal(fs.statSync(file).size, 256 * 1024, 'preallocated up to the segment size');
    await wal.close();
    const { wal: again, messages } = await reopen({ segmentBytes: 256 * 1024 });
    assert.deepEqual(messages, []);
    assert.equal(again.lastIndex, 51);
    assertSameEntries(again.entries(2, 52), group);
    again.append(makeEntries(52, 1, 1));
    await again.close();
    assert.ok(recordsEnd(fs.readFileSync(file)) > end, 'the next record went right after the last one');
  });

  test('a segment is cut to its records before the next one is created', async () => {
    const shim = countingFs();
    const segmentBytes = 4096;
    const wal = await Wal.open(dir, { fs: shim, segmentBytes });
    const all = makeEntries(1, 400, 1);
    for (const e of all) {
      wal.append([e]);
      if (!wal.writeNow()) await wal.flush({ sync: false });
    }
    assert.ok(shim.counts.zeroFill > 0);
    const names = segmentFiles(dir);
    assert.ok(names.length > 3);
    for (const name of names.slice(0, -1)) {
      const b = fs.readFileSync(path.join(dir, 'wal', name));
      assert.equal(b.length, recordsEnd(b), `${name} ends with its last record`);
    }
    await wal.close();
    const { wal: again, messages } = await reopen({ segmentBytes });
    assert.deepEqual(messages, []);
    assertSameEntries(again.entries(1, 401), all);
    await again.close();
  });

  test('a preallocation that fails (full disk) is skipped: the records are written all the same', async () => {
    const shim = countingFs();
    shim.failZeroFill = 'ENOSPC';
    const { wal } = await walWithOpenSegment(shim);
    const group = makeEntries(2, 20, 1);
    wal.append(group);
    assert.equal(wal.writeNow(), true);
    assert.equal(shim.counts.zeroFill, 1);
    wal.append(makeEntries(22, 1, 1));
    assert.equal(wal.writeNow(), true);
    assert.equal(shim.counts.zeroFill, 1, 'not retried at every write');
    const file = path.join(dir, 'wal', segmentFiles(dir)[0]!);
    assert.equal(fs.statSync(file).size, recordsEnd(fs.readFileSync(file)));
    await wal.close();
    const { wal: again, messages } = await reopen();
    assert.deepEqual(messages, []);
    assert.equal(again.lastIndex, 22);
    await again.close();
  });

  test('a write error whose cut-back also fails makes the WAL refuse further work', async () => {
    const { wal, shim } = await walWithOpenSegment();
    wal.append(makeEntries(2, 3, 1));
    shim.failNextWrite = 'EIO';
    shim.failNextTruncate = 'EIO';
    assert.throws(() => wal.writeNow(), WalFailedError);
    assert.throws(() => wal.append(makeEntries(5, 1, 1)), WalFailedError);
    assert.throws(() => wal.writeNow(), WalFailedError);
    await assert.rejects(wal.flush({ sync: true }), WalFailedError);
    await wal.close();
  });
});
