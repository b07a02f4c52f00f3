// Recovery from disk, in-process: restart round trips, torn tails at every byte of the
// last record, damage in the middle of the log and in the newest snapshot, the data
// directory lock, keys that expired while the node was down, snapshots taken while
// writes go on, and a disk that fills up.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { Server } from '../../src/server/server.js';
import { Config, type SettingValue } from '../../src/server/config.js';
import { nodeWalFileSystem, type WalFileSystem } from '../../src/storage/wal.js';
import type { Keyspace } from '../../src/keyspace/database.js';
import { TestClock } from '../helpers/harness.js';
import { recordsEnd } from '../storage/helpers.js';

const silent = pino({ level: 'silent' });

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'km-recovery-'));
}

interface Node {
  server: Server;
  redis: Redis;
  close(): Promise<void>;
}

async function startNode(dir: string, settings: Record<string, SettingValue> = {}, opts: { clock?: TestClock; walFs?: WalFileSystem } = {}): Promise<Node> {
  const server = new Server({
    config: new Config({ port: 0, dir, appendfsync: 'always', ...settings }),
    log: silent,
    ...(opts.clock ? { clock: opts.clock.fn } : {}),
    ...(opts.walFs ? { walFs: opts.walFs } : {}),
    onShutdown: () => {},
  });
  const port = await server.start();
  const redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
  await redis.connect();
  return {
    server,
    redis,
    async close() {
      redis.disconnect();
      await server.close();
    },
  };
}

/** Every database's keys with values and TTLs, sorted, for comparing whole keyspaces. */
function dump(ks: Keyspace): string[] {
  const out: string[] = [];
  for (const db of ks.dbs) {
    for (const [k, v] of db.data) out.push(`${db.id}|${k}|${db.resolve(v)}|${db.expires.get(k) ?? ''}`);
  }
  return out.sort();
}

