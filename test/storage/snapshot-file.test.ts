import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  SnapshotCorruptionError,
  SnapshotWriter,
  listSnapshots,
  loadNewestValid,
  readSnapshot,
  removeSnapshotTemps,
  retain,
} from '../../src/storage/snapshot-file.js';
import type { SnapshotMeta } from '../../src/storage/snapshot-file.js';
import { payload, removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  removeDir(dir);
});

function record(i: number): Buffer {
  // Sizes from 0 to ~300 bytes, binary content.
  return payload(i, (i * 7919) % 301);
}

/** Writes `count` records the way a server would: in slices, yielding to the event loop between them. */
async function writeSnapshot(meta: SnapshotMeta, count: number, rec = record, blockBytes?: number) {
  const w = await SnapshotWriter.create(dir, meta, blockBytes === undefined ? {} : { blockBytes });
  const hash = createHash('sha256');
  for (let i = 0; i < count; i++) {
    const r = rec(i);
    hash.update(r);
    if (!w.writeRecord(r)) await w.drain();
    if (i % 10_000 === 9_999) await new Promise<void>((res) => setImmediate(res));
  }
  const info = await w.finish();
  return { info, digest: hash.digest('hex') };
}

async function digestOf(file: string): Promise<{ digest: string; records: number; meta: SnapshotMeta }> {
  const hash = createHash('sha256');
  const res = await readSnapshot(file, (buf, start, end) => hash.update(buf.subarray(start, end)));
  return { digest: hash.digest('hex'), records: res.records, meta: res.meta };
}

