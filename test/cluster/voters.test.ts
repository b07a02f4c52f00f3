// Clusters of 1, 3, 5 and 7 voters in one process (hub network, 20 ms ticks): a leader is
// elected, strong writes and reads go through several nodes, the cluster keeps writing
// with a minority stopped (the leader among them), answers CLUSTERDOWN once a majority is
// gone, and recovers every acknowledged write when the nodes come back.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TestCluster, errorOf, waitFor } from './helpers.js';

/** Writes `key` through node `via` and reads it back through every running node (strong reads). */
async function writeAndReadEverywhere(c: TestCluster, via: string, key: string, value: string): Promise<void> {
  assert.equal(await c.client(via).call('SET', key, value), 'OK', `SET ${key} through ${via}`);
  for (const n of c.nodes) {
    if (n.server !== null) assert.equal(await c.client(n.id).call('GET', key), value, `GET ${key} on ${n.id}`);
  }
}

/** Every running node serves every written key with its value. */
async function assertAllReadable(c: TestCluster, written: Map<string, string>): Promise<void> {
  for (const n of c.nodes) {
    if (n.server === null) continue;
    const keys = [...written.keys()];
    assert.deepEqual(await c.client(n.id).call('MGET', ...keys), [...written.values()], `values on ${n.id}`);
  }
}

async function checkVoters(n: number): Promise<void> {
  const c = await TestCluster.start(n);
  const written = new Map<string, string>();
  const write = async (via: string, key: string): Promise<void> => {
    const value = `${key}@${via}`;
    await writeAndReadEverywhere(c, via, key, value);
    written.set(key, value);
  };
  try {
    const leader = await c.leader();
    assert.match(String(await c.client(leader).call('CLUSTER', 'INFO')), new RegExp(`cluster_size:${n}\r\n`));
    // Writes through the leader and through up to three followers.
    await write(leader, 'first');
    for (const f of c.followers(leader).slice(0, 3)) await write(f, `via-${f}`);

    const minority = Math.floor((n - 1) / 2);
    // The leader is among the stopped, so the survivors must elect a new one first.
    const stopped = [leader, ...c.followers(leader).slice(0, minority - 1)].slice(0, minority);
    for (const id of stopped) await c.stopNode(id);
    const survivors = c.nodes.filter((x) => x.server !== null).map((x) => x.id);
    for (const [k, id] of survivors.entries()) await write(id, `minority-down-${k}`);
    if (minority > 0) assert.notEqual(await c.leader(), leader);
    await assertAllReadable(c, written);

    if (n > 1) {
      // One more down and the survivors are no longer a majority.
      const extra = survivors[0]!;
      await c.stopNode(extra);
      stopped.push(extra);
      const asked = survivors[1]!;
      const t0 = Date.now();
      assert.match(await errorOf(c.client(asked).call('SET', 'lost', 'x')), /^CLUSTERDOWN /);
      assert.match(await errorOf(c.client(asked).call('GET', 'first')), /^CLUSTERDOWN /);
      const waited = Date.now() - t0;
      assert.ok(waited < 8000, `the write and the read were refused after ${waited} ms`);
    } else {
      // A group of one is its own majority: it recovers from its own log.
      await c.stopNode(leader);
      stopped.push(leader);
    }

    for (const id of stopped) await c.startNode(id);
    const any = c.nodes[c.nodes.length - 1]!.id;
    await waitFor(async () => (await c.client(any).call('SET', 'back', '1').catch(() => null)) === 'OK', 'writes after the nodes came back', 8000);
    written.set('back', '1');
    await c.leader();
    await assertAllReadable(c, written);
    // Applied logs converge: every node ends on the same index.
    await waitFor(() => new Set(c.nodes.map((x) => x.server!.appliedIndex)).size === 1, 'equal applied indexes');
  } finally {
    await c.close();
  }
}

for (const n of [1, 3, 5, 7]) {
  test(`${n} voter${n === 1 ? '' : 's'}: elect, write and read through several nodes, lose a minority, lose a majority, recover`, () => checkVoters(n));
}

test('a write the leader proposed just before losing its majority is answered, not left hanging', async () => {
  const c = await TestCluster.start(3);
  try {
    const leader = await c.leader();
    const lc = c.client(leader);
    assert.equal(await lc.call('SET', 'k', '1'), 'OK');
    for (const f of c.followers(leader)) await c.stopNode(f);
    const t0 = Date.now();
    // Proposed while it still leads; it steps down (CheckQuorum) and nothing ever commits the entry.
    const err = await errorOf(lc.call('SET', 'k', '2'));
    const waited = Date.now() - t0;
    assert.match(err, /^CLUSTERDOWN This node stopped leading while the write was in flight .*; it may or may not have been applied$/);
    assert.ok(waited >= 1000 && waited < 5000, `answered after ${waited} ms`);
  } finally {
    await c.close();
  }
});
