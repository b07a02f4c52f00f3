// Carries Raft messages and forwarded client commands between nodes over TCP.
//
// Each node dials one outbound connection per peer and sends everything for that
// peer on it; it receives on the connections peers dial to it. Forwarded commands
// ride the requester's outbound connection and their replies come back on the same
// socket, so a lost connection fails exactly the requests it carried.
//
// The leader must never wait on a follower: `send` only encodes and queues; the
// queue is flushed once per event-loop turn (one corked write per peer), holds a
// bounded number of bytes, and drops its oldest frames when a peer cannot keep up.
// Raft resends whatever is lost.

import assert from 'node:assert/strict';
import * as net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Message, NodeId } from '../../raft/types.js';
import { CodecError, FRAME_HEADER_BYTES, FrameReader, encodeFrame, encodeMessage } from './codec.js';
import type { ForwardRequest, Frame } from './codec.js';
import { FrameQueue } from './frame-queue.js';
import { REFUSED, REFUSED_NOT_A_PEER, handshakeProof, isNonce, newNonce, proofProblem, type HandshakeRole } from './peer-auth.js';
import type { QueuedFrame } from './frame-queue.js';

export type { ForwardRequest } from './codec.js';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/** The slice of pino the transport uses (a pino Logger fits). */
export interface TransportLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

const MiB = 1024 * 1024;

/** The same handshake rejection is logged at most this often (ms); the rest are counted. */
const repeatedWarningIntervalMs = 60_000;
/** Distinct rejections remembered; a flood of new ones only resets the memory. */
const repeatedWarningKeysMax = 1024;

export interface TransportLimits {
  /** Bytes queued for one peer and not yet handed to its socket; the oldest frames are dropped beyond it. */
  readonly peerQueueBytesMax: number;
  /** Largest frame payload accepted or sent: a whole snapshot chunk or append batch must fit. */
  readonly frameBytesMax: number;
  /** Bytes handed to one socket and not yet taken by the kernel; the rest waits in the queue, where it can be dropped. */
  readonly socketWriteBytesMax: number;
  readonly reconnectBackoffMinMs: number;
  readonly reconnectBackoffMaxMs: number;
  readonly connectTimeoutMs: number;
  /** Both sides must have sent their handshake within this time of connecting. */
  readonly handshakeTimeoutMs: number;
  readonly forwardTimeoutMs: number;
  /** Forwarded commands awaiting a reply, over all peers. */
  readonly forwardsPendingMax: number;
  /** Inbound connections that have not completed a handshake yet. */
  readonly unverifiedConnectionsMax: number;
}

export const defaultTransportLimits: TransportLimits = {
  peerQueueBytesMax: 64 * MiB,
  frameBytesMax: 512 * MiB + MiB,
  socketWriteBytesMax: 4 * MiB,
  reconnectBackoffMinMs: 50,
  reconnectBackoffMaxMs: 2000,
  connectTimeoutMs: 2000,
  handshakeTimeoutMs: 5000,
  forwardTimeoutMs: 5000,
  forwardsPendingMax: 100_000,
  unverifiedConnectionsMax: 64,
};

/** Until a peer has named itself, it may not make us buffer more than a handshake. */
const HANDSHAKE_FRAME_BYTES_MAX = 4096;
const KEEPALIVE_INITIAL_DELAY_MS = 5000;
/** Granularity of the shared forward-timeout sweep, as a fraction of the timeout, within bounds. */
const SWEEP_DIVISOR = 10;
const SWEEP_MIN_MS = 5;
const SWEEP_MAX_MS = 100;

/**
 * Fault injection for the chaos suite; null in production. Consulted on every
 * message, so the functions must be cheap. `drop` and `delayMs` act when sending;
 * `partitioned` is checked when sending and again when receiving, so either side
 * alone can cut a link.
 */
export interface TransportFaults {
  drop?(from: NodeId, to: NodeId, msg: Message): boolean;
  delayMs?(from: NodeId, to: NodeId): number;
  partitioned?(from: NodeId, to: NodeId): boolean;
}

export interface PeerStats {
  readonly peerId: NodeId;
  readonly address: string;
  /** The outbound connection is open and the peer's handshake was accepted. */
  readonly connected: boolean;
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
  readonly bytesReceived: number;
  /** Corked writes handed to the sockets (outbound flushes and inbound reply batches): the syscalls behind the messages. */
  readonly socketWrites: number;
  /** Messages dropped because the peer's queue was full or a frame was too large. */
  readonly drops: number;
  /** Messages dropped by injected faults. */
  readonly faultDrops: number;
  /** Dials after the first one. */
  readonly reconnects: number;
  /** Wall-clock ms of the last frame received from the peer; 0 = never. */
  readonly lastContactMs: number;
  readonly queueBytes: number;
  readonly queuedFrames: number;
  readonly socketBufferedBytes: number;
  readonly lastError: string | null;
}

