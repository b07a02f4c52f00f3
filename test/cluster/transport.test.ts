import assert from 'node:assert/strict';
import * as net from 'node:net';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { FrameReader, encodeFrame, type Frame } from '../../src/cluster/transport/codec.js';
import { handshakeProof } from '../../src/cluster/transport/peer-auth.js';
import { ForwardError, PeerTransport } from '../../src/cluster/transport/peer-transport.js';
import type { ForwardRequest, PeerAddress, TransportLimits, TransportLog } from '../../src/cluster/transport/peer-transport.js';
import type { Message, NodeId } from '../../src/raft/types.js';

// ---------------------------------------------------------------------------
// Helpers

interface LogLine {
  level: string;
  obj: object;
  msg: string;
}

function captureLog(): { log: TransportLog; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, obj, msg });
  return { lines, log: { debug: at('debug'), info: at('info'), warn: at('warn') } };
}

const open: PeerTransport[] = [];
const rawSockets: net.Socket[] = [];
const rawServers: net.Server[] = [];

afterEach(async () => {
  for (const s of rawSockets.splice(0)) s.destroy();
  await Promise.all(open.splice(0).map((t) => t.close()));
  await Promise.all(rawServers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

interface Node {
  t: PeerTransport;
  port: number;
  got: Message[];
  lines: LogLine[];
}

/** A handshake as a node without a cluster secret sends it. */
function rawHandshake(from: NodeId, to: NodeId): Extract<Frame, { kind: 'handshake' }> {
  return { kind: 'handshake', clusterId: 'test-cluster', from, to, nonce: '0123456789abcdef0123456789abcdef', proof: '' };
}

async function node(
  id: NodeId,
  opts: { clusterId?: string; port?: number; limits?: Partial<TransportLimits>; peers?: Map<NodeId, PeerAddress>; secret?: string } = {},
): Promise<Node> {
  const { log, lines } = captureLog();
  const t = new PeerTransport({
    selfId: id,
    listenHost: '127.0.0.1',
    listenPort: opts.port ?? 0,
    peers: opts.peers ?? new Map(),
    clusterId: opts.clusterId ?? 'test-cluster',
    secret: opts.secret ?? null,
    log,
    limits: opts.limits,
  });
  open.push(t);
  const got: Message[] = [];
  t.onMessage((m) => got.push(m));
  const port = await t.start();
  return { t, port, got, lines };
}

/** Starts transports on free ports, then tells each where the others are. */
async function cluster(ids: readonly NodeId[], limits?: Partial<TransportLimits>): Promise<Map<NodeId, Node>> {
  const nodes = new Map<NodeId, Node>();
  for (const id of ids) nodes.set(id, await node(id, { limits }));
  const peers = addresses(nodes);
  for (const n of nodes.values()) n.t.updatePeers(peers);
  return nodes;
}

function addresses(nodes: Map<NodeId, Node>): Map<NodeId, PeerAddress> {
  return new Map([...nodes].map(([id, n]) => [id, { host: '127.0.0.1', port: n.port }]));
}

function hb(from: NodeId, to: NodeId, seq: number): Message {
  return { type: 'Heartbeat', from, to, term: 1, commit: seq, readRound: 0 };
}

function bigAppend(from: NodeId, to: NodeId, bytes: number): Message {
  return { type: 'Append', from, to, term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array(bytes) }] };
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A port with nobody listening on it. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function rawConnect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => resolve(s));
    s.on('error', reject);
    s.resume(); // without a reader, 'end' and so 'close' never come
    rawSockets.push(s);
  });
}

function closed(s: net.Socket): Promise<void> {
  return new Promise((r) => (s.destroyed ? r() : s.once('close', () => r())));
}

/**
 * A fake peer at a raw TCP port: answers the handshake as `id` (unless told not to),
 * then never reads again, like a follower whose process is stalled.
 */
