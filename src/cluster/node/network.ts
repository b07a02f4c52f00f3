// What the node runtime needs of the peer transport (src/cluster/transport's
// PeerTransport has this shape), and an in-process network with the same contract for
// tests that run several nodes in one process.

import type { Logger } from 'pino';
import type { ReplyMode } from '../../protocol/reply.js';
import type { Message, NodeId } from '../../raft/types.js';
import { ForwardError, PeerTransport, type PeerStats } from '../transport/peer-transport.js';
import type { PeerAddress } from './peers.js';

/** A client command carried from a follower to the leader. */
export interface ForwardRequest {
  readonly db: number;
  readonly argv: readonly string[];
  /** The mode the reply is encoded in. */
  readonly mode: ReplyMode;
  /** A cluster request answered by the leader itself, not a write. */
  readonly readOnly: boolean;
  /** A write of an `eventual` client: answered once the leader has appended it. */
  readonly ackOnAppend: boolean;
}

export interface PeerEndpoint {
  readonly host: string;
  readonly port: number;
}

/** The transport's counters for one peer that INFO and CLUSTER NODES show. */
export type PeerLinkStats = Pick<
  PeerStats,
  'connected' | 'lastContactMs' | 'messagesSent' | 'bytesSent' | 'messagesReceived' | 'bytesReceived' | 'socketWrites' | 'drops' | 'reconnects' | 'queueBytes'
>;

export interface PeerNetwork {
  /** Listens for peers; resolves to the bound peer port. */
  start(): Promise<number>;
  /** Never blocks and never throws for an unreachable peer: Raft tolerates loss. */
  send(msgs: readonly Message[]): void;
  onMessage(handler: (msg: Message) => void): void;
  forward(to: NodeId, req: ForwardRequest): Promise<string>;
  /** Whether a failed forward certainly never reached the peer (so retrying cannot run it twice). */
  forwardNotSent(err: unknown): boolean;
  onForward(handler: (from: NodeId, req: ForwardRequest) => Promise<string>): void;
  updatePeers(peers: ReadonlyMap<NodeId, PeerEndpoint>): void;
  /** Per-peer link state for INFO and CLUSTER NODES, when the transport keeps it. */
  linkStats?(peer: NodeId): PeerLinkStats | undefined;
  close(): Promise<void>;
}

/**
 * Nodes of one process exchanging messages through a hub, asynchronously (one macrotask
 * later, like a socket) and in order per pair. A node can be cut off (`isolate`) to
 * simulate a crash or partition: its traffic, both ways, is dropped.
 */
export class LocalHub {
  private readonly nodes = new Map<NodeId, LocalNetwork>();
  private readonly isolated = new Set<NodeId>();

  connect(id: NodeId): LocalNetwork {
    const net = new LocalNetwork(this, id);
    this.nodes.set(id, net);
    return net;
  }

  isolate(id: NodeId, cut: boolean): void {
    if (cut) this.isolated.add(id);
    else this.isolated.delete(id);
  }

  reachable(from: NodeId, to: NodeId): LocalNetwork | undefined {
    if (this.isolated.has(from) || this.isolated.has(to)) return undefined;
    const n = this.nodes.get(to);
    return n !== undefined && !n.closed ? n : undefined;
  }

  remove(net: LocalNetwork): void {
    if (this.nodes.get(net.id) === net) this.nodes.delete(net.id);
  }
}

export class LocalNetwork implements PeerNetwork {
  closed = false;
  private messageHandler: (msg: Message) => void = () => {};
  private forwardHandler: (from: NodeId, req: ForwardRequest) => Promise<string> = () => Promise.reject(new Error('no forward handler'));

  constructor(
    private readonly hub: LocalHub,
    readonly id: NodeId,
  ) {}

  start(): Promise<number> {
    return Promise.resolve(0);
  }

  send(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const to = this.hub.reachable(this.id, m.to);
      if (to === undefined) continue;
      setImmediate(() => {
        if (this.hub.reachable(this.id, m.to) === to) to.messageHandler(m);
      });
    }
  }

  onMessage(handler: (msg: Message) => void): void {
    this.messageHandler = handler;
  }

  forward(to: NodeId, req: ForwardRequest): Promise<string> {
    const peer = this.hub.reachable(this.id, to);
    if (peer === undefined) return Promise.reject(new Error(`peer ${to} is not connected`));
    return new Promise((resolve, reject) => {
      setImmediate(() => {
        peer.forwardHandler(this.id, { ...req, argv: [...req.argv] }).then((r) => {
          if (this.hub.reachable(this.id, to) === peer) resolve(r);
          else reject(new Error(`connection to ${to} lost`));
        }, reject);
      });
    });
  }

  onForward(handler: (from: NodeId, req: ForwardRequest) => Promise<string>): void {
    this.forwardHandler = handler;
  }

  forwardNotSent(err: unknown): boolean {
    return err instanceof Error && err.message.endsWith('is not connected');
  }

  updatePeers(): void {}

  close(): Promise<void> {
    this.closed = true;
    this.hub.remove(this);
    return Promise.resolve();
  }
}

/** The TCP transport (src/cluster/transport) as the runtime's network. */
export class TransportNetwork implements PeerNetwork {
  readonly transport: PeerTransport;

  /** `secret`: the cluster secret every member shares ('' or null: none). */
  constructor(self: PeerAddress, peers: readonly PeerAddress[], log: Logger, secret: string | null = null) {
    const map = new Map<NodeId, PeerEndpoint>();
    for (const p of peers) if (p.id !== self.id) map.set(p.id, { host: p.host, port: p.peerPort });
    this.transport = new PeerTransport({
      selfId: self.id,
      // Peers reach this node at the address the list gives it.
      listenHost: self.host,
      listenPort: self.peerPort,
      peers: map,
      clusterId: 'keymesh',
      secret,
      log,
    });
  }

  start(): Promise<number> {
    return this.transport.start();
  }

  send(msgs: readonly Message[]): void {
    this.transport.send(msgs);
  }

  onMessage(handler: (msg: Message) => void): void {
    this.transport.onMessage(handler);
  }

  forward(to: NodeId, req: ForwardRequest): Promise<string> {
    return this.transport.forward(to, req);
  }

  onForward(handler: (from: NodeId, req: ForwardRequest) => Promise<string>): void {
    this.transport.onForward(handler);
  }

  forwardNotSent(err: unknown): boolean {
    // A lost connection may have carried the request already: only these never left.
    return err instanceof ForwardError && (err.reason === 'unknownPeer' || err.reason === 'queueFull' || err.reason === 'overloaded' || err.reason === 'closed');
  }

  updatePeers(peers: ReadonlyMap<NodeId, PeerEndpoint>): void {
    this.transport.updatePeers(peers);
  }

  linkStats(peer: NodeId): PeerLinkStats | undefined {
    return this.transport.peerStats().get(peer);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
