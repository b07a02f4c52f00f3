// Leader lease reads on real processes: a leader frozen by SIGSTOP must not serve a
// stale value from its lease when it wakes up after the others elected a new leader.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { freePort, startKeymesh, sleep, type ServerProcess } from '../helpers/process.js';
import { waitFor } from './helpers.js';

function client(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 8000 });
  r.on('error', () => {});
  return r;
}

test('lease reads: a leader woken from SIGSTOP does not answer from its expired lease', async () => {
  const ports: number[] = [];
  const peerPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    ports.push(await freePort());
    peerPorts.push(await freePort());
  }
  const peers = ports.map((p, i) => `n${i + 1}@127.0.0.1:${p}@${peerPorts[i]}`).join(',');
  const procs: ServerProcess[] = [];
  const clients: Redis[] = [];
  const c = (i: number): Redis => {
    const r = client(ports[i]!);
    clients.push(r);
    return r;
  };
  try {
    for (let i = 0; i < 3; i++) {
      procs.push(
        await startKeymesh({ port: ports[i]!, args: ['--node-id', `n${i + 1}`, '--peers', peers, '--cluster-tick-ms', '20', '--cluster-lease-reads', 'yes'] }),
      );
    }
    const any = c(0);
    for (let round = 0; round < 2; round++) {
      const before = `before-${round}`;
      const after = `after-${round}`;
      assert.equal(await any.call('SET', 'k', before), 'OK');
      const leaderId = /raft_leader_id:(n\d)/.exec(String(await any.call('CLUSTER', 'INFO')))![1]!;
      const li = Number(leaderId.slice(1)) - 1;
      const onLeader = c(li);
      assert.equal(await onLeader.call('GET', 'k'), before); // warms the lease
      procs[li]!.signal('SIGSTOP');
      const other = c((li + 1) % 3);
      await waitFor(async () => (await other.call('SET', 'k', after).catch(() => null)) === 'OK', 'a write while the leader is frozen', 8000);
      // Queued while frozen: the woken node sees this request in its first loop turn.
      const read = onLeader.call('GET', 'k');
      await sleep(50);
      procs[li]!.signal('SIGCONT');
      assert.equal(await read, after, `round ${round}: the woken ex-leader answered from its lease`);
      await sleep(300);
    }
  } finally {
    for (const r of clients) r.disconnect();
    for (const p of procs) {
      p.signal('SIGCONT');
      await p.stop({ allowCrash: true });
    }
  }
});