async function stalledPeer(id: NodeId, opts: { handshake: boolean }): Promise<number> {
  const server = net.createServer((s) => {
    rawSockets.push(s);
    s.on('error', () => {});
    if (!opts.handshake) {
      s.pause();
      return;
    }
    const reader = new FrameReader(4096);
    s.once('data', (chunk: Buffer) => {
      reader.push(chunk);
      const f = reader.next();
      assert.ok(f !== null && f.kind === 'handshake');
      s.write(encodeFrame({ kind: 'handshake', clusterId: f.clusterId, from: id, to: f.from, nonce: f.nonce, proof: '' }));
      s.pause();
    });
  });
  rawServers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

function seqsFrom(got: readonly Message[], from: NodeId): number[] {
  return got.filter((m) => m.from === from && m.type === 'Heartbeat').map((m) => (m.type === 'Heartbeat' ? m.commit : -1));
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------

describe('peer transport: delivery', () => {
  test('three transports exchange messages, in order per pair', async () => {
    const nodes = await cluster(['a', 'b', 'c']);
    const perPair = 600;
    for (let batch = 0; batch < 6; batch++) {
      for (const [from, n] of nodes) {
        const msgs: Message[] = [];
        for (const to of nodes.keys()) if (to !== from) for (let i = 0; i < 100; i++) msgs.push(hb(from, to, batch * 100 + i));
        n.t.send(msgs);
      }
      await turn();
    }
    await waitFor('all messages', () => [...nodes.values()].every((n) => n.got.length === 2 * perPair));
    for (const [self, n] of nodes) {
      for (const from of nodes.keys()) if (from !== self) assert.deepStrictEqual(seqsFrom(n.got, from), range(perPair), `${from} → ${self}`);
      assert.ok(n.got.every((m) => m.to === self));
      for (const [peer, s] of n.t.peerStats()) {
        assert.equal(s.connected, true, `${self} → ${peer} connected`);
        assert.equal(s.messagesSent, perPair);
        assert.equal(s.messagesReceived, perPair);
        assert.equal(s.drops, 0);
        assert.ok(s.bytesSent > 0 && s.bytesReceived > 0 && s.lastContactMs > 0);
      }
    }
  });

  test('messages of one turn share a socket write', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    a.t.send([hb('a', 'b', 0)]);
    await waitFor('connection', () => nodes.get('b')!.got.length === 1);
    const sock = (a.t as unknown as { peers: Map<NodeId, { socket: net.Socket }> }).peers.get('b')!.socket;
    let writes = 0;
    const original = sock._writev?.bind(sock);
    const originalWrite = sock._write.bind(sock);
    sock._writev = (chunks, cb) => {
      writes++;
      original!(chunks, cb);
    };
    sock._write = (chunk, enc, cb) => {
      writes++;
      originalWrite(chunk, enc, cb);
    };
    for (let i = 1; i <= 50; i++) a.t.send([hb('a', 'b', i)]);
    await waitFor('the batch', () => nodes.get('b')!.got.length === 51);
    assert.equal(writes, 1);
  });

  test('a message to a node that is not a peer is counted and dropped', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!.t;
    a.send([hb('a', 'zz', 1), hb('a', 'a', 2)]);
    assert.equal(a.stats().unknownPeerDrops, 2);
  });

  test('works with a pino logger', async () => {
    const t = new PeerTransport({ selfId: 'p', listenHost: '127.0.0.1', listenPort: 0, peers: new Map(), clusterId: 'c', log: pino({ level: 'silent' }) });
    open.push(t);
    assert.ok((await t.start()) > 0);
  });
});

