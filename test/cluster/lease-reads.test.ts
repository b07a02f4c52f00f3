// Leader lease reads on real processes. The hazard: a leader frozen (SIGSTOP, a long
// stall) while the others elect a new leader and accept writes, that wakes up still cut
// off from them. If its ticks only counted timer callbacks, its lease would still look
// valid and it would answer a strong read with the value it had before the freeze.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyMeshClient, type RespValue } from '../../src/client/client.js';
import { ChaosCluster } from '../chaos/cluster.js';
import { createNetwork, type ChaosNetwork } from '../chaos/net/network.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../helpers/process.js';
import { waitFor } from './helpers.js';

async function connect(net: ChaosNetwork, id: string): Promise<KeyMeshClient> {
  const { host, port } = net.clientAddress(id);
  return KeyMeshClient.connect({ host, port });
}

function text(v: RespValue): string {
  if (v.type === 'string') return typeof v.value === 'string' ? v.value : v.value.toString('latin1');
  if (v.type === 'error') return `-${v.message}`;
  return v.type;
}

test('lease reads: a leader woken from SIGSTOP, cut off from the others, does not answer from its lease', async () => {
  const ids = ['n1', 'n2', 'n3'];
  const out = mkdtempSync(join(tmpdir(), 'keymesh-lease-'));
  const net = await createNetwork(ids, { mode: 'proxy' });
  const cluster = new ChaosCluster(ids, net, out, { tickMs: 20, leaseReads: true, extraArgs: ['--loglevel', 'warning'] });
  const clients: KeyMeshClient[] = [];
  try {
    await cluster.start();
    const first = await connect(net, 'n1');
    clients.push(first);
    let leader = '';
    await waitFor(async () => {
      leader = /raft_leader_id:(n\d)/.exec(text(await first.call('CLUSTER', 'INFO')))?.[1] ?? '';
      return leader !== '';
    }, 'a leader', 10_000);
    const onLeader = await connect(net, leader);
    clients.push(onLeader);
    assert.equal(text(await onLeader.call('SET', 'k', 'before')), 'OK');
    assert.equal(text(await onLeader.call('GET', 'k')), 'before'); // served from a fresh lease

    cluster.pause(leader);
    await net.setCuts(ids.filter((id) => id !== leader).map((id) => [leader, id] as const));
    const other = await connect(net, ids.find((id) => id !== leader)!);
    clients.push(other);
    await waitFor(async () => text(await other.call('SET', 'k', 'after')) === 'OK', 'a write while the leader is frozen', 10_000);

    // Queued while frozen, so the woken node reads it in its first loop turn.
    const read = onLeader.call('GET', 'k');
    await sleep(50);
    cluster.resume(leader);
    const answer = text(await read);
    assert.notEqual(answer, 'before', 'the woken ex-leader answered a strong read from its expired lease');
    assert.match(answer, /^-CLUSTERDOWN|^after$/);
    await net.heal();
    await waitFor(async () => text(await onLeader.call('GET', 'k')) === 'after', 'the old leader serving the new value after healing', 10_000);
  } finally {
    for (const c of clients) c.destroy();
    await cluster.stop();
    await net.close();
    rmSync(out, { recursive: true, force: true });
  }
});
