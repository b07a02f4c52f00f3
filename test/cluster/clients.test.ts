// Ordinary clients against a real 3-process cluster: a Redis client library and a raw
// plain-text session on a follower (which forwards writes and confirms reads with the
// leader), read-your-writes at `quorum`, and no acknowledged write lost when the leader
// is SIGKILLed while several clients write.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { freePort, RawConnection, startKeymesh, type ServerProcess } from '../helpers/process.js';
import { sleep, waitFor } from './helpers.js';

const procs: ServerProcess[] = [];
const ports: number[] = [];
const clients: Redis[] = [];

function client(i: number): Redis {
  const r = new Redis({ port: ports[i]!, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  clients.push(r);
  return r;
}

const admins: (Redis | undefined)[] = [];

/** One reused connection per node for the tests' own questions; replaced once it has died. */
function admin(i: number): Redis {
  const a = admins[i];
  if (a !== undefined && a.status !== 'end') return a;
  return (admins[i] = client(i));
}

/** Index of the node that leads, as a running node reports it. */
async function leaderIndex(): Promise<number> {
  let found = -1;
  await waitFor(
    async () => {
      for (const [i, p] of procs.entries()) {
        if (!p.running) continue;
        const info = String(await admin(i).call('CLUSTER', 'INFO').catch(() => ''));
        const id = /raft_leader_id:n(\d)\r\n/.exec(info)?.[1];
        if (id !== undefined && procs[Number(id) - 1]!.running) {
          found = Number(id) - 1;
          return true;
        }
      }
      return false;
    },
    'a leader',
    8000,
  );
  return found;
}

async function followerIndex(): Promise<number> {
  return ((await leaderIndex()) + 1) % 3;
}

before(async () => {
  const peerPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    ports.push(await freePort());
    peerPorts.push(await freePort());
  }
  const peers = ports.map((p, i) => `n${i + 1}@127.0.0.1:${p}@${peerPorts[i]}`).join(',');
  const started = await Promise.all(
    ports.map((port, i) => startKeymesh({ port, args: ['--node-id', `n${i + 1}`, '--peers', peers, '--cluster-tick-ms', '20'] })),
  );
  procs.push(...started);
});

after(async () => {
  for (const r of clients) r.disconnect();
  for (const p of procs) await p.stop({ allowCrash: true });
});

test('ioredis on a follower: SET, GET, INCR, MGET and pipelines', async () => {
  const f = client(await followerIndex());
  assert.equal(await f.set('name', 'john'), 'OK');
  assert.equal(await f.get('name'), 'john');
  assert.equal(await f.get('missing'), null);
  assert.equal(await f.incr('hits'), 1);
  assert.equal(await f.incrby('hits', 41), 42);
  assert.equal(await f.mset('a', '1', 'b', '2'), 'OK');
  assert.deepEqual(await f.mget('a', 'b', 'nope', 'name'), ['1', '2', null, 'john']);
  const p = f.pipeline();
  for (let i = 0; i < 100; i++) p.set(`p${i}`, String(i));
  p.incr('hits');
  p.get('p99');
  p.mget('p0', 'p50');
  const r = (await p.exec())!;
  assert.ok(r.every(([err]) => err === null), 'no error in the pipeline');
  assert.deepEqual(
    r.slice(100).map(([, v]) => v),
    [43, '99', ['0', '50']],
  );
  // Another member sees the same state (strong reads).
  const other = client((ports.indexOf(f.options.port!) + 1) % 3);
  assert.deepEqual(await other.mget('p0', 'p99', 'hits'), ['0', '99', '43']);
  assert.match(String(await f.info('replication')), /role:slave/);
});

test('a plain-text (nc-style) session on a follower', async () => {
  const conn = await RawConnection.open(ports[await followerIndex()]!);
  const say = async (line: string): Promise<string> => {
    conn.take();
    await conn.write(`${line}\n`);
    await conn.waitForText('\n');
    return conn.take();
  };
  try {
    assert.equal(await say('SET name john'), 'OK\n');
    assert.equal(await say('GET name'), 'john\n');
    assert.equal(await say('GET nobody'), '(nil)\n');
    assert.equal(await say('INCR plain'), '1\n');
    assert.equal(await say('SET "two words" "hello world"'), 'OK\n');
    assert.equal(await say('GET "two words"'), 'hello world\n');
    assert.match(await say('INCR name'), /^ERR value is not an integer or out of range\n$/);
  } finally {
    conn.destroy();
  }
});

test('CONSISTENCY quorum on a follower through ioredis: reads its own writes, one by one and pipelined', async () => {
  const f = client(await followerIndex());
  assert.equal(await f.call('CONSISTENCY', 'quorum'), 'OK');
  for (let i = 0; i < 50; i++) {
    assert.equal(await f.set('ryw', `v${i}`), 'OK');
    assert.equal(await f.get('ryw'), `v${i}`);
  }
  const p = f.pipeline();
  for (let i = 0; i < 50; i++) {
    p.incr('ryw-n');
    p.get('ryw-n');
  }
  const values = (await p.exec())!.map(([err, v]) => (err === null ? v : err.message));
  assert.deepEqual(
    values,
    Array.from({ length: 100 }, (_, k) => (k % 2 === 0 ? k / 2 + 1 : String((k + 1) / 2))),
  );
});

interface Writer {
  acknowledged: Map<string, string>;
  refused: string[];
}

/** Writes unique keys in a loop until `stop()`; on a dead connection moves on to the next node. */
async function writeUntil(id: number, first: number, stopped: () => boolean): Promise<Writer> {
  const w: Writer = { acknowledged: new Map(), refused: [] };
  let node = first;
  let c = client(node);
  for (let seq = 0; !stopped(); seq++) {
    const key = `w${id}:${seq}`;
    const value = `${id}-${seq}-${key.length}`;
    try {
      if ((await c.set(key, value)) === 'OK') w.acknowledged.set(key, value);
    } catch (e) {
      w.refused.push((e as Error).message);
      if (c.status !== 'ready') {
        node = (node + 1) % 3;
        c = client(node);
        await sleep(20);
      }
    }
  }
  return w;
}

test('SIGKILL of the leader mid-stream: every acknowledged strong write is readable on every node afterwards', async (t) => {
  const li = await leaderIndex();
  let stop = false;
  // Two writers on each node, the leader's included.
  const writers = Array.from({ length: 6 }, (_, k) => writeUntil(k, k % 3, () => stop));
  await sleep(400);
  procs[li]!.signal('SIGKILL');
  await procs[li]!.exited();
  // Long enough for an election and writes under the new leader.
  await sleep(1500);
  stop = true;
  const results = await Promise.all(writers);
  const acknowledged = new Map<string, string>();
  for (const w of results) for (const [k, v] of w.acknowledged) acknowledged.set(k, v);
  const refused = results.flatMap((w) => w.refused);
  t.diagnostic(`${acknowledged.size} writes acknowledged, ${refused.length} refused (${[...new Set(refused.map((e) => e.slice(0, 50)))].join(' | ')})`);
  assert.ok(acknowledged.size > 100, `only ${acknowledged.size} writes acknowledged`);
  const newLeader = await leaderIndex();
  assert.notEqual(newLeader, li);

  await procs[li]!.restart();
  const keys = [...acknowledged.keys()];
  const expected = [...acknowledged.values()];
  for (let i = 0; i < 3; i++) {
    const c = client(i);
    // Strong reads: the restarted node confirms the read index with the leader and waits to apply it.
    await waitFor(async () => (await c.call('PING').catch(() => null)) === 'PONG', `node ${i + 1} answers`, 8000);
    const got = (await c.mget(...keys)) as (string | null)[];
    const missing = keys.filter((_, k) => got[k] !== expected[k]);
    assert.deepEqual(missing.slice(0, 10), [], `node n${i + 1} lacks ${missing.length} acknowledged writes`);
  }
});