function segments(dir: string): string[] {
  return fs
    .readdirSync(path.join(dir, 'wal'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => path.join(dir, 'wal', n));
}

test('a restarted node has every write: values, TTLs, deletions, other databases', async () => {
  const dir = tempDir();
  const clock = new TestClock();
  let n = await startNode(dir, {}, { clock });
  const r = n.redis;
  await r.set('a', '1');
  await r.set('b', 'x'.repeat(1000), 'PX', 500_000);
  await r.incrby('counter', 41);
  await r.incr('counter');
  await r.set('gone', 'soon');
  await r.del('gone');
  await r.select(3);
  await r.set('in3', Buffer.from([0, 1, 2, 255, 13, 10]));
  await r.append('in3', 'tail');
  await r.swapdb(3, 4);
  const before = dump(n.server.keyspace);
  await n.close();

  n = await startNode(dir, {}, { clock });
  assert.deepEqual(dump(n.server.keyspace), before);
  assert.equal(await n.redis.get('counter'), '42');
  assert.equal(await n.redis.pttl('b'), 500_000);
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('keys whose TTL passed while the node was down are gone after start-up', async () => {
  const dir = tempDir();
  const clock = new TestClock();
  let n = await startNode(dir, {}, { clock });
  await n.redis.set('short', 'v', 'PX', 1000);
  await n.redis.set('long', 'v', 'PX', 60_000);
  await n.redis.set('forever', 'v');
  await n.close();
  clock.advance(5000);
  n = await startNode(dir, {}, { clock });
  // The sweep proposes the deletions through the log; they apply after one flush.
  for (let i = 0; i < 100 && n.server.keyspace.db(0).size !== 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual([...n.server.keyspace.db(0).data.keys()].sort(), ['forever', 'long']);
  assert.equal(await n.redis.dbsize(), 2);
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a torn last record, cut at every byte offset (or zeroed from there on), loses only that record', async () => {
  const dir = tempDir();
  let n = await startNode(dir);
  for (let i = 0; i < 9; i++) await n.redis.set(`k${i}`, `v${i}`);
  await n.close();
  const [seg] = segments(dir);
  const whole = fs.readFileSync(seg!);
  // The file may go on with preallocated zeros: the log is the records.
  const before = recordsEnd(whole);
  n = await startNode(dir);
  await n.redis.set('last', 'record');
  await n.close();
  const full = fs.readFileSync(seg!);
  const after = recordsEnd(full);
  assert(after > before && full.subarray(0, before).equals(whole.subarray(0, before)));
  for (let cut = before; cut < after; cut++) {
    // A crash leaves either a shorter file or, in preallocated space, zeros after the cut.
    const torn = cut % 2 === 0 ? full.subarray(0, cut) : Buffer.concat([full.subarray(0, cut), Buffer.alloc(full.length - cut)]);
    fs.writeFileSync(seg!, torn);
    n = await startNode(dir);
    assert.equal(n.server.keyspace.db(0).size, 9, `cut at ${cut}`);
    assert.equal(await n.redis.get('k8'), 'v8');
    assert.equal(await n.redis.get('last'), null);
    await n.close();
  }
  // And the node keeps writing after the cut point.
  n = await startNode(dir);
  await n.redis.set('after', 'repair');
  await n.close();
  n = await startNode(dir);
  assert.equal(await n.redis.get('after'), 'repair');
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('damage in the middle of the log stops start-up, naming file and offset; --repair-log cuts there', async () => {
  const dir = tempDir();
  let n = await startNode(dir);
  for (let i = 0; i < 20; i++) await n.redis.set(`k${i}`, `value-${i}`);
  await n.close();
  const [seg] = segments(dir);
  const buf = fs.readFileSync(seg!);
  // Flip one bit inside the 5th record's payload: records after it are intact.
  const at = buf.indexOf(Buffer.from('value-4'));
  assert(at > 0);
  buf[at] ^= 0x01;
  fs.writeFileSync(seg!, buf);
  await assert.rejects(startNode(dir), (e: Error) => {
    assert.match(e.message, /corrupt/i);
    assert(e.message.includes(path.basename(seg!)), e.message);
    assert.match(e.message, /offset \d+/);
    return true;
  });
  n = await startNode(dir, { 'repair-log': 'yes' });
  assert.equal(n.server.keyspace.db(0).size, 4);
  assert.equal(await n.redis.get('k3'), 'value-3');
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a corrupt newest snapshot falls back to the previous one and the log', async () => {
  const dir = tempDir();
  let n = await startNode(dir);
  for (let i = 0; i < 100; i++) await n.redis.set(`a${i}`, `${i}`);
  assert.equal(await n.redis.save(), 'OK');
  for (let i = 0; i < 100; i++) await n.redis.set(`b${i}`, `${i}`);
  await n.redis.del('a0');
  assert.equal(await n.redis.save(), 'OK');
  await n.redis.set('c', 'after both snapshots');
  const before = dump(n.server.keyspace);
  await n.close();

  const snaps = fs.readdirSync(path.join(dir, 'snap')).filter((s) => s.endsWith('.snap')).sort();
  assert.equal(snaps.length, 2);
  const newest = path.join(dir, 'snap', snaps[1]!);
  const buf = fs.readFileSync(newest);
  buf[buf.length >> 1] ^= 0x40;
  fs.writeFileSync(newest, buf);
  n = await startNode(dir);
  assert.deepEqual(dump(n.server.keyspace), before);
  await n.close();

  // With the older snapshot damaged too, nothing covers the compacted log: a clear refusal.
  const older = path.join(dir, 'snap', snaps[0]!);
  const b2 = fs.readFileSync(older);
  b2[b2.length >> 1] ^= 0x40;
  fs.writeFileSync(older, b2);
  await assert.rejects(startNode(dir), /cannot recover: the newest valid snapshot/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a second node on the same data directory refuses to start', async () => {
  const dir = tempDir();
  const n = await startNode(dir);
  await assert.rejects(startNode(dir), /in use/);
  await n.close();
  const again = await startNode(dir);
  await again.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a snapshot taken while writes go on loses and duplicates nothing', async () => {
  const dir = tempDir();
  let n = await startNode(dir, { appendfsync: 'no' });
  const r = n.redis;
  const pipe = r.pipeline();
  for (let i = 0; i < 30_000; i++) pipe.set(`key:${i}`, `v${i}`);
  await pipe.exec();
  const saving = r.bgsave();
  // Overwrite, delete, create and expire while the snapshot walks the keyspace.
  const writes = r.pipeline();
  for (let i = 0; i < 30_000; i += 3) writes.set(`key:${i}`, `new${i}`);
  for (let i = 1; i < 30_000; i += 7) writes.del(`key:${i}`);
  for (let i = 0; i < 5_000; i++) writes.set(`fresh:${i}`, `f${i}`);
  writes.flushdb();
  writes.select(1);
  for (let i = 0; i < 100; i++) writes.set(`db1:${i}`, 'x', 'PX', 1_000_000);
  await Promise.all([saving, writes.exec()]);
  while (n.server.persistence!.snapshotInProgress) await new Promise((res) => setTimeout(res, 10));
  await r.set('after', 'snapshot');
  const before = dump(n.server.keyspace);
  await n.close();
  n = await startNode(dir);
  assert.deepEqual(dump(n.server.keyspace), before);
  // The snapshot's values were loaded by reference; a background pass makes them strings.
  while ((await n.redis.info('persistence')).includes('lazy_load_in_progress:1')) await new Promise((res) => setTimeout(res, 5));
  assert.equal(n.server.keyspace.lazy, null);
  for (const db of n.server.keyspace.dbs) for (const v of db.data.values()) assert.equal(typeof v, 'string');
  assert.deepEqual(dump(n.server.keyspace), before);
  await n.close();
  // Replay is idempotent: a second restart gives the same state.
  n = await startNode(dir);
  assert.deepEqual(dump(n.server.keyspace), before);
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

for (const appendfsync of ['always', 'everysec'] as const) test(`disk full (fsync ${appendfsync}): writes get MISCONF, reads go on, writing resumes, nothing acknowledged is lost`, async () => {
  const dir = tempDir();
  const clock = new TestClock();
  let full = false;
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  let refusedWrites = 0;
  const failingFs: WalFileSystem = {
    ...nodeWalFileSystem,
    writev: (fd, bufs, pos) => {
      if (full) {
        refusedWrites++;
        return Promise.reject(enospc());
      }
      return nodeWalFileSystem.writev(fd, bufs, pos);
    },
    writevSync: (fd, bufs, pos) => {
      if (full) {
        refusedWrites++;
        throw enospc();
      }
      return nodeWalFileSystem.writevSync(fd, bufs, pos);
    },
  };
  let n = await startNode(dir, { appendfsync }, { clock, walFs: failingFs });
  const r = n.redis;
  await r.set('kept', 'before');
  full = true;
  await assert.rejects(r.set('kept', 'during'), /MISCONF/);
  assert.equal(await r.get('kept'), 'before');
  await assert.rejects(r.set('other', 'x'), /MISCONF/);
  assert.ok(refusedWrites > 0, 'the write reached the disk layer and was refused there');
  full = false;
  clock.advance(2000);
  assert.equal(await r.set('kept', 'after'), 'OK');
  assert.equal(await r.get('kept'), 'after');
  assert.equal(await r.get('other'), null);
  await n.close();
  n = await startNode(dir);
  assert.equal(await n.redis.get('kept'), 'after');
  assert.equal(await n.redis.get('other'), null);
  await n.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