describe('peer transport: connections', () => {
  test('reconnects after a peer restarts, and the queue survives the gap', async () => {
    const nodes = await cluster(['a', 'b'], { reconnectBackoffMinMs: 20, reconnectBackoffMaxMs: 200 });
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    a.t.send([hb('a', 'b', 0)]);
    await waitFor('first message', () => b.got.length === 1);
    await b.t.close();
    await waitFor('a notices', () => a.t.peerStats().get('b')!.connected === false);
    a.t.send([hb('a', 'b', 1)]);
    await sleep(100); // a few failed dials
    const b2 = await node('b', { port: b.port, peers: addresses(nodes) });
    a.t.send([hb('a', 'b', 2)]);
    await waitFor('messages after restart', () => b2.got.length === 2, 2000);
    assert.deepStrictEqual(seqsFrom(b2.got, 'a'), [1, 2]);
    const s = a.t.peerStats().get('b')!;
    assert.equal(s.connected, true);
    assert.ok(s.reconnects >= 2, `reconnects: ${s.reconnects}`);
  });

  test('redials an unreachable peer with bounded backoff, then connects promptly', async () => {
    const port = await closedPort();
    const a = await node('a', { peers: new Map([['x', { host: '127.0.0.1', port }]]), limits: { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 40 } });
    a.t.send([hb('a', 'x', 7)]);
    await sleep(600);
    const s = a.t.peerStats().get('x')!;
    // At most one dial per min delay; at least one per max delay, less slack for late timers on a busy machine.
    assert.ok(s.reconnects >= 600 / 40 / 3 && s.reconnects <= 600 / 10 + 2, `reconnects in 600 ms: ${s.reconnects}`);
    assert.match(s.lastError ?? '', /ECONNREFUSED/);
    assert.ok(a.lines.some((l) => l.msg.includes('unreachable')));
    const started = Date.now();
    const x = await node('x', { port, peers: new Map([['a', { host: '127.0.0.1', port: a.port }]]) });
    await waitFor('queued message', () => x.got.length === 1, 1000);
    assert.ok(Date.now() - started < 500, 'connected within about the max backoff');
    assert.deepStrictEqual(seqsFrom(x.got, 'a'), [7]);
  });

  test('a handshake naming another cluster is rejected on both sides', async () => {
    const b = await node('b', { clusterId: 'one' });
    const c = await node('c', { clusterId: 'two', peers: new Map([['b', { host: '127.0.0.1', port: b.port }]]) });
    b.t.updatePeers(new Map([['c', { host: '127.0.0.1', port: c.port }]]));
    c.t.send([hb('c', 'b', 1)]);
    await waitFor('both rejections', () => b.t.stats().handshakeRejects >= 1 && c.t.stats().handshakeRejects >= 1);
    const warn = b.lines.find((l) => l.level === 'warn' && l.msg === 'peer handshake rejected');
    assert.ok(warn !== undefined);
    assert.match(JSON.stringify(warn.obj), /cluster id \\"two\\" is not ours/);
    assert.equal(b.got.length, 0);
    assert.equal(c.t.peerStats().get('b')!.connected, false);
    assert.match(c.t.peerStats().get('b')!.lastError ?? '', /handshake rejected/);
  });

  test('a node its peer does not count as a member is told so, and the repeated refusals are logged once a minute', async () => {
    const b = await node('b');
    const fast = { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 20 };
    const c = await node('c', { peers: new Map([['b', { host: '127.0.0.1', port: b.port }]]), limits: fast });
    c.t.send([hb('c', 'b', 1)]);
    await waitFor('several refusals', () => b.t.stats().handshakeRejects >= 5 && c.t.stats().handshakeRejects >= 5, 5000);
    assert.match(c.t.peerStats().get('b')!.lastError ?? '', /"b" does not count this node as a member: was it removed from the cluster/);
    const warned = (n: Node): number => n.lines.filter((l) => l.level === 'warn' && l.msg === 'peer handshake rejected').length;
    assert.equal(warned(b), 1, 'the acceptor warned once');
    assert.equal(warned(c), 1, 'the dialer warned once');
    assert.match(JSON.stringify(b.lines.find((l) => l.msg === 'peer handshake rejected')!.obj), /\\"c\\" is not a peer of this node/);
    assert.equal(b.got.length, 0);
  });

  test('a cluster secret: peers holding it talk; a wrong or missing one is rejected on both sides', async () => {
    const pair = async (secretB: string | undefined, secretC: string | undefined): Promise<[Node, Node]> => {
      const b = await node('b', { secret: secretB });
      const c = await node('c', { secret: secretC, peers: new Map([['b', { host: '127.0.0.1', port: b.port }]]) });
      b.t.updatePeers(new Map([['c', { host: '127.0.0.1', port: c.port }]]));
      c.t.send([hb('c', 'b', 1)]);
      return [b, c];
    };
    const [b1] = await pair('s3cret', 's3cret');
    await waitFor('a message under a shared secret', () => b1.got.length === 1);

    const cases: [string | undefined, string | undefined, RegExp, RegExp][] = [
      ['s3cret', 'other', /wrong cluster secret/, /the peer refused our handshake/],
      ['s3cret', undefined, /the peer has no cluster secret and this node has one/, /the peer refused our handshake/],
      [undefined, 's3cret', /the peer has a cluster secret and this node has none/, /the peer refused our handshake/],
    ];
    for (const [sb, sc, atB, atC] of cases) {
      const [b, c] = await pair(sb, sc);
      await waitFor('both rejections', () => b.t.stats().handshakeRejects >= 1 && c.t.stats().handshakeRejects >= 1);
      assert.match(JSON.stringify(b.lines.find((l) => l.msg === 'peer handshake rejected')!.obj), atB);
      assert.match(c.t.peerStats().get('b')!.lastError ?? '', atC);
      assert.equal(b.got.length, 0);
    }
  });

  test('with a cluster secret, a connection that cannot prove it forwards nothing', async () => {
    const b = await node('b', { secret: 's3cret', peers: new Map([['a', { host: '127.0.0.1', port: 1 }]]) });
    let served = 0;
    b.t.onForward(async () => {
      served++;
      return '+OK\r\n';
    });
    const forged = { ...rawHandshake('a', 'b'), proof: handshakeProof('guess', 'dial', 'test-cluster', 'a', 'b', rawHandshake('a', 'b').nonce) };
    for (const hs of [rawHandshake('a', 'b'), forged]) {
      const s = await rawConnect(b.port);
      s.write(encodeFrame(hs));
      s.write(encodeFrame({ kind: 'forwardRequest', id: 1, req: { db: 0, argv: ['flushall'], mode: 2, readOnly: false, ackOnAppend: false } }));
      await closed(s);
    }
    assert.equal(served, 0);
    assert.equal(b.t.stats().handshakeRejects, 2);
  });

  test('a reply that does not echo the nonce, or proves for another, is rejected by the dialer', async () => {
    // A fake "b" that knows the secret but answers for a nonce of its choosing (a replay).
    const server = net.createServer((s) => {
      rawSockets.push(s);
      s.on('error', () => {});
      const reader = new FrameReader(4096);
      s.once('data', (chunk: Buffer) => {
        reader.push(chunk);
        const f = reader.next();
        assert.ok(f !== null && f.kind === 'handshake');
        const nonce = 'ffffffffffffffffffffffffffffffff';
        s.write(encodeFrame({ kind: 'handshake', clusterId: f.clusterId, from: 'b', to: f.from, nonce, proof: handshakeProof('s3cret', 'accept', f.clusterId, 'b', f.from, nonce) }));
      });
    });
    rawServers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = await node('a', { secret: 's3cret', peers: new Map([['b', { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }]]) });
    a.t.send([hb('a', 'b', 1)]);
    await waitFor('the rejection', () => a.t.stats().handshakeRejects >= 1);
    assert.match(a.t.peerStats().get('b')!.lastError ?? '', /does not echo our nonce/);
  });

  test('a node that is not a peer, or the wrong node at an address, is rejected', async () => {
    const b = await node('b');
    const stranger = await node('s', { peers: new Map([['b', { host: '127.0.0.1', port: b.port }]]) });
    stranger.t.send([hb('s', 'b', 1)]);
    await waitFor('rejection of a stranger', () => b.t.stats().handshakeRejects === 1);
    assert.match(JSON.stringify(b.lines.find((l) => l.level === 'warn')!.obj), /"s\\" is not a peer/);

    // "a" believes b lives where e does.
    const e = await node('e');
    const a = await node('a', { peers: new Map([['b', { host: '127.0.0.1', port: e.port }]]) });
    e.t.updatePeers(new Map([['a', { host: '127.0.0.1', port: a.port }]]));
    a.t.send([hb('a', 'b', 1)]);
    await waitFor('the dialer notices', () => a.t.stats().handshakeRejects >= 1);
    assert.match(JSON.stringify(a.lines.find((l) => l.level === 'warn')!.obj), /is \\"e\\", expected \\"b\\"/);
    assert.equal(e.got.length, 0);
    assert.equal(b.got.length, 0);
  });

  test('garbage on the peer port closes that connection only', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    a.t.send([hb('a', 'b', 0)]);
    await waitFor('first message', () => b.got.length === 1);

    const http = await rawConnect(b.port);
    http.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const badCrc = await rawConnect(b.port);
    const frame = Buffer.from(encodeFrame(rawHandshake('a', 'b')));
    frame[5]! ^= 0xff;
    badCrc.write(frame);
    // A valid handshake, then a frame that is not one.
    const afterHandshake = await rawConnect(b.port);
    afterHandshake.write(encodeFrame(rawHandshake('a', 'b')));
    afterHandshake.write(Buffer.from([5, 0, 0, 0, 1, 2, 3, 4, 9, 9, 9, 9, 9]));
    await Promise.all([closed(http), closed(badCrc), closed(afterHandshake)]);
    assert.equal(b.t.stats().protocolErrors, 3);

    for (let i = 1; i <= 100; i++) a.t.send([hb('a', 'b', i)]);
    await waitFor('traffic after the garbage', () => b.got.length === 101);
    assert.deepStrictEqual(seqsFrom(b.got, 'a'), range(101));
  });

  test('a silent connection is dropped after the handshake timeout', async () => {
    const b = await node('b', { limits: { handshakeTimeoutMs: 100 } });
    const s = await rawConnect(b.port);
    const started = Date.now();
    await closed(s);
    assert.ok(Date.now() - started >= 80);
    await waitFor('the server side to forget it', () => b.t.stats().inboundConnections === 0);
    assert.ok(b.lines.some((l) => l.msg === 'peer handshake timed out'));
  });
});