export interface TransportStats {
  /** Connections closed for sending bytes that are not valid frames. */
  readonly protocolErrors: number;
  readonly handshakeRejects: number;
  /** Messages addressed to a node that is not a peer. */
  readonly unknownPeerDrops: number;
  readonly forwardsPending: number;
  readonly inboundConnections: number;
}

export interface PeerTransportOptions {
  readonly selfId: NodeId;
  readonly listenHost: string;
  /** 0 picks a free port; `start` returns the one chosen. */
  readonly listenPort: number;
  /** May include this node; it is skipped. */
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  readonly clusterId: string;
  /** Shared by every member; peers prove they hold it in the handshake (peer-auth.ts). Null: none. */
  readonly secret?: string | null;
  readonly log: TransportLog;
  readonly limits?: Partial<TransportLimits>;
  /** Jitter source for reconnect backoff (tests make it deterministic). */
  readonly random?: () => number;
}

export type MessageHandler = (msg: Message) => void;
export type ForwardHandler = (from: NodeId, req: ForwardRequest) => Promise<string>;

export type ForwardFailure = 'unknownPeer' | 'timeout' | 'connectionLost' | 'notSent' | 'queueFull' | 'overloaded' | 'tooLarge' | 'remote' | 'closed';

/**
 * Why a forwarded command has no reply. 'remote', 'timeout' and 'connectionLost' (the
 * request had been written) mean it may have run; every other reason means it never
 * left this node ('notSent': the connection failed while it was still queued).
 */
export class ForwardError extends Error {
  override readonly name = 'ForwardError';
  constructor(
    readonly reason: ForwardFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reconnect delay after `attempt` consecutive failures: doubling from min to max,
 * with equal jitter (half fixed so it still grows, half random so the nodes that
 * lost the same peer do not all redial in the same instant).
 */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  const delay = ceiling / 2 + (random() * ceiling) / 2;
  return Math.max(minMs, Math.min(maxMs, delay));
}

interface MutablePeerStats {
  messagesSent: number;
  bytesSent: number;
  messagesReceived: number;
  bytesReceived: number;
  socketWrites: number;
  drops: number;
  faultDrops: number;
  reconnects: number;
  lastContactMs: number;
  lastError: string | null;
}

function emptyPeerStats(): MutablePeerStats {
  return { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0, socketWrites: 0, drops: 0, faultDrops: 0, reconnects: 0, lastContactMs: 0, lastError: null };
}

/** Everything this node keeps about one peer: the outbound connection, its queue and the counters. */
class Peer {
  socket: net.Socket | null = null;
  reader: FrameReader | null = null;
  /** TCP is up (the handshake went out); frames wait for `verified`. */
  tcpOpen = false;
  /** The peer answered with the handshake we expected: frames may flow. */
  verified = false;
  /** The nonce of the handshake sent on this connection; the reply must echo it. */
  nonce = '';
  /** Consecutive failed dials, for backoff; reset by a verified handshake. */
  attempts = 0;
  dialed = false;
  nextDialAtMs = 0;
  dialTimer: NodeJS.Timeout | null = null;
  readonly queue = new FrameQueue();
  readonly stats = emptyPeerStats();

