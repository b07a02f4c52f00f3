// The `eventual` level's early acknowledgement (DESIGN.md, Consistency levels): a write
// whose reply cannot depend on the keyspace is answered once the leader has appended it,
// before a majority has it; every other write, and every write at stronger levels, still
// waits for apply. In-process clusters at a 200 ms tick: elections time out after 2–4 s,
// so followers cut off for about a second neither campaign nor depose the leader, and
// anything answered within that window was answered without a majority. (The window is
// wide so that a busy CI machine does not make an early answer look late.)

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type { LogCommand } from '../../src/commands/types.js';
import { replyIndependentOfKeyspace } from '../../src/commands/keyspace-independent-reply.js';
import { testServer } from '../helpers/harness.js';
import { TestCluster, errorOf, sleep, waitFor } from './helpers.js';

const settings = { 'cluster-tick-ms': 200 };
/** Time for a leader to emerge at this tick: a split vote costs another 2–4 s round, more on a loaded machine. */
const electionWaitMs = 20_000;
/** Far below the election timeout and the cluster wait at this tick, far above a local append. */
const earlyMs = 800;
/** How long writes that need a majority are watched not being answered. */
const cutOffMs = 500;

/** A promise and whether it settled. */
class Watched<T> {
  settled = false;
  constructor(readonly promise: Promise<T>) {
    const done = (): void => {
      this.settled = true;
    };
    promise.then(done, done);
  }

  /** Its result, asserting it came within `ms` (failing then rather than when it finally comes). */
  async within(ms: number, what: string): Promise<T> {
    await Promise.race([this.promise.catch(() => undefined), sleep(ms)]);
    assert.ok(this.settled, `${what}: not answered within ${ms} ms`);
    return this.promise;
  }
}

/** A raw client connection: what a test sends, byte for byte what the server answered. */
class RawClient {
  received = '';
  private constructor(private readonly socket: Socket) {
    socket.setEncoding('latin1');
    socket.on('data', (s: string) => (this.received += s));
    socket.on('error', () => {});
  }
  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text, 'latin1');
  }
  async expect(text: string, what: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.received.length >= text.length, what, timeoutMs).catch(() => undefined);
    assert.equal(this.received, text, what);
  }
  close(): void {
    this.socket.destroy();
  }
}