describe('peer transport: bounds', () => {
  test('a peer that stops reading blocks nobody and its queue stays bounded', async () => {
    const limits = { peerQueueBytesMax: 1 << 20, socketWriteBytesMax: 256 << 10 };
    const nodes = await cluster(['a', 'b'], limits);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    const slowPort = await stalledPeer('slow', { handshake: true });
    const mutePort = await stalledPeer('mute', { handshake: false });
    a.t.updatePeers(new Map([...addresses(nodes), ['slow', { host: '127.0.0.1', port: slowPort }], ['mute', { host: '127.0.0.1', port: mutePort }]]));

    const turns = 400;
    let maxQueue = 0;
    let maxSocket = 0;
    for (let i = 0; i < turns; i++) {
      a.t.send([bigAppend('a', 'slow', 64 << 10), bigAppend('a', 'mute', 64 << 10), hb('a', 'b', i)]);
      await turn();
      const s = a.t.peerStats().get('slow')!;
      maxQueue = Math.max(maxQueue, s.queueBytes, a.t.peerStats().get('mute')!.queueBytes);
      maxSocket = Math.max(maxSocket, s.socketBufferedBytes);
    }
    await waitFor('every message to the healthy peer', () => b.got.length === turns, 2000);
    assert.deepStrictEqual(seqsFrom(b.got, 'a'), range(turns));

    const slow = a.t.peerStats().get('slow')!;
    const mute = a.t.peerStats().get('mute')!;
    assert.ok(maxQueue <= limits.peerQueueBytesMax, `queue peaked at ${maxQueue}`);
    assert.ok(maxSocket <= limits.socketWriteBytesMax + (65 << 10), `socket buffer peaked at ${maxSocket}`);
    assert.equal(slow.connected, true);
    assert.ok(slow.drops > 0 && slow.messagesSent > 0, `slow: sent ${slow.messagesSent}, dropped ${slow.drops}`);
    assert.equal(slow.messagesSent + slow.drops + slow.queuedFrames, turns);
    assert.equal(mute.connected, false);
    assert.equal(mute.messagesSent, 0);
    assert.equal(mute.drops + mute.queuedFrames, turns);
  });

  test('snapshot chunks outlive other messages in a full queue', async () => {
    const port = await stalledPeer('slow', { handshake: false });
    const a = await node('a', { peers: new Map([['slow', { host: '127.0.0.1', port }]]), limits: { peerQueueBytesMax: 200 << 10 } });
    const chunk: Message = {
      type: 'Snapshot',
      from: 'a',
      to: 'slow',
      term: 1,
      meta: { index: 5, term: 1, confState: { voters: ['a', 'slow'], learners: [] } },
      totalBytes: 100 << 10,
      offset: 0,
      data: new Uint8Array(100 << 10),
      done: true,
    };
    a.t.send([chunk]);
    for (let i = 0; i < 100; i++) a.t.send([bigAppend('a', 'slow', 10 << 10)]);
    const s = a.t.peerStats().get('slow')!;
    assert.ok(s.queueBytes <= 200 << 10);
    const queue = (a.t as unknown as { peers: Map<NodeId, { queue: { shift(): { kind: string } | undefined } }> }).peers.get('slow')!.queue;
    assert.equal(queue.shift()?.kind, 'snapshot');
  });

  test('a message larger than frameBytesMax is dropped with a warning, not sent', async () => {
    const nodes = await cluster(['a', 'b'], { frameBytesMax: 8192 });
    const a = nodes.get('a')!;
    a.t.send([bigAppend('a', 'b', 10_000), hb('a', 'b', 1)]);
    await waitFor('the small one', () => nodes.get('b')!.got.length === 1);
    assert.equal(a.t.peerStats().get('b')!.drops, 1);
    assert.ok(a.lines.some((l) => l.level === 'warn' && l.msg.includes('frameBytesMax')));
  });
});

