// When a single node answers a write, per fsync policy, observed from real clients on an
// in-process server whose log file operations are counted and can be held back:
//   always   — not before the fdatasync covering the write has completed; one fdatasync
//              serves every write that arrived meanwhile; reads are answered while it runs;
//   everysec — once the write(2) is done, without waiting for any fdatasync.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import { Server } from '../../src/server/server.js';
import { Config } from '../../src/server/config.js';
import { countingFs, type CountingFs } from '../storage/helpers.js';

const silent = pino({ level: 'silent' });
/** How long a held fdatasync is kept in flight while the test looks for early replies. */
const holdMs = 150;

interface Node {
  server: Server;
  client(): Promise<Redis>;
  close(): Promise<void>;
}

async function startNode(dir: string, fsync: 'always' | 'everysec', walFs: CountingFs): Promise<Node> {
  const server = new Server({ config: new Config({ port: 0, dir, appendfsync: fsync }), log: silent, walFs, onShutdown: () => {} });
  const port = await server.start();
  const clients: Redis[] = [];
  return {
    server,
    async client() {
      const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, lazyConnect: true });
      await r.connect();
      clients.push(r);
      return r;
    },
    async close() {
      for (const r of clients) r.disconnect();
      await server.close();
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Holds every fdatasync until the returned function is called. */
function holdSyncs(shim: CountingFs): () => void {
  let release!: () => void;
  shim.syncGate = new Promise<void>((r) => (release = r));
  return () => {
    shim.syncGate = null;
    release();
  };
}

/** Runs `body` against a fresh node on a fresh directory whose log file operations go through a CountingFs. */
async function withNode(fsync: 'always' | 'everysec', body: (node: Node, shim: CountingFs, dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'km-write-path-'));
  const shim = countingFs();
  const node = await startNode(dir, fsync, shim);
  try {
    await body(node, shim, dir);
  } finally {
    await node.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function untilSyncsReach(shim: CountingFs, n: number): Promise<void> {
  for (let waitedMs = 0; shim.counts.fdatasync < n; waitedMs += 5) {
    assert.ok(waitedMs < 5000, `no fdatasync started (${shim.counts.fdatasync} of ${n})`);
    await sleep(5);
  }
}

test('fsync always: no reply before the fdatasync; one fdatasync for the writes that waited; reads go on', () =>
  withNode('always', async (node, shim) => {
    const writer = await node.client();
    const reader = await node.client();
    assert.equal(await writer.set('warm', '1'), 'OK');

    const syncsBefore = shim.counts.fdatasync;
    const release = holdSyncs(shim);
    let answered = false;
    const first = writer.set('k', 'v').then((r) => {
      answered = true;
      return r;
    });
    await untilSyncsReach(shim, syncsBefore + 1);
    // Twenty more writers arrive while that fdatasync is in flight.
    const others = await Promise.all(Array.from({ length: 20 }, () => node.client()));
    const later = others.map((c, i) => c.set(`other:${i}`, String(i)));
    await sleep(holdMs);
    assert.equal(answered, false, 'a write was answered before its fdatasync completed');
    assert.equal(await reader.get('warm'), '1', 'a read waits for nobody');
    assert.equal(await reader.get('k'), null, 'a write is applied only once it is durable');

    release();
    assert.equal(await first, 'OK');
    assert.deepEqual(await Promise.all(later), later.map(() => 'OK'));
    const syncs = shim.counts.fdatasync - syncsBefore;
    assert.ok(syncs <= 3, `21 writes in two bursts took ${syncs} fdatasyncs`);
    assert.equal(await reader.get('other:19'), '19');
  }));

test('fsync always: a failed fdatasync refuses its group and the writes that arrived meanwhile; none applies', () =>
  withNode('always', async (node, shim) => {
    const a = await node.client();
    const b = await node.client();
    assert.equal(await a.set('k', 'kept'), 'OK');
    const syncsBefore = shim.counts.fdatasync;
    const release = holdSyncs(shim);
    const first = a.set('k', 'lost-1').catch((e: Error) => e.message);
    await untilSyncsReach(shim, syncsBefore + 1);
    const second = b.set('k', 'lost-2').catch((e: Error) => e.message);
    await sleep(holdMs);
    shim.failNextSync = 'EIO';
    release();
    const [r1, r2] = await Promise.all([first, second]);
    assert.match(String(r1), /^MISCONF/);
    assert.match(String(r2), /^MISCONF/);
    assert.equal(await a.get('k'), 'kept', 'neither refused write applied');
  }));

test('fsync everysec: the reply follows the write(2) and waits for no fdatasync', () =>
  withNode('everysec', async (node, shim, dir) => {
    let release = (): void => {};
    try {
      const c = await node.client();
      assert.equal(await c.set('warm', '1'), 'OK');
      release = holdSyncs(shim);
      const writesBefore = shim.counts.writevSync + shim.counts.writev;
      // With every fdatasync held, these can only be answered if none is waited for.
      const value = 'durable-in-the-page-cache';
      const reply = await Promise.race([c.set('k', value), sleep(2000).then(() => 'no reply within 2 s')]);
      assert.equal(reply, 'OK');
      assert.equal(shim.counts.writevSync + shim.counts.writev, writesBefore + 1, 'one write(2) per group');
      const log = fs
        .readdirSync(path.join(dir, 'wal'))
        .filter((n) => n.endsWith('.seg'))
        .map((n) => fs.readFileSync(path.join(dir, 'wal', n)).toString('latin1'))
        .join('');
      assert.ok(log.includes(value), 'the acknowledged write is in the file (a kill -9 now keeps it)');
    } finally {
      release();
    }
  }));