function resp(...argv: string[]): string {
  return `*${argv.length}\r\n${argv.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;
}

/** The leader's counter of writes answered before commit. */
function earlyAcks(c: TestCluster, id: string): number {
  return c.node(id).server!.cluster!.earlyAckedWrites;
}

function cutOff(c: TestCluster, ids: readonly string[], cut: boolean): void {
  for (const id of ids) c.isolate(id, cut);
}

describe('which writes are answered before commit', () => {
  /** The log form a client command proposes, and the reply its apply produced. */
  function logged(argv: string[], setup: string[][] = []): { entry: LogCommand; reply: string } {
    const { server, client } = testServer();
    for (const s of setup) client.run(...s);
    let entry: LogCommand | null = null;
    const inner = server.writePath;
    server.writePath = {
      propose(cmd, sink) {
        entry = { ...cmd, argv: [...cmd.argv] };
        return inner.propose(cmd, sink);
      },
    };
    const reply = client.run(...argv);
    assert.ok(entry !== null, `${argv.join(' ')} proposed nothing`);
    return { entry, reply };
  }

  const qualifying = [
    ['SET', 'k', 'v'],
    ['set', 'k', 'v', 'ex', '10'],
    ['SET', 'k', 'v', 'PX', '100'],
    ['SET', 'k', 'v', 'EXAT', '99999999999'],
    ['SET', 'k', 'v', 'PXAT', '1'],
    ['SET', 'k', 'v', 'KEEPTTL'],
    ['SETEX', 'k', '10', 'v'],
    ['PSETEX', 'k', '10', 'v'],
    ['MSET', 'k', 'v'],
    ['MSET', 'k', 'v', 'k2', 'v2'],
  ];
  const notQualifying = [
    ['SET', 'k', 'v', 'NX'],
    ['SET', 'k', 'v', 'XX'],
    ['SET', 'k', 'v', 'GET'],
    ['SET', 'k', 'v', 'xx', 'EX', '10'],
    ['SET', 'k', 'v', 'EX', '10', 'GET'],
    ['SETNX', 'k', 'v'],
    ['GETSET', 'k', 'v'],
    ['MSETNX', 'k', 'v'],
    ['INCR', 'k'],
    ['INCRBYFLOAT', 'k', '1.5'],
    ['APPEND', 'k', 'v'],
    ['DEL', 'k'],
    ['EXPIRE', 'k', '10'],
    ['GETDEL', 'k'],
  ];
  /** States of the key a qualifying write's reply must not depend on. */
  const states = [[], [['SET', 'k', 'old']], [['SET', 'k', '1', 'PX', '100000']], [['SET', 'k2', 'x']]];

  test('SET without NX/XX/GET, SETEX, PSETEX, MSET qualify, and apply answers them OK in any keyspace', () => {
    for (const argv of qualifying) {
      for (const setup of states) {
        const { entry, reply } = logged([...argv], setup);
        assert.ok(replyIndependentOfKeyspace(entry.argv), `${argv.join(' ')} logged as ${entry.argv.join(' ')}`);
        assert.equal(reply, '+OK\r\n', `${argv.join(' ')} after ${JSON.stringify(setup)}`);
      }
    }
  });

  test('writes whose reply is the result of applying do not', () => {
    for (const argv of notQualifying) {
      const { entry } = logged([...argv], [['SET', 'k', '1']]);
      assert.equal(replyIndependentOfKeyspace(entry.argv), false, `${argv.join(' ')} logged as ${entry.argv.join(' ')}`);
    }
  });

  test('the predicate reads option words case-insensitively and skips option arguments', () => {
    assert.equal(replyIndependentOfKeyspace(['set', 'k', 'v', 'pxat', '5']), true);
    assert.equal(replyIndependentOfKeyspace(['set', 'k', 'v', 'Get']), false);
    // An expiry argument is a number in the log, but would not be read as an option anyway.
    assert.equal(replyIndependentOfKeyspace(['set', 'k', 'v', 'PX', 'NX']), true);
    assert.equal(replyIndependentOfKeyspace(['incrby', 'k', '1']), false);
    assert.equal(replyIndependentOfKeyspace(['expired', 'k']), false);
    assert.equal(replyIndependentOfKeyspace([]), false);
  });
});

test('with both followers cut off, an eventual SET is answered at once; INCR, SET NX and a strong SET wait, then all commit', async () => {
  const c = await TestCluster.start(3, settings);
  try {
    const leader = await c.leader(electionWaitMs);
    const followers = c.followers(leader);
    const ev = c.client(leader);
    const evIncr = c.client(leader);
    const evNx = c.client(leader);
    const strong = c.client(leader);
    for (const r of [ev, evIncr, evNx]) assert.equal(await r.call('CONSISTENCY', 'eventual'), 'OK');
    assert.equal(await ev.call('SET', 'b', '41'), 'OK');
    await waitFor(() => c.nodes.every((n) => n.server!.appliedIndex === c.node(leader).server!.appliedIndex), 'all applied');
    const before = earlyAcks(c, leader);

    cutOff(c, followers, true);
    const set = new Watched(ev.call('SET', 'a', '1'));
    const setex = new Watched(ev.call('SETEX', 'e', '1000', 'v'));
    const mset = new Watched(ev.call('MSET', 'm1', 'x', 'm2', 'y'));
    const incr = new Watched(evIncr.call('INCR', 'b'));
    const nx = new Watched(evNx.call('SET', 'n', '1', 'NX'));
    const strongSet = new Watched(strong.call('SET', 's', '1'));
    assert.equal(await set.within(earlyMs, 'eventual SET'), 'OK');
    assert.equal(await setex.within(earlyMs, 'eventual SETEX'), 'OK');
    assert.equal(await mset.within(earlyMs, 'eventual MSET'), 'OK');
    await sleep(cutOffMs);
    assert.equal(incr.settled, false, 'an eventual INCR waits for commit');
    assert.equal(nx.settled, false, 'an eventual SET NX waits for commit');
    assert.equal(strongSet.settled, false, 'a strong SET waits for commit');
    const st = c.node(leader).server!.cluster!;
    assert.equal(st.role, 'leader');
    assert.equal(earlyAcks(c, leader) - before, 3);
    // (A fresh connection: `strong` holds later commands behind its pending SET.)
    assert.match(String(await c.client(leader).call('INFO', 'replication')), /raft_early_acked_writes:[1-9]/);
    // The eventual connection reads this node's state at once, not held for its own writes.
    assert.equal(await ev.call('GET', 'a'), null);
    // WAIT counts the replicas that have this connection's writes, as with Redis's async replicas.
    assert.equal(await ev.call('WAIT', '1', '100'), 0);

    cutOff(c, followers, false);
    assert.equal(await ev.call('WAIT', '2', '5000'), 2);
    assert.equal(await incr.promise, 42);
    assert.equal(await nx.promise, 'OK');
    assert.equal(await strongSet.promise, 'OK');
    for (const n of c.nodes) {
      const r = c.client(n.id);
      await r.call('CONSISTENCY', 'eventual');
      await waitFor(async () => (await r.call('GET', 's')) === '1', `${n.id} applied everything`);
      assert.deepEqual(await r.call('MGET', 'a', 'e', 'm1', 'm2', 'b', 'n'), ['1', 'v', 'x', 'y', '42', '1'], n.id);
    }
    assert.equal(earlyAcks(c, leader) - before, 3, 'no write answered twice or later counted early');
  } finally {
    await c.close();
  }
});

test('pipelined early and late writes are answered in request order, in each one\'s reply mode, once each', async () => {
  const c = await TestCluster.start(3, settings);
  try {
    const leader = await c.leader(electionWaitMs);
    const followers = c.followers(leader);
    const raw = await RawClient.open(c.node(leader).port);
    try {
      raw.send(resp('CONSISTENCY', 'eventual') + resp('SET', 'b', '9'));
      await raw.expect('+OK\r\n+OK\r\n', 'set-up replies');
      raw.received = '';
      cutOff(c, followers, true);
      // RESP SET (early), INCR (waits for apply), inline SET (early, plain-text reply, made
      // while the connection's current mode is RESP), RESP SET (early).
      raw.send(resp('SET', 'a', '1') + resp('INCR', 'b') + 'SET c 1\r\n' + resp('SET', 'd', '1'));
      await raw.expect('+OK\r\n', 'the first SET answered before commit, nothing overtakes the INCR', earlyMs);
      await sleep(cutOffMs);
      assert.equal(raw.received, '+OK\r\n', 'later replies wait behind the INCR');
      cutOff(c, followers, false);
      await raw.expect('+OK\r\n:10\r\nOK\n+OK\r\n', 'replies in request order');
      // Applying the early writes replies nothing more.
      await waitFor(() => c.nodes.every((n) => n.server!.appliedIndex === c.node(leader).server!.appliedIndex), 'all applied');
      await sleep(100);
      raw.send(resp('PING'));
      await raw.expect('+OK\r\n:10\r\nOK\n+OK\r\n+PONG\r\n', 'no second reply when the early writes apply');

      // RESP3 after HELLO 3.
      raw.received = '';
      raw.send(resp('HELLO', '3'));
      await waitFor(() => raw.received.includes('proto'), 'HELLO reply');
      raw.received = '';
      cutOff(c, followers, true);
      raw.send(resp('SET', 'r3', '1'));
      await raw.expect('+OK\r\n', 'an early RESP3 reply', earlyMs);
      cutOff(c, followers, false);
    } finally {
      raw.close();
    }
  } finally {
    await c.close();
  }
});

test('an eventual SET sent to a follower is forwarded and answered when the leader appended it', async () => {
  // Five nodes: the leader and the forwarding follower are two, short of a majority.
  const c = await TestCluster.start(5, settings);
  try {
    const leader = await c.leader(electionWaitMs);
    const [via, ...others] = c.followers(leader) as [string, ...string[]];
    const ev = c.client(via);
    const evIncr = c.client(via);
    const strong = c.client(via);
    for (const r of [ev, evIncr]) assert.equal(await r.call('CONSISTENCY', 'eventual'), 'OK');
    assert.equal(await ev.call('SET', 'b', '1'), 'OK');
    const before = earlyAcks(c, leader);

    cutOff(c, others, true);
    const set = new Watched(ev.call('SET', 'fa', '1', 'EX', '1000'));
    const incr = new Watched(evIncr.call('INCR', 'b'));
    const strongSet = new Watched(strong.call('SET', 'fs', '1'));
    assert.equal(await set.within(earlyMs, 'forwarded eventual SET'), 'OK');
    // The same connection's next early write follows through the same path.
    assert.equal(await ev.call('MSET', 'fb', '2'), 'OK');
    await sleep(cutOffMs);
    assert.equal(incr.settled, false, 'a forwarded eventual INCR waits for commit');
    assert.equal(strongSet.settled, false, 'a forwarded strong SET waits for commit');
    assert.equal(earlyAcks(c, leader) - before, 2);
    assert.match(String(await c.client(via).call('INFO', 'replication')), /raft_forwarded_writes:[1-9]/);

    cutOff(c, others, false);
    assert.equal(await incr.promise, 2);
    assert.equal(await strongSet.promise, 'OK');
    for (const n of c.nodes) {
      const r = c.client(n.id);
      await r.call('CONSISTENCY', 'eventual');
      await waitFor(async () => (await r.call('GET', 'fs')) === '1', `${n.id} applied everything`);
      assert.deepEqual(await r.call('MGET', 'fa', 'fb', 'b'), ['1', '2', '2'], n.id);
    }
  } finally {
    await c.close();
  }
});

test('an early-answered write that a new leader overwrites is lost, without a crash, hang or second reply', async () => {
  const c = await TestCluster.start(3, settings);
  try {
    const old = await c.leader(electionWaitMs);
    const raw = await RawClient.open(c.node(old).port);
    const incr = c.client(old);
    try {
      raw.send(resp('CONSISTENCY', 'eventual'));
      await raw.expect('+OK\r\n', 'CONSISTENCY');
      raw.received = '';
      await incr.call('CONSISTENCY', 'eventual');

      c.isolate(old, true);
      raw.send(resp('SET', 'lost', '1'));
      await raw.expect('+OK\r\n', 'answered by the leader alone', earlyMs);
      const pendingIncr = new Watched(incr.call('INCR', 'lost-counter'));
      // The other two elect a leader and write over the old leader's uncommitted entries.
      const others = c.followers(old);
      await waitFor(() => others.some((id) => c.node(id).server!.cluster!.role === 'leader'), 'a new leader', electionWaitMs);
      const next = others.find((id) => c.node(id).server!.cluster!.role === 'leader')!;
      assert.equal(await c.client(next).call('SET', 'after', '1'), 'OK');
      assert.equal(await c.client(next).call('SET', 'after2', '1'), 'OK');

      c.isolate(old, false);
      await pendingIncr.promise.catch(() => undefined);
      assert.match(await errorOf(pendingIncr.promise), /CLUSTERDOWN/);
      for (const n of c.nodes) {
        const r = c.client(n.id);
        await r.call('CONSISTENCY', 'eventual');
        await waitFor(async () => (await r.call('GET', 'after2')) === '1', `${n.id} caught up`, 10_000);
        assert.equal(await r.call('GET', 'lost'), null, `${n.id}: the overwritten write is gone`);
      }
      raw.send(resp('PING'));
      await raw.expect('+OK\r\n+PONG\r\n', 'the connection still works, and got no second reply');
    } finally {
      raw.close();
    }
  } finally {
    await c.close();
  }
});