describe('peer transport: forwarding', () => {
  const req = (argv: string[], over: Partial<ForwardRequest> = {}): ForwardRequest => ({ db: 0, argv, mode: 2, readOnly: false, ackOnAppend: false, ...over });

  test('request and response, binary-safe, with the fields intact', async () => {
    const nodes = await cluster(['f', 'l']);
    const seen: [NodeId, ForwardRequest][] = [];
    nodes.get('l')!.t.onForward(async (from, r) => {
      seen.push([from, r]);
      return `$${r.argv[1]!.length}\r\n${r.argv[1]}\r\n`;
    });
    const binary = String.fromCharCode(...range(256));
    const f = nodes.get('f')!.t;
    const replies = await Promise.all([f.forward('l', req(['echo', binary], { db: 7, mode: 3, readOnly: true })), f.forward('l', req(['echo', 'x']))]);
    assert.deepStrictEqual(replies, [`$256\r\n${binary}\r\n`, '$1\r\nx\r\n']);
    assert.deepStrictEqual(seen[0], ['f', { db: 7, argv: ['echo', binary], mode: 3, readOnly: true, ackOnAppend: false }]);
    assert.equal(f.stats().forwardsPending, 0);
  });

  test('a failing handler rejects the caller with its text', async () => {
    const nodes = await cluster(['f', 'l']);
    nodes.get('l')!.t.onForward(() => Promise.reject(new Error('ERR not leader any more')));
    await assert.rejects(nodes.get('f')!.t.forward('l', req(['set', 'k', 'v'])), (e: unknown) => e instanceof ForwardError && e.reason === 'remote' && /not leader any more/.test(e.message));
  });

  test('no handler: a clear error, not a hang', async () => {
    const nodes = await cluster(['f', 'l']);
    await assert.rejects(nodes.get('f')!.t.forward('l', req(['get', 'k'])), /does not accept forwarded commands/);
  });

  test('times out when the leader does not answer', async () => {
    const nodes = await cluster(['f', 'l'], { forwardTimeoutMs: 150 });
    nodes.get('l')!.t.onForward(() => new Promise<string>(() => {}));
    const started = Date.now();
    await assert.rejects(nodes.get('f')!.t.forward('l', req(['get', 'k'])), (e: unknown) => e instanceof ForwardError && e.reason === 'timeout' && /timed out after 150 ms/.test(e.message));
    const took = Date.now() - started;
    assert.ok(took >= 145 && took < 1000, `took ${took} ms`);
  });

  test('fails fast when the connection drops', async () => {
    const nodes = await cluster(['f', 'l']);
    const l = nodes.get('l')!;
    let arrived = 0;
    l.t.onForward(() => {
      arrived++;
      return new Promise<string>(() => {});
    });
    const f = nodes.get('f')!.t;
    const pending = [f.forward('l', req(['get', 'a'])), f.forward('l', req(['get', 'b']))];
    await waitFor('requests at the leader', () => arrived === 2);
    const started = Date.now();
    await l.t.close();
    for (const p of pending) await assert.rejects(p, (e: unknown) => e instanceof ForwardError && e.reason === 'connectionLost');
    assert.ok(Date.now() - started < 1000);
  });

  test('fails fast when the leader is unreachable, and never runs a failed request later', async () => {
    const port = await closedPort();
    const f = await node('f', { peers: new Map([['l', { host: '127.0.0.1', port }]]), limits: { reconnectBackoffMinMs: 10, reconnectBackoffMaxMs: 20 } });
    await assert.rejects(f.t.forward('l', req(['set', 'k', 'v'])), (e: unknown) => e instanceof ForwardError && e.reason === 'notSent');
    const l = await node('l', { port, peers: new Map([['f', { host: '127.0.0.1', port: f.port }]]) });
    let ran = 0;
    l.t.onForward(async () => {
      ran++;
      return '+OK\r\n';
    });
    f.t.send([hb('f', 'l', 1)]);
    await waitFor('link up', () => l.got.length === 1);
    assert.equal(ran, 0);
    assert.equal(await f.t.forward('l', req(['set', 'k', 'v'])), '+OK\r\n');
  });

  test('a requester that stops reading replies is disconnected, not buffered without bound', async () => {
    const b = await node('b', { limits: { peerQueueBytesMax: 1 << 20 }, peers: new Map([['a', { host: '127.0.0.1', port: 1 }]]) });
    let served = 0;
    b.t.onForward(async () => {
      served++;
      return 'x'.repeat(1 << 20);
    });
    const s = await rawConnect(b.port);
    s.pause();
    s.write(encodeFrame(rawHandshake('a', 'b')));
    for (let id = 1; id <= 200; id++) s.write(encodeFrame({ kind: 'forwardRequest', id, req: req(['get', 'big']) }));
    await waitFor('the warning', () => b.lines.some((l) => l.msg === 'peer not reading forwarded replies; closing'), 10_000);
    await waitFor('the connection to go', () => b.t.stats().inboundConnections === 0);
    assert.ok(served > 0);
  });

  test('unknown peers and a closed transport are refused at once', async () => {
    const nodes = await cluster(['f', 'l']);
    const f = nodes.get('f')!.t;
    await assert.rejects(f.forward('nope', req(['get', 'k'])), (e: unknown) => e instanceof ForwardError && e.reason === 'unknownPeer');
    await f.close();
    await assert.rejects(f.forward('l', req(['get', 'k'])), (e: unknown) => e instanceof ForwardError && e.reason === 'closed');
  });

  test('removing a peer fails its pending requests and forgets it', async () => {
    const nodes = await cluster(['f', 'l']);
    let arrived = 0;
    nodes.get('l')!.t.onForward(() => {
      arrived++;
      return new Promise<string>(() => {});
    });
    const f = nodes.get('f')!.t;
    const sent = f.forward('l', req(['get', 'k']));
    await waitFor('the request at the leader', () => arrived === 1);
    const queued = f.forward('l', req(['get', 'k']));
    f.updatePeers(new Map());
    await assert.rejects(sent, (e: unknown) => e instanceof ForwardError && e.reason === 'connectionLost');
    await assert.rejects(queued, (e: unknown) => e instanceof ForwardError && e.reason === 'notSent');
    assert.equal(f.peerStats().size, 0);
    await sleep(20);
    assert.equal(arrived, 1, 'the queued request never ran');
  });
});