  constructor(
    readonly id: NodeId,
    public addr: PeerAddress,
  ) {}
}

/** A connection a peer dialled to us. */
interface Inbound {
  readonly socket: net.Socket;
  readonly reader: FrameReader;
  /** Set once the peer's handshake is accepted. */
  peer: NodeId | null;
  rejected: boolean;
  handshakeTimer: NodeJS.Timeout | null;
  /** Replies of one turn share a write: corked here, uncorked on the next tick. */
  corked: boolean;
}

interface PendingForward {
  readonly peer: NodeId;
  readonly deadlineMs: number;
  readonly resolve: (reply: string) => void;
  readonly reject: (err: ForwardError) => void;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class PeerTransport {
  readonly selfId: NodeId;
  readonly clusterId: string;
  private readonly secret: string | null;
  readonly limits: TransportLimits;
  faults: TransportFaults | null = null;

  private readonly log: TransportLog;
  private readonly random: () => number;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly peers = new Map<NodeId, Peer>();
  private readonly inbound = new Set<Inbound>();
  private readonly inboundByPeer = new Map<NodeId, Inbound>();
  private unverifiedInbound = 0;
  private server: net.Server | null = null;
  private closed = false;

  private messageHandler: MessageHandler = () => {};
  private forwardHandler: ForwardHandler | null = null;

  private readonly dirty = new Set<Peer>();
  private flushScheduled = false;
  private readonly delayTimers = new Set<NodeJS.Timeout>();

  private readonly pending = new Map<number, PendingForward>();
  private lastRequestId = 0;
  private sweepTimer: NodeJS.Timeout | null = null;

  private protocolErrors = 0;
  private handshakeRejects = 0;
  private unknownPeerDrops = 0;
  private readonly repeatedWarnings = new Map<string, { loggedAtMs: number; suppressed: number }>();

  constructor(opts: PeerTransportOptions) {
    this.selfId = opts.selfId;
    this.clusterId = opts.clusterId;
    this.secret = opts.secret === undefined || opts.secret === '' ? null : opts.secret;
    this.log = opts.log;
    this.random = opts.random ?? Math.random;
    this.listenHost = opts.listenHost;
    this.listenPort = opts.listenPort;
    this.limits = { ...defaultTransportLimits, ...opts.limits };
    const l = this.limits;
    assert.ok(l.reconnectBackoffMinMs > 0 && l.reconnectBackoffMinMs <= l.reconnectBackoffMaxMs, 'reconnect backoff: need 0 < min ≤ max');
    assert.ok(l.peerQueueBytesMax > 0 && l.socketWriteBytesMax > 0 && l.forwardTimeoutMs > 0, 'transport limits must be positive');
    assert.ok(l.frameBytesMax >= HANDSHAKE_FRAME_BYTES_MAX && l.frameBytesMax < 2 ** 32, 'frameBytesMax must fit a u32 frame length');
    this.setPeers(opts.peers);
  }

  // -------------------------------------------------------------------------
  // Public surface

  /** Listens on the peer port; resolves with the port actually bound. */
  start(): Promise<number> {
    assert.ok(this.server === null && !this.closed, 'transport already started or closed');
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: this.listenHost, port: this.listenPort }, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log.warn({ err: errorText(err) }, 'peer listener error'));
        const addr = server.address();
        assert.ok(addr !== null && typeof addr === 'object', 'peer listener has no address');
        resolve(addr.port);
      });
    });
  }

  onMessage(handler: MessageHandler): void {
    this.messageHandler = handler;
  }

  onForward(handler: ForwardHandler): void {
    this.forwardHandler = handler;
  }

  /** Queues messages for their peers; never blocks and never throws for an unreachable peer. */
  send(msgs: readonly Message[]): void {
    if (this.closed) return;
    for (let i = 0; i < msgs.length; i++) this.sendOne(msgs[i]!);
  }

  /** Runs a client command on `to` (the leader) and resolves with its reply, encoded in `req.mode`. */
  forward(to: NodeId, req: ForwardRequest): Promise<string> {
    if (this.closed) return Promise.reject(new ForwardError('closed', 'forward: transport closed'));
    const peer = this.peers.get(to);
    if (peer === undefined) return Promise.reject(new ForwardError('unknownPeer', `forward: ${to} is not a peer`));
    if (this.pending.size >= this.limits.forwardsPendingMax) {
      return Promise.reject(new ForwardError('overloaded', `forward: ${this.pending.size} requests already pending`));
    }
    const id = this.nextRequestId();
    const bytes = encodeFrame({ kind: 'forwardRequest', id, req });
    if (bytes.length - FRAME_HEADER_BYTES > this.limits.frameBytesMax) {
      return Promise.reject(new ForwardError('tooLarge', `forward: request of ${bytes.length} bytes exceeds frameBytesMax`));
    }
    return new Promise<string>((resolve, reject) => {
      this.pending.set(id, { peer: to, deadlineMs: performance.now() + this.limits.forwardTimeoutMs, resolve, reject });
      this.armSweep();
      // A partitioned request vanishes like a real one would: the caller sees the timeout.
      if (this.faults?.partitioned?.(this.selfId, to) === true) return;
      this.enqueue(peer, { bytes, kind: 'forward', requestId: id });
    });
  }

  /** Membership changed: dial new peers lazily, redial moved ones, forget removed ones. */
  updatePeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const p of [...this.peers.values()]) {
      const addr = peers.get(p.id);
      if (addr === undefined) this.removePeer(p);
      else if (addr.host !== p.addr.host || addr.port !== p.addr.port) this.movePeer(p, addr);
    }
    this.setPeers(peers);
  }

  peerStats(): Map<NodeId, PeerStats> {
    const out = new Map<NodeId, PeerStats>();
    for (const p of this.peers.values()) {
      out.set(p.id, {
        peerId: p.id,
        address: `${p.addr.host}:${p.addr.port}`,
        connected: p.verified,
        ...p.stats,
        queueBytes: p.queue.bytes,
        queuedFrames: p.queue.length,
        socketBufferedBytes: p.socket?.writableLength ?? 0,
      });
    }
    return out;
  }

  stats(): TransportStats {
    return {
      protocolErrors: this.protocolErrors,
      handshakeRejects: this.handshakeRejects,
      unknownPeerDrops: this.unknownPeerDrops,
      forwardsPending: this.pending.size,
      inboundConnections: this.inbound.size,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.delayTimers) clearTimeout(t);
    this.delayTimers.clear();
    if (this.sweepTimer !== null) clearInterval(this.sweepTimer);
    this.sweepTimer = null;
    this.failPending(() => true, 'closed', 'forward: transport closed');
    for (const p of this.peers.values()) this.disconnect(p);
    for (const c of this.inbound) c.socket.destroy();
    const server = this.server;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------
  // Sending

  private setPeers(peers: ReadonlyMap<NodeId, PeerAddress>): void {
    for (const [id, addr] of peers) {
      if (id === this.selfId || this.peers.has(id)) continue;
      this.peers.set(id, new Peer(id, { host: addr.host, port: addr.port }));
    }
  }

  private sendOne(m: Message): void {
    const peer = this.peers.get(m.to);
    if (peer === undefined) {
      this.unknownPeerDrops++;
      return;
    }
    const faults = this.faults;
    if (faults !== null) {
      if (faults.partitioned?.(this.selfId, m.to) === true || faults.drop?.(this.selfId, m.to, m) === true) {
        peer.stats.faultDrops++;
        return;
      }
      const delay = faults.delayMs?.(this.selfId, m.to) ?? 0;
      if (delay > 0) {
        this.sendLater(m, delay);
        return;
      }
    }
    this.enqueueMessage(peer, m);
  }

  private sendLater(m: Message, delayMs: number): void {
    const t = setTimeout(() => {
      this.delayTimers.delete(t);
      const peer = this.peers.get(m.to);
      if (peer !== undefined && !this.closed) this.enqueueMessage(peer, m);
    }, delayMs);
    this.delayTimers.add(t);
  }

  private enqueueMessage(peer: Peer, m: Message): void {
    const bytes = encodeMessage(m);
    if (bytes.length - FRAME_HEADER_BYTES > this.limits.frameBytesMax) {
      peer.stats.drops++;
      this.log.warn({ peer: peer.id, type: m.type, bytes: bytes.length }, 'peer message exceeds frameBytesMax; dropped');
      return;
    }
    this.enqueue(peer, { bytes, kind: m.type === 'Snapshot' ? 'snapshot' : 'raft', requestId: 0 });
  }

  private enqueue(peer: Peer, f: QueuedFrame): void {
    peer.queue.push(f);
    if (peer.queue.bytes > this.limits.peerQueueBytesMax) {
      peer.queue.trimTo(this.limits.peerQueueBytesMax, (d) => this.dropped(peer, d));
    }
    this.dirty.add(peer);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      // setImmediate, not a microtask: everything queued during this turn's I/O callbacks goes out in one write.
      setImmediate(this.flushDirty);
    }
  }

  private dropped(peer: Peer, f: QueuedFrame): void {
    peer.stats.drops++;
    if (f.kind === 'forward') this.settle(f.requestId, new ForwardError('queueFull', `forward: queue to ${peer.id} is full`));
  }

  private readonly flushDirty = (): void => {
    this.flushScheduled = false;
    for (const p of this.dirty) this.flush(p);
    this.dirty.clear();
  };

  private flush(peer: Peer): void {
    if (this.closed || peer.queue.length === 0) return;
    if (peer.socket === null) {
      this.dial(peer);
      return;
    }
    if (!peer.verified) return; // the handshake reply flushes
    const s = peer.socket;
    assert.ok(peer.tcpOpen, 'verified before the connection opened');
    let budget = this.limits.socketWriteBytesMax - s.writableLength;
    if (budget <= 0) return; // 'drain' flushes
    peer.stats.socketWrites++;
    s.cork();
    while (budget > 0) {
      const f = peer.queue.shift();
      if (f === undefined) break;
      s.write(f.bytes);
      budget -= f.bytes.length;
      peer.stats.messagesSent++;
      peer.stats.bytesSent += f.bytes.length;
    }
    s.uncork();
  }

  /** Our handshake to `to`, with a proof of the secret when we hold one. */
  private handshake(role: HandshakeRole, to: NodeId, nonce: string): Frame {
    const proof = this.secret === null ? '' : handshakeProof(this.secret, role, this.clusterId, this.selfId, to, nonce);
    return { kind: 'handshake', clusterId: this.clusterId, from: this.selfId, to, nonce, proof };
  }

  // -------------------------------------------------------------------------
  // Outbound connections

  private dial(peer: Peer): void {
    if (this.closed || peer.socket !== null || peer.dialTimer !== null) return;
    const wait = peer.nextDialAtMs - performance.now();
    if (wait > 0) {
      peer.dialTimer = setTimeout(this.dialLater, wait, peer);
      peer.dialTimer.unref();
      return;
    }
    if (peer.dialed) peer.stats.reconnects++;
    peer.dialed = true;
    let s: net.Socket;
    try {
      s = net.connect({ host: peer.addr.host, port: peer.addr.port });
    } catch (err) {
      // Only a malformed address throws here; treat it like an unreachable peer.
      peer.stats.lastError = errorText(err);
      this.scheduleRedial(peer);
      return;
    }
    peer.socket = s;
    peer.reader = new FrameReader(HANDSHAKE_FRAME_BYTES_MAX);
    s.setNoDelay(true);
    s.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    s.setTimeout(this.limits.connectTimeoutMs);
    s.on('connect', () => this.onConnect(peer, s));
    s.on('timeout', () => s.destroy(new Error(peer.tcpOpen ? 'handshake timed out' : 'connect timed out')));
    s.on('data', (chunk: Buffer) => this.onOutboundData(peer, s, chunk));
    s.on('drain', () => {
      if (peer.socket === s) this.flush(peer);
    });
    s.on('error', (err) => {
      peer.stats.lastError = errorText(err);
    });
    s.on('close', () => this.onOutboundClose(peer, s));
  }

  private readonly dialLater = (peer: Peer): void => {
    peer.dialTimer = null;
    if (this.peers.get(peer.id) === peer && peer.queue.length > 0) this.dial(peer);
  };

  private onConnect(peer: Peer, s: net.Socket): void {
    if (peer.socket !== s) return;
    peer.tcpOpen = true;
    s.setTimeout(this.limits.handshakeTimeoutMs);
    peer.nonce = newNonce();
    s.write(encodeFrame(this.handshake('dial', peer.id, peer.nonce)));
  }

  private onOutboundData(peer: Peer, s: net.Socket, chunk: Buffer): void {
    const reader = peer.reader;
    if (peer.socket !== s || reader === null) return;
    reader.push(chunk);
    while (peer.socket === s && !s.destroyed) {
      const f = this.nextFrame(reader, s, peer.id);
      if (f === null) return;
      this.noteReceived(peer, reader.lastFrameBytes, f.kind !== 'handshake');
      if (!peer.verified) this.verifyPeerHandshake(peer, s, reader, f);
      else if (f.kind === 'forwardResponse') this.settleResponse(peer, f.id, f.ok, f.body);
      else this.protocolError(s, peer.id, `unexpected ${f.kind} frame on an outbound connection`);
    }
  }

  private verifyPeerHandshake(peer: Peer, s: net.Socket, reader: FrameReader, f: Frame): void {
    if (f.kind !== 'handshake') {
      this.protocolError(s, peer.id, `expected a handshake, got ${f.kind}`);
      return;
    }
    const problem = f.clusterId !== this.clusterId
      ? `cluster id ${JSON.stringify(f.clusterId)} is not ours (${JSON.stringify(this.clusterId)})`
      : f.from !== peer.id
        ? `node at ${peer.addr.host}:${peer.addr.port} is ${JSON.stringify(f.from)}, expected ${JSON.stringify(peer.id)}`
        : f.to !== this.selfId
          ? `peer took us for ${JSON.stringify(f.to)}`
          : f.nonce !== peer.nonce
            ? 'the reply does not echo our nonce'
            : f.proof === REFUSED
              ? 'the peer refused our handshake (its log says why)'
              : f.proof === REFUSED_NOT_A_PEER
                ? `${JSON.stringify(peer.id)} does not count this node as a member: was it removed from the cluster, or not added yet? (CLUSTER NODES on a member shows the membership)`
                : proofProblem(this.secret, f.proof, () => handshakeProof(this.secret!, 'accept', this.clusterId, peer.id, this.selfId, f.nonce));
    if (problem !== null) {
      this.handshakeRejects++;
      this.warnRepeated(`dial ${peer.id} ${problem}`, { peer: peer.id, reason: problem }, 'peer handshake rejected');
      peer.stats.lastError = `handshake rejected: ${problem}`;
      s.destroy();
      return;
    }
    peer.verified = true;
    peer.attempts = 0;
    peer.stats.lastError = null;
    reader.frameBytesMax = this.limits.frameBytesMax;
    s.setTimeout(0);
    this.log.info({ peer: peer.id, address: `${peer.addr.host}:${peer.addr.port}` }, 'peer connected');
    this.flush(peer);
  }

  private onOutboundClose(peer: Peer, s: net.Socket): void {
    if (peer.socket !== s) return;
    const wasVerified = peer.verified;
    this.resetConnection(peer);
    this.failPeerForwards(peer, 'connectionLost', `forward: connection to ${peer.id} lost`);
    if (wasVerified) this.log.info({ peer: peer.id, err: peer.stats.lastError }, 'peer connection lost');
    else if (peer.attempts === 0) this.log.info({ peer: peer.id, err: peer.stats.lastError }, 'peer unreachable; retrying with backoff');
    else this.log.debug({ peer: peer.id, err: peer.stats.lastError, attempts: peer.attempts }, 'peer dial failed');
    this.scheduleRedial(peer);
  }

  private scheduleRedial(peer: Peer): void {
    const l = this.limits;
    peer.nextDialAtMs = performance.now() + backoffDelayMs(peer.attempts, l.reconnectBackoffMinMs, l.reconnectBackoffMaxMs, this.random);
    peer.attempts++;
    if (peer.queue.length > 0) this.dial(peer);
  }

  private resetConnection(peer: Peer): void {
    peer.socket = null;
    peer.reader = null;
    peer.tcpOpen = false;
    peer.verified = false;
  }

  /** Drops the outbound connection and any redial; the queue stays. */
  private disconnect(peer: Peer): void {
    if (peer.dialTimer !== null) clearTimeout(peer.dialTimer);
    peer.dialTimer = null;
    const s = peer.socket;
    this.resetConnection(peer);
    s?.destroy();
  }

  private removePeer(peer: Peer): void {
    this.disconnect(peer);
    this.peers.delete(peer.id);
    this.dirty.delete(peer);
    this.failPeerForwards(peer, 'connectionLost', `forward: ${peer.id} left the cluster`);
    peer.queue.clear();
    this.inboundByPeer.get(peer.id)?.socket.destroy();
    this.log.info({ peer: peer.id }, 'peer removed');
  }

  private movePeer(peer: Peer, addr: PeerAddress): void {
    this.disconnect(peer);
    this.failPeerForwards(peer, 'connectionLost', `forward: ${peer.id} moved`);
    peer.addr = { host: addr.host, port: addr.port };
    peer.attempts = 0;
    peer.nextDialAtMs = 0;
    if (peer.queue.length > 0) this.dial(peer);
  }

  // -------------------------------------------------------------------------
  // Inbound connections

  private accept(s: net.Socket): void {
    if (this.closed || this.unverifiedInbound >= this.limits.unverifiedConnectionsMax) {
      s.destroy();
      return;
    }
    const c: Inbound = { socket: s, reader: new FrameReader(HANDSHAKE_FRAME_BYTES_MAX), peer: null, rejected: false, handshakeTimer: null, corked: false };
    this.inbound.add(c);
    this.unverifiedInbound++;
    c.handshakeTimer = setTimeout(() => {
      this.log.warn({ remote: s.remoteAddress }, 'peer handshake timed out');
      s.destroy();
    }, this.limits.handshakeTimeoutMs);
    s.setNoDelay(true);
    s.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    s.on('data', (chunk: Buffer) => this.onInboundData(c, chunk));
    s.on('error', () => {}); // 'close' follows and does the cleanup
    s.on('close', () => this.onInboundClose(c));
  }

  private onInboundData(c: Inbound, chunk: Buffer): void {
    if (c.rejected) return;
    c.reader.push(chunk);
    while (!c.socket.destroyed && !c.rejected) {
      const f = this.nextFrame(c.reader, c.socket, c.peer);
      if (f === null) return;
      if (c.peer === null) {
        this.acceptHandshake(c, f);
        continue;
      }
      const peer = this.peers.get(c.peer);
      if (peer !== undefined) this.noteReceived(peer, c.reader.lastFrameBytes, true);
      if (f.kind === 'message') this.deliver(c, f.msg);
      else if (f.kind === 'forwardRequest') this.serveForward(c, f.id, f.req);
      else this.protocolError(c.socket, c.peer, `unexpected ${f.kind} frame on an inbound connection`);
    }
  }

  private acceptHandshake(c: Inbound, f: Frame): void {
    if (f.kind !== 'handshake') {
      this.protocolError(c.socket, null, `expected a handshake, got ${f.kind}`);
      return;
    }
    const notAPeer = f.clusterId === this.clusterId && f.to === this.selfId && !this.peers.has(f.from);
    const problem = f.clusterId !== this.clusterId
      ? `cluster id ${JSON.stringify(f.clusterId)} is not ours (${JSON.stringify(this.clusterId)})`
      : f.to !== this.selfId
        ? `addressed to ${JSON.stringify(f.to)}, this node is ${JSON.stringify(this.selfId)}`
        : notAPeer
          ? `${JSON.stringify(f.from)} is not a peer of this node`
          : !isNonce(f.nonce)
            ? 'malformed nonce'
            : proofProblem(this.secret, f.proof, () => handshakeProof(this.secret!, 'dial', f.clusterId, f.from, f.to, f.nonce));
    // Our proof answers theirs; a refused dialer is told so, and gets none. Not being a
    // peer is said outright: the dialer was most likely removed and should be stopped.
    const refusal = notAPeer ? REFUSED_NOT_A_PEER : REFUSED;
    const reply = encodeFrame(
      problem === null ? this.handshake('accept', f.from, f.nonce) : { kind: 'handshake', clusterId: this.clusterId, from: this.selfId, to: f.from, nonce: f.nonce, proof: refusal },
    );
    if (problem !== null) {
      this.handshakeRejects++;
      this.warnRepeated(`accept ${f.from} ${problem}`, { from: f.from, remote: c.socket.remoteAddress, reason: problem }, 'peer handshake rejected');
      c.rejected = true;
      // Our own handshake first, so the dialer can log the mismatch from its side too.
      c.socket.end(reply);
      return;
    }
    if (c.handshakeTimer !== null) clearTimeout(c.handshakeTimer);
    c.handshakeTimer = null;
    this.unverifiedInbound--;
    c.peer = f.from;
    c.reader.frameBytesMax = this.limits.frameBytesMax;
    // A peer redials after losing its connection; the old one is dead or dying.
    this.inboundByPeer.get(f.from)?.socket.destroy();
    this.inboundByPeer.set(f.from, c);
    const peer = this.peers.get(f.from);
    if (peer !== undefined) peer.stats.lastContactMs = Date.now();
    c.socket.write(reply);
  }

  private deliver(c: Inbound, msg: Message): void {
    if (msg.from !== c.peer || msg.to !== this.selfId) {
      this.protocolError(c.socket, c.peer, `message from ${msg.from} to ${msg.to} on ${c.peer}'s connection`);
      return;
    }
    if (this.faults?.partitioned?.(msg.from, this.selfId) === true) {
      const peer = this.peers.get(msg.from);
      if (peer !== undefined) peer.stats.faultDrops++;
      return;
    }
    this.messageHandler(msg);
  }

  private onInboundClose(c: Inbound): void {
    this.inbound.delete(c);
    if (c.handshakeTimer !== null) clearTimeout(c.handshakeTimer);
    if (c.peer === null) this.unverifiedInbound--;
    else if (this.inboundByPeer.get(c.peer) === c) this.inboundByPeer.delete(c.peer);
    assert.ok(this.unverifiedInbound >= 0, 'unverified inbound count went negative');
  }

  // -------------------------------------------------------------------------
  // Forwarding: serving side

  private serveForward(c: Inbound, id: number, req: ForwardRequest): void {
    const handler = this.forwardHandler;
    const from = c.peer!;
    if (handler === null) {
      this.respond(c, id, false, `ERR ${this.selfId} does not accept forwarded commands`);
      return;
    }
    let reply: Promise<string>;
    try {
      reply = handler(from, req);
    } catch (err) {
      reply = Promise.reject(err);
    }
    reply.then(
      (body) => this.respond(c, id, true, body),
      (err: unknown) => this.respond(c, id, false, errorText(err)),
    );
  }

  private respond(c: Inbound, id: number, ok: boolean, body: string): void {
    const s = c.socket;
    if (s.destroyed || this.closed) return;
    let bytes = encodeFrame({ kind: 'forwardResponse', id, ok, body });
    if (bytes.length - FRAME_HEADER_BYTES > this.limits.frameBytesMax) {
      bytes = encodeFrame({ kind: 'forwardResponse', id, ok: false, body: `reply of ${body.length} bytes exceeds the peer frame limit` });
    }
    if (s.writableLength > this.limits.peerQueueBytesMax) {
      // The requester stopped reading; its pending requests fail when this closes.
      // (Checked before adding the reply, so one reply larger than the bound still goes.)
      this.log.warn({ peer: c.peer, buffered: s.writableLength }, 'peer not reading forwarded replies; closing');
      s.destroy();
      return;
    }
    const peer = c.peer === null ? undefined : this.peers.get(c.peer);
    if (!c.corked) {
      c.corked = true;
      s.cork();
      process.nextTick(uncorkInbound, c);
      if (peer !== undefined) peer.stats.socketWrites++;
    }
    s.write(bytes);
    if (peer !== undefined) {
      peer.stats.messagesSent++;
      peer.stats.bytesSent += bytes.length;
    }
  }

  // -------------------------------------------------------------------------
  // Forwarding: requesting side

  private nextRequestId(): number {
    // Ids are u32 on the wire; pending is bounded far below 2^32, so a free one is near.
    do this.lastRequestId = (this.lastRequestId + 1) >>> 0;
    while (this.lastRequestId === 0 || this.pending.has(this.lastRequestId));
    return this.lastRequestId;
  }

  private settleResponse(peer: Peer, id: number, ok: boolean, body: string): void {
    const p = this.pending.get(id);
    // Absent: it timed out already. Another peer's id: a confused peer; ignore the reply.
    if (p === undefined || p.peer !== peer.id) return;
    this.pending.delete(id);
    if (ok) p.resolve(body);
    else p.reject(new ForwardError('remote', `forward to ${peer.id} failed: ${body}`));
  }

  private settle(id: number, err: ForwardError): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    p.reject(err);
  }

  private failPeerForwards(peer: Peer, reason: ForwardFailure, message: string): void {
    // Queued requests must not run after their caller was told they failed.
    peer.queue.removeWhere(
      (f) => f.kind === 'forward',
      (f) => this.settle(f.requestId, new ForwardError('notSent', `${message} (the request was never sent)`)),
    );
    this.failPending((p) => p.peer === peer.id, reason, message);
  }

  private failPending(pred: (p: PendingForward) => boolean, reason: ForwardFailure, message: string): void {
    for (const [id, p] of this.pending) {
      if (!pred(p)) continue;
      this.pending.delete(id);
      p.reject(new ForwardError(reason, message));
    }
  }

  /** One shared timer while requests are pending, rather than one per request. */
  private armSweep(): void {
    if (this.sweepTimer !== null) return;
    const every = Math.min(SWEEP_MAX_MS, Math.max(SWEEP_MIN_MS, Math.floor(this.limits.forwardTimeoutMs / SWEEP_DIVISOR)));
    this.sweepTimer = setInterval(this.sweep, every);
    this.sweepTimer.unref();
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    // Insertion order is deadline order: every request gets the same timeout.
    for (const [id, p] of this.pending) {
      if (p.deadlineMs > now) break;
      this.pending.delete(id);
      p.reject(new ForwardError('timeout', `forward to ${p.peer} timed out after ${this.limits.forwardTimeoutMs} ms`));
    }
    if (this.pending.size === 0 && this.sweepTimer !== null) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = null;
    }
  };

  // -------------------------------------------------------------------------
  // Shared by both directions

  /** The next frame, or null; a malformed one closes the connection (and yields null). */
  private nextFrame(reader: FrameReader, s: net.Socket, peer: NodeId | null): Frame | null {
    try {
      return reader.next();
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      this.protocolError(s, peer, err.message);
      return null;
    }
  }

  private protocolError(s: net.Socket, peer: NodeId | null, reason: string): void {
    this.protocolErrors++;
    this.log.warn({ peer, remote: s.remoteAddress, reason }, 'peer protocol error; closing connection');
    s.destroy();
  }

  /**
   * A warning that a misconfigured or removed node would repeat at every redial: logged
   * the first time, then at most once a minute per `key`, with how many were held back.
   */
  private warnRepeated(key: string, obj: Record<string, unknown>, msg: string): void {
    const now = performance.now();
    const seen = this.repeatedWarnings.get(key);
    if (seen !== undefined && now - seen.loggedAtMs < repeatedWarningIntervalMs) {
      seen.suppressed++;
      return;
    }
    if (this.repeatedWarnings.size >= repeatedWarningKeysMax) this.repeatedWarnings.clear();
    this.repeatedWarnings.set(key, { loggedAtMs: now, suppressed: 0 });
    this.log.warn(seen !== undefined && seen.suppressed > 0 ? { ...obj, repeatsSinceLastLogged: seen.suppressed } : obj, msg);
  }

  private noteReceived(peer: Peer, bytes: number, countMessage: boolean): void {
    peer.stats.lastContactMs = Date.now();
    peer.stats.bytesReceived += bytes;
    if (countMessage) peer.stats.messagesReceived++;
  }
}

function uncorkInbound(c: Inbound): void {
  c.corked = false;
  if (!c.socket.destroyed) c.socket.uncork();
}
