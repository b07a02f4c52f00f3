// Three real `keymesh server` processes joined by the TCP peer transport.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { encodeFrame } from '../../src/cluster/transport/codec.js';
import { freePort, startKeymesh, type ServerProcess } from '../helpers/process.js';
import { errorOf, waitFor } from './helpers.js';

function client(port: number): Redis {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  return r;
}

/** Writes `text`, shuts the sending side as `nc -q1` does, and returns all the node sent until it closed. */
async function pipeAndHalfClose(port: number, text: string): Promise<string> {
  const socket = net.connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  socket.on('data', (b: Buffer) => chunks.push(b));
  const ended = once(socket, 'end');
  await once(socket, 'connect');
  socket.end(text);
  await ended;
  socket.destroy();
  return Buffer.concat(chunks).toString();
}

/** The fields of INFO replication's `raft_peerK` line for `id`. */
function peerLink(info: string, id: string): Map<string, string> {
  const line = info.split('\r\n').find((l) => l.startsWith('raft_peer') && l.includes(`:id=${id},`));
  assert.ok(line !== undefined, `no raft_peer line for ${id} in:\n${info}`);
  return new Map(line.slice(line.indexOf(':') + 1).split(',').map((kv) => kv.split('=') as [string, string]));
}

/** Client and peer ports for `n` nodes n1…, and the --peers list naming them. */
async function clusterPorts(n: number): Promise<{ ports: number[]; peerPorts: number[]; peers: string }> {
  const ports: number[] = [];
  const peerPorts: number[] = [];
  for (let i = 0; i < n; i++) {
    ports.push(await freePort());
    peerPorts.push(await freePort());
  }
  return { ports, peerPorts, peers: ports.map((p, i) => `n${i + 1}@127.0.0.1:${p}@${peerPorts[i]}`).join(',') };
}

test('3 processes: replicate, fail over after SIGKILL of the leader, catch up after restart', async () => {
  const { ports, peers } = await clusterPorts(3);
  const procs: ServerProcess[] = [];
  const clients: Redis[] = [];
  const c = (i: number): Redis => {
    const r = client(ports[i]!);
    clients.push(r);
    return r;
  };
  try {
    for (let i = 0; i < 3; i++) {
      procs.push(await startKeymesh({ port: ports[i]!, args: ['--node-id', `n${i + 1}`, '--peers', peers, '--cluster-tick-ms', '20'] }));
    }
    const c0 = c(0);
    // Lines piped into a follower, then the client's FIN: writes are forwarded and reads
    // confirmed with the leader before the node answers them all and closes.
    assert.equal(await pipeAndHalfClose(ports[1]!, 'SET piped john\nGET piped\nGET missing\n'), 'OK\njohn\n(nil)\n');
    assert.equal(await c0.call('SET', 'k', 'v'), 'OK');
    assert.equal(await c(1).call('GET', 'k'), 'v');
    assert.equal(await c(2).call('GET', 'k'), 'v');
    const leaderId = /raft_leader_id:(n\d)/.exec(String(await c0.call('CLUSTER', 'INFO')))![1]!;
    const li = Number(leaderId.slice(1)) - 1;
    // The leader's transport counters for each follower: entries went out, acknowledgements came back.
    const before = String(await c(li).call('INFO', 'replication'));
    for (let i = 0; i < 3; i++) {
      if (i === li) continue;
      const link = peerLink(before, `n${i + 1}`);
      assert.equal(link.get('link'), 'up');
      assert.ok(Number(link.get('msgs_sent')) > 0 && Number(link.get('bytes_sent')) > Number(link.get('msgs_sent')), before);
      assert.ok(Number(link.get('socket_writes')) > 0 && Number(link.get('socket_writes')) <= Number(link.get('msgs_sent')), before);
      assert.ok(Number(link.get('msgs_received')) > 0 && Number(link.get('bytes_received')) > 0, before);
      assert.equal(link.get('drops'), '0');
    }
    procs[li]!.signal('SIGKILL');
    await procs[li]!.exited();
    const survivor = (li + 1) % 3;
    const sc = c(survivor);
    const t0 = Date.now();
    await waitFor(async () => (await sc.call('SET', 'k2', 'v2').catch(() => null)) === 'OK', 'a write after the leader died', 8000);
    const failoverMs = Date.now() - t0;
    assert.ok(failoverMs < 5000, `failover took ${failoverMs} ms`);
    assert.equal(await c((li + 2) % 3).call('GET', 'k2'), 'v2');
    // The killed node restarts on its data and catches up from the log.
    await procs[li]!.restart();
    const rc = c(li);
    await rc.call('CONSISTENCY', 'eventual');
    await waitFor(async () => (await rc.call('GET', 'k2')) === 'v2', 'the restarted node caught up', 8000);
    assert.equal(await rc.call('GET', 'k'), 'v');
    assert.doesNotMatch(await errorOf(rc.call('CLUSTER', 'NODES')), /^ERR/);
    // The new leader lost its link to the killed node and dialled it again after the restart.
    const newLeader = Number(/raft_leader_id:n(\d)/.exec(String(await sc.call('CLUSTER', 'INFO')))![1]) - 1;
    const after = String(await c(newLeader).call('INFO', 'replication'));
    const link = peerLink(after, leaderId);
    assert.equal(link.get('link'), 'up', after);
    assert.ok(Number(link.get('reconnects')) >= 1, after);
  } finally {
    for (const r of clients) r.disconnect();
    for (const p of procs) await p.stop({ allowCrash: true });
  }
});

test('3 processes with a cluster secret replicate; a connection to a peer port without it changes nothing', async () => {
  const { ports, peerPorts, peers } = await clusterPorts(3);
  const procs: ServerProcess[] = [];
  const clients: Redis[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const args = ['--node-id', `n${i + 1}`, '--peers', peers, '--cluster-tick-ms', '20'];
      // The secret from the environment for one node, as a deployment would keep it out of `ps`.
      procs.push(await startKeymesh({ port: ports[i]!, args: i === 0 ? args : [...args, '--cluster-secret', 's3cret'], env: i === 0 ? { KEYMESH_CLUSTER_SECRET: 's3cret' } : {} }));
    }
    for (const p of ports) clients.push(client(p));
    assert.equal(await clients[0]!.call('SET', 'k', 'v'), 'OK');
    assert.equal(await clients[2]!.call('GET', 'k'), 'v');
    assert.equal(await clients[0]!.call('CONFIG', 'SET', 'cluster-secret', 'x').catch((e: Error) => e.message), "ERR CONFIG SET failed (possibly related to argument 'cluster-secret') - can't set immutable config");

    // Someone who reaches a peer port, names a member and forwards FLUSHALL (which would bypass requirepass too).
    for (const peerPort of peerPorts) {
      const s = net.connect({ host: '127.0.0.1', port: peerPort });
      await once(s, 'connect');
      s.write(encodeFrame({ kind: 'handshake', clusterId: 'keymesh', from: 'n2', to: 'n1', nonce: '0123456789abcdef0123456789abcdef', proof: '' }));
      s.write(encodeFrame({ kind: 'forwardRequest', id: 1, req: { db: 0, argv: ['flushall'], mode: 2, readOnly: false, ackOnAppend: false } }));
      s.resume();
      await once(s, 'close');
    }
    assert.equal(await clients[1]!.call('GET', 'k'), 'v');
    assert.equal(await clients[0]!.call('SET', 'k2', 'v2'), 'OK');
    assert.equal(await clients[1]!.call('GET', 'k2'), 'v2');
  } finally {
    for (const r of clients) r.disconnect();
    for (const p of procs) await p.stop({ allowCrash: true });
  }
});