describe('peer transport: faults', () => {
  test('partition, drop and delay hooks act at runtime', async () => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    a.t.faults = { partitioned: (from, to) => from === 'a' && to === 'b' };
    a.t.send([hb('a', 'b', 0)]);
    await sleep(30);
    assert.equal(b.got.length, 0);
    assert.equal(a.t.peerStats().get('b')!.faultDrops, 1);

    // The receiving side can cut the link too.
    a.t.faults = null;
    b.t.faults = { partitioned: (from) => from === 'a' };
    a.t.send([hb('a', 'b', 1)]);
    await waitFor('dropped on arrival', () => b.t.peerStats().get('a')!.faultDrops === 1);
    assert.equal(b.got.length, 0);

    b.t.faults = null;
    a.t.faults = { drop: (_f, _t, m) => m.type === 'Heartbeat' && m.commit % 2 === 0 };
    a.t.send(range(10).map((i) => hb('a', 'b', i)));
    await waitFor('odd ones', () => b.got.length === 5);
    assert.deepStrictEqual(seqsFrom(b.got, 'a'), [1, 3, 5, 7, 9]);

    a.t.faults = { delayMs: () => 80 };
    const started = Date.now();
    a.t.send([hb('a', 'b', 100)]);
    await waitFor('delayed one', () => b.got.length === 6);
    assert.ok(Date.now() - started >= 75);
  });
});