describe('snapshot files', () => {
  test('100k records written in slices read back identical, with their metadata', async () => {
    const meta: SnapshotMeta = { index: 12345, term: 7, membership: ['n1', 'n2', 'n3'], keys: 100000 };
    const { info, digest } = await writeSnapshot(meta, 100_000);
    assert.equal(info.records, 100_000);
    assert.equal(path.basename(info.path), '00000000000000012345-00000000000000000007.snap');
    assert.equal(fs.statSync(info.path).size, info.bytes);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'snap')), [info.name], 'no temp file left');
    const back = await digestOf(info.path);
    assert.equal(back.records, 100_000);
    assert.equal(back.digest, digest);
    assert.deepEqual(back.meta, meta);

    // Record by record, too: order and boundaries (including empty records) are kept.
    let i = 0;
    await readSnapshot(info.path, (buf, start, end) => {
      assert.ok(buf.subarray(start, end).equals(record(i)), `record ${i}`);
      i++;
    });
    assert.equal(i, 100_000);
  });

  test('an empty snapshot and a record larger than a block', async () => {
    const empty = await writeSnapshot({ index: 1, term: 1 }, 0);
    assert.equal((await readSnapshot(empty.info.path)).records, 0);
    const big = (i: number) => payload(i, i === 3 ? 10_000 : 100);
    const { info, digest } = await writeSnapshot({ index: 2, term: 1 }, 8, big, 1024);
    assert.equal((await digestOf(info.path)).digest, digest);
  });

  test('a file of many read chunks, with records larger than a chunk, reads back identical; cut anywhere, it is corrupt', async () => {
    // The reader works in 4 MiB chunks; records here cross chunk edges, and some are
    // larger than a block, or than a whole chunk.
    const MiB = 1024 * 1024;
    const size = (i: number): number => (i === 40 ? 6 * MiB : i === 90 ? 3 * MiB : i === 91 ? 9 * MiB : 70_000 + ((i * 7919) % 100_000));
    const rec = (i: number): Buffer => payload(i, size(i));
    const { info, digest } = await writeSnapshot({ index: 3, term: 1 }, 200, rec);
    assert.ok(info.bytes > 30 * MiB, `only ${info.bytes} bytes`);
    assert.equal((await digestOf(info.path)).digest, digest);
    let i = 0;
    // Views kept past the callback (values are loaded by reference this way) must still
    // hold their record after the rest of the file was read: no buffer is ever reused.
    const kept: Buffer[] = [];
    await readSnapshot(info.path, (buf, start, end) => {
      assert.equal(end - start, size(i), `record ${i}`);
      kept.push(buf.subarray(start, end));
      i++;
    });
    assert.equal(i, 200);
    const again = createHash('sha256');
    for (const k of kept) again.update(k);
    assert.equal(again.digest('hex'), digest, 'records read earlier are intact at the end');
    const whole = fs.readFileSync(info.path);
    for (const cut of [4 * MiB - 1, 4 * MiB + 7, 12 * MiB + 3, whole.length - 100]) {
      fs.writeFileSync(info.path, whole.subarray(0, cut));
      await assert.rejects(readSnapshot(info.path), SnapshotCorruptionError, `cut at ${cut}`);
    }
  });

  test('a truncated file is corrupt wherever it is cut', async () => {
    const { info } = await writeSnapshot({ index: 10, term: 2 }, 2000, record, 4096);
    const whole = fs.readFileSync(info.path);
    const cuts = [0, 5, 16, 40, 4000, 4200, Math.floor(whole.length / 2), whole.length - 24, whole.length - 1];
    for (const cut of cuts) {
      fs.writeFileSync(info.path, whole.subarray(0, cut));
      await assert.rejects(readSnapshot(info.path), (err: unknown) => {
        assert.ok(err instanceof SnapshotCorruptionError, `cut at ${cut}`);
        assert.ok(err.message.includes(info.name));
        return true;
      });
    }
    fs.writeFileSync(info.path, Buffer.concat([whole, Buffer.from([0])]));
    await assert.rejects(readSnapshot(info.path), /data after trailer/);
  });

  test('a flipped bit anywhere is detected before a damaged block is delivered', async () => {
    const { info } = await writeSnapshot({ index: 10, term: 2 }, 500, record, 4096);
    const whole = fs.readFileSync(info.path);
    for (let off = 0; off < whole.length; off += 97) {
      const bad = Buffer.from(whole);
      bad[off]! ^= 0x04;
      fs.writeFileSync(info.path, bad);
      let delivered = 0;
      await assert.rejects(
        readSnapshot(info.path, () => delivered++),
        SnapshotCorruptionError,
        `flip at ${off}`,
      );
      assert.ok(delivered < 500);
    }
  });

  test('loadNewestValid falls back to the previous snapshot when the newest is corrupt', async () => {
    const older = await writeSnapshot({ index: 100, term: 1 }, 1000);
    const newer = await writeSnapshot({ index: 200, term: 2 }, 1500);
    const warnings: string[] = [];

    let got = await loadNewestValid(dir, (m) => warnings.push(m));
    assert.equal(got?.path, newer.info.path);
    assert.deepEqual(got?.skipped, []);

    const b = fs.readFileSync(newer.info.path);
    b[Math.floor(b.length / 2)]! ^= 0xff;
    fs.writeFileSync(newer.info.path, b);
    const hash = createHash('sha256');
    let delivered = 0;
    got = await loadNewestValid(dir, (m) => warnings.push(m), (buf, start, end) => {
      hash.update(buf.subarray(start, end));
      delivered++;
    });
    assert.ok(got !== null);
    assert.equal(got.path, older.info.path);
    assert.equal(got.index, 100);
    assert.equal(got.meta.index, 100);
    assert.equal(got.records, 1000);
    assert.deepEqual(got.skipped, [newer.info.path]);
    assert.equal(delivered, 1000, 'nothing from the corrupt snapshot reached the caller');
    assert.equal(hash.digest('hex'), older.digest);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /00000000000000000200-00000000000000000002\.snap is corrupt/);

    fs.truncateSync(older.info.path, 100);
    assert.equal(await loadNewestValid(dir, (m) => warnings.push(m)), null);
  });

  test('list is newest first; retain keeps the newest n; temps are ignored and removable', async () => {
    for (const [index, term] of [[5, 1], [50, 2], [20, 1], [50, 3]] as const) await writeSnapshot({ index, term }, 10);
    const w = await SnapshotWriter.create(dir, { index: 99, term: 3 });
    w.writeRecord(Buffer.from('unfinished'));
    assert.deepEqual((await listSnapshots(dir)).map((s) => [s.index, s.term]), [[50, 3], [50, 2], [20, 1], [5, 1]]);
    const deleted = await retain(dir);
    assert.equal(deleted.length, 2);
    assert.deepEqual((await listSnapshots(dir)).map((s) => [s.index, s.term]), [[50, 3], [50, 2]]);
    await retain(dir, 1);
    assert.deepEqual((await listSnapshots(dir)).map((s) => s.index), [50]);
    await w.abort();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'snap')).filter((n) => n.endsWith('.tmp')), []);

    const w2 = await SnapshotWriter.create(dir, { index: 100, term: 3 });
    w2.writeRecord(Buffer.from('crashed writer'));
    await w2.drain();
    assert.equal((await removeSnapshotTemps(dir)).length, 1);
    await w2.abort();
    assert.deepEqual((await listSnapshots(dir)).map((s) => s.index), [50]);
  });

  test('a snapshot renamed to another index is refused', async () => {
    const { info } = await writeSnapshot({ index: 10, term: 2 }, 5);
    const other = path.join(path.dirname(info.path), '00000000000000000011-00000000000000000002.snap');
    fs.renameSync(info.path, other);
    await assert.rejects(readSnapshot(other), /file name disagrees/);
  });

  test('no snapshot directory means no snapshots', async () => {
    assert.deepEqual(await listSnapshots(dir), []);
    assert.equal(await loadNewestValid(dir, () => assert.fail('no warning expected')), null);
  });
});