describe('peer transport: throughput', () => {
  test('messages per second between two transports on loopback', async (t) => {
    const nodes = await cluster(['a', 'b']);
    const a = nodes.get('a')!;
    const b = nodes.get('b')!;
    a.t.send([hb('a', 'b', 0)]);
    await waitFor('warm-up', () => b.got.length === 1);

    // Count rather than keep: holding every decoded entry would measure the garbage collector.
    let received = 0;
    b.t.onMessage(() => received++);
    const measure = async (label: string, total: number, make: (i: number) => Message, batch: number) => {
      received = 0;
      const started = process.hrtime.bigint();
      for (let i = 0; i < total; i += batch) {
        const msgs: Message[] = [];
        for (let j = i; j < Math.min(total, i + batch); j++) msgs.push(make(j));
        a.t.send(msgs);
        await turn();
      }
      await waitFor(label, () => received === total, 20_000);
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      t.diagnostic(`${label}: ${Math.round(total / secs)} msgs/s (${total} in ${secs.toFixed(2)} s)`);
    };
    await measure('heartbeats, 1000 per turn', 100_000, (i) => hb('a', 'b', i), 1000);
    const data = new Uint8Array(100);
    const entries = range(64).map((i) => ({ index: i + 1, term: 1, type: 'normal' as const, data }));
    await measure('appends of 64 × 100-byte entries, 100 per turn', 10_000, () => ({ type: 'Append', from: 'a', to: 'b', term: 1, prevIndex: 0, prevTerm: 0, commit: 0, entries }), 100);
    assert.equal(a.t.peerStats().get('b')!.drops, 0);

    b.t.onForward(async () => '+OK\r\n');
    const n = 2000;
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await a.t.forward('b', { db: 0, argv: ['set', 'k', 'v'], mode: 2, readOnly: false, ackOnAppend: false });
    const usec = Number(process.hrtime.bigint() - started) / 1e3 / n;
    t.diagnostic(`sequential forwards: ${usec.toFixed(0)} µs per round trip`);
  });
});
