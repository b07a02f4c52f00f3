// The Raft node runtime: drives the pure core (src/raft) with a timer, the peer network
// and the disk, and is the node's WritePath when it runs in a cluster.
//
// One Ready at a time, in the order its contract asks: persist entries and hard state
// (fsynced with appendfsync always; with everysec they reach the OS only, so `strong`
// then relies on a majority not losing power at the same moment), send its messages,
// apply committed entries through the state machine (replying to the client that
// proposed each one), serve read states, advance.
//
// Writes: the leader proposes LogCommand bytes; a follower forwards the (already
// deterministic) command to the leader and relays the reply. With no leader known a
// write waits up to `clusterWaitMs`, then gets a CLUSTERDOWN error saying why. A write's
// reply is made when its entry applies; if the entry at its index turns out to be of
// another term, a new leader replaced it and it was not applied: the client is told so.
// One exception, the `eventual` level's (DESIGN.md): a write whose reply cannot depend on
// the keyspace (SET without NX/XX/GET, SETEX, PSETEX, MSET) is answered `OK` as soon as
// the leader has persisted its entry under the fsync policy, before commit; it then
// applies with no one to reply to, and if a new leader replaces it, it is lost (the
// client already has its OK). Each client's replies still leave in request order, so an
// early write waits behind its client's earlier writes that wait for apply.
//
// Reads pass a gate before they run (see readGate): strong asks for a read index (the
// leader confirms it with a heartbeat round, followers ask the leader), quorum waits
// until the node applied what the connection already saw, eventual reads at once.

import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { replyIndependentOfKeyspace } from '../commands/keyspace-independent-reply.js';
import type { LogCommand } from '../commands/types.js';
import { Reply, type ReplyMode } from '../protocol/reply.js';
import { RaftNode, defaultRaftConfig, SeededRandom, applyConfChange, decodeConfChange, isVoter } from '../raft/index.js';
import type { ConfState, Entry, Message, NodeId, Ready, Role, Snapshot, SoftState } from '../raft/types.js';
import { removeSnapshotTemps, retain } from '../storage/snapshot-file.js';
import { prescanWal } from '../storage/wal-prescan.js';
import { installSnapshot, loadNewestSnapshot, writeSnapshot } from './node/snapshots.js';
import { materializeInBackground } from './keyspace-snapshot.js';
import { ClientState } from '../server/client-state.js';
import { DataDirLock } from '../storage/lock.js';
import type { WalFileSystem } from '../storage/wal.js';
import type { FsyncPolicy } from './durable-write-path.js';
import type { Expirer } from './expirer.js';
import { decodeLogCommand, encodeLogCommand } from './log-codec.js';
import { formatPeer, parsePeer, type PeerAddress } from './node/peers.js';
import { AppliedWaits, ReadIndexRequests } from './node/read-waits.js';
import { clusterInfoText, clusterNodesText, replicationFields, type InfoField, type NodeReport } from './node/status-report.js';
import type { ForwardRequest, PeerEndpoint, PeerNetwork } from './node/network.js';
import { RaftLogStorage } from './raft-log-storage.js';
import type { StateMachine } from './state-machine.js';
import type { ReplySink, WritePath } from './write-path.js';

import type { ConsistencyLevel } from './consistency.js';

export type { ConsistencyLevel };

export interface ClusterNodeOptions {
  readonly self: PeerAddress;
  readonly peers: readonly PeerAddress[];
  readonly dir: string;
  readonly fsync: () => FsyncPolicy;
  readonly repair: boolean;
  readonly tickMs: number;
  /**
   * Serve linearizable reads on the leader from a lease instead of a heartbeat round
   * (see RaftConfig.leaseReads for the clock-drift bound it relies on).
   */
  readonly leaseReads?: boolean;
  /** Start empty and wait to be added (CLUSTER ADDNODE) instead of bootstrapping from `peers`. */
  readonly join: boolean;
  /** Snapshot (and compact the log) once applied entries since the last one reach this many bytes. */
  readonly snapshotThresholdBytes: () => number;
  readonly defaultConsistency: () => ConsistencyLevel;
  readonly sm: StateMachine;
  readonly expirer: Expirer;
  readonly network: PeerNetwork;
  readonly log: Logger;
  /** Wall clock, Unix ms: stamps entries proposed for followers. */
  readonly clock: () => number;
  readonly walFs?: WalFileSystem;
}

/** Per connection: its level (null: the node's) and the indexes it has seen. */
interface Session {
  level: ConsistencyLevel | null;
  /** Highest applied index this connection observed (its writes and strong reads). */
  observed: number;
  /** Index of its last write, for WAIT. */
  lastWrite: number;
}

/** A write proposed here, not yet answered. */
interface Pending {
  readonly index: number;
  readonly term: number;
  readonly sink: ReplySink;
  /**
   * Answered once this node has appended its entry (an `eventual` write whose reply
   * cannot depend on the keyspace), not when it applies.
   */
  readonly early: boolean;
  /** The reply mode when it was proposed: the early reply is written in it. */
  readonly mode: ReplyMode;
  /** Its entry is in this node's log under the fsync policy: an early write may be answered. */
  appended: boolean;
}

interface AwaitingLeader {
  readonly cmd: LogCommand;
  readonly sink: ReplySink;
  readonly deadlineMs: number;
}

/**
 * One client's writes not yet answered, by the path each took. Its replies must leave in
 * the order of its requests, so a write never overtakes one waiting for a leader, never
 * takes a different path than writes still in flight, and forwarded replies are handed
 * over in order (`tail`).
 */
interface SinkWrites {
  /** Proposed here, in proposal (and so index) order: replies leave from the head. */
  local: Pending[];
  forwarded: number;
  awaiting: number;
  tail: Promise<void>;
}

type ForwardResult = { readonly text: string } | { readonly err: unknown };

/** Election timeout and heartbeat, in ticks (about 0.5–1 s and 100 ms at the default 50 ms tick). */
const electionTimeoutTicks = 10;
const heartbeatIntervalTicks = 2;
/** Most ticks one timer callback catches up (two election timeouts). */
const maxCatchUpTicks = 2 * electionTimeoutTicks;

/** How many election timeouts a client waits for a leader (or a read index) before CLUSTERDOWN. */
const clusterWaitElections = 4;
/** Snapshot files kept: the newest, and one to fall back to (the log is kept from it on). */
const snapshotsKept = 2;
/** A forwarded WAIT must finish within the transport's forward timeout (5 s by default). */
const forwardedWaitMaxMs = 4000;

/** A forwarded write's reply on the leader: collected, then handed back to the transport. */
class ForwardSink implements ReplySink {
  readonly reply: Reply;
  index = 0;
  constructor(
    mode: ReplyMode,
    /** The follower asked for the reply once the entry is appended (an `eventual` client's write). */
    readonly early: boolean,
    private readonly done: (text: string) => void,
  ) {
    this.reply = new Reply(mode);
  }
  replyReady(): void {
    this.done(`A:${this.index}:${this.reply.out}`);
  }
}

/** The leader's answer to a forward: applied at index with this reply, or "ask again". */
function parseForwardAnswer(text: string): { index: number; reply: string } | null {
  if (!text.startsWith('A:')) return null;
  const colon = text.indexOf(':', 2);
  return { index: Number(text.slice(2, colon)), reply: text.slice(colon + 1) };
}

const notLeaderAnswer = 'R:';


/**
 * A log entry that tells every member where a node added with CLUSTER ADDNODE listens
 * (the membership change itself carries only its id). Handled here, never by a command.
 */
const peerAddressEntry = 'cluster-peer';

/** The start-up list plus addresses learned from a snapshot (members added later). */
function mergePeers(peers: readonly PeerAddress[], learned: readonly string[]): PeerAddress[] {
  const byId = new Map(peers.map((p) => [p.id, p]));
  for (const text of learned) {
    try {
      const p = parsePeer(text);
      if (!byId.has(p.id)) byId.set(p.id, p);
    } catch {
      // A malformed entry cannot come from our own writer; skip rather than refuse to start.
    }
  }
  return [...byId.values()];
}

function clientOf(sink: ReplySink): ClientState | null {
  const c = (sink as { client?: unknown }).client;
  return c instanceof ClientState ? c : null;
}

export class ClusterNode implements WritePath {
  readonly id: NodeId;
  private readonly raft: RaftNode;
  private readonly sm: StateMachine;
  private readonly net: PeerNetwork;
  private readonly log: Logger;
  private readonly addresses = new Map<NodeId, PeerAddress>();
  private readonly sessions = new WeakMap<ClientState, Session>();
  private readonly pending = new Map<number, Pending>();
  private awaitingLeader: AwaitingLeader[] = [];
  private readonly sinkWrites = new Map<ReplySink, SinkWrites>();
  private readonly appliedWaits: AppliedWaits;
  private readonly reads: ReadIndexRequests;
  private soft: SoftState = { role: 'follower', leaderId: null, term: 0 };
  private tickTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last tick accounted for. */
  private lastTickMs = 0;
  private syncTimer: NodeJS.Timeout | undefined;
  private scheduled = false;
  private inReady = false;
  private closed = false;
  /** Set when the log failed: the node stops taking part and refuses writes. */
  private failure: string | null = null;
  /** When this node last stopped leading (performance.now()); null while it leads or never led. */
  private leadershipLostAtMs: number | null = null;
  readonly clusterWaitMs: number;
  private readonly electionTimeoutMs: number;
  /** Statistics for INFO. */
  forwardedWrites = 0;
  /** Writes answered when this node appended them, before commit (`eventual`). */
  earlyAckedWrites = 0;
  leaderChanges = 0;
  snapshotsTaken = 0;
  snapshotsInstalled = 0;
  /** Membership as of the applied index: what a snapshot records. */
  private appliedConf: ConfState;
  private bytesSinceSnapshot = 0;
  /** Unix ms of the last snapshot (LASTSAVE), or of start-up. */
  lastSaveMs: number;
  private snapshotting: Promise<void> | null = null;
  /** A snapshot from the leader is replacing the keyspace. */
  private installing = false;

  private constructor(
    private readonly opts: ClusterNodeOptions,
    private readonly storage: RaftLogStorage,
    private readonly lock: DataDirLock,
  ) {
    this.appliedConf = storage.snapshot().meta.confState;
    this.lastSaveMs = opts.clock();
    this.id = opts.self.id;
    this.sm = opts.sm;
    this.net = opts.network;
    this.log = opts.log;
    for (const p of opts.peers) this.addresses.set(p.id, p);
    this.electionTimeoutMs = electionTimeoutTicks * opts.tickMs;
    this.clusterWaitMs = Math.max(1000, clusterWaitElections * 2 * this.electionTimeoutMs);
    const cfg = {
      ...defaultRaftConfig(this.id, new SeededRandom(randomInt(0x7fffffff))),
      electionTimeoutTicks,
      heartbeatIntervalTicks,
      leaseReads: opts.leaseReads ?? false,
    };
    this.raft = new RaftNode(cfg, storage);
    storage.onBackgroundError = (err) => this.fail(err);
    this.appliedWaits = new AppliedWaits(() => this.sm.appliedIndex, this.clusterWaitMs);
    this.reads = new ReadIndexRequests({
      nodeId: this.id,
      request: (ctx) => {
        if (this.closed || this.failure !== null) return;
        this.raft.readIndex(ctx);
        this.schedule();
      },
      waitMs: this.clusterWaitMs,
      retryMs: this.electionTimeoutMs,
      appliedWaits: this.appliedWaits,
      situation: () => this.leaderSituation(),
      now: () => performance.now(),
    });
  }

  /** Opens (bootstrapping on first start) the node's log in `dir` and starts it. */
  static async open(opts: ClusterNodeOptions): Promise<ClusterNode> {
    assert(opts.peers.some((p) => p.id === opts.self.id), 'self is one of the peers');
    const lock = DataDirLock.acquire(opts.dir);
    let storage: RaftLogStorage | null = null;
    try {
      const warn = (msg: string): void => opts.log.warn(msg);
      await removeSnapshotTemps(opts.dir);
      // The log is read and checked on another core while the snapshot loads here.
      const prescan = prescanWal(opts.dir);
      const snap = await loadNewestSnapshot(opts.dir, opts.sm.keyspace, warn);
      storage = await RaftLogStorage.open(opts.dir, { repair: opts.repair, warn, prescan: await prescan, ...(opts.walFs ? { walFs: opts.walFs } : {}) });
      if (snap !== null) {
        await storage.adoptSnapshot(snap.meta, snap.path);
        opts = { ...opts, peers: mergePeers(opts.peers, snap.addresses) };
        opts.sm.appliedIndex = snap.meta.index;
        opts.log.info({ index: snap.meta.index, keys: opts.sm.keyspace.size }, 'snapshot loaded');
      }
      if (storage.isEmpty && opts.join) {
        opts.log.info({ id: opts.self.id }, 'empty node: waiting to be added to the cluster (CLUSTER ADDNODE)');
      } else if (storage.isEmpty) {
        await storage.bootstrap(opts.peers.map((p) => p.id));
        opts.log.info({ voters: opts.peers.map((p) => p.id) }, 'new cluster member: bootstrapped the initial configuration');
      }
      materializeInBackground(opts.sm.keyspace);
      const node = new ClusterNode(opts, storage, lock);
      await node.start();
      return node;
    } catch (err) {
      await storage?.close().catch(() => undefined);
      lock.release();
      throw err;
    }
  }

  private async start(): Promise<void> {
    this.opts.expirer.leader = false;
    this.net.onMessage(this.onMessage);
    this.net.onForward(this.onForward);
    this.net.updatePeers(this.peerEndpoints());
    await this.net.start();
    this.lastTickMs = performance.now();
    this.tickTimer = setInterval(this.onTick, this.opts.tickMs);
    this.syncTimer = setInterval(this.syncEverySecond, 1000);
    this.syncTimer.unref();
    const st = this.raft.status();
    this.log.info({ id: this.id, term: st.term, commit: st.commit, lastIndex: st.lastIndex, voters: st.conf.voters }, 'raft node started');
    this.schedule();
  }

  private peerEndpoints(): Map<NodeId, PeerEndpoint> {
    const m = new Map<NodeId, PeerEndpoint>();
    for (const p of this.addresses.values()) if (p.id !== this.id) m.set(p.id, { host: p.host, port: p.peerPort });
    return m;
  }

  // ---- driving the core ------------------------------------------------------

  private readonly onTick = (): void => {
    if (this.closed || this.failure !== null) return;
    // Ticks follow the monotonic clock, not the count of timer callbacks: a process that
    // was stopped (SIGSTOP, a long GC, a VM stall) must see the time it lost, or a leader
    // would trust a lease that the rest of the cluster has long let expire. Timers run
    // before socket reads in each loop turn, so the lost ticks land before any request
    // that arrived during the stall is served. The cap keeps one late turn from sending a
    // burst of heartbeats; it is past the lease and election timeouts, which is all that
    // catching up has to reach.
    const now = performance.now();
    const due = Math.min(Math.floor((now - this.lastTickMs) / this.opts.tickMs), maxCatchUpTicks);
    this.lastTickMs = due >= maxCatchUpTicks ? now : this.lastTickMs + Math.max(1, due) * this.opts.tickMs;
    for (let i = Math.max(1, due); i > 0; i--) this.raft.tick();
    if (this.soft.role === 'leader') this.promoteLearners();
    this.expireWaits(performance.now());
    this.schedule();
  };

  private readonly onMessage = (msg: Message): void => {
    if (this.closed || this.failure !== null || msg.to !== this.id) return;
    this.raft.step(msg);
    this.schedule();
  };

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(this.runReady);
  }

  private readonly runReady = (): void => {
    this.scheduled = false;
    if (this.inReady || this.closed || this.failure !== null || !this.raft.hasReady()) return;
    this.inReady = true;
    const rd = this.raft.ready();
    this.noteSoftState(rd.softState);
    // A leader's messages acknowledge nothing it has yet to persist (it counts itself
    // toward commit only after advance), so they leave while its own write runs, as in
    // etcd: the followers' disk writes overlap the leader's. Nobody else's may, since
    // a reply can acknowledge what this Ready persists.
    const sendFirst = rd.softState.role === 'leader';
    if (sendFirst) this.net.send(rd.messages);
    const finish = (): void => {
      if (this.closed || this.failure !== null) return;
      if (!sendFirst) this.net.send(rd.messages);
      if (this.pending.size > 0 && rd.entriesToPersist.length > 0) this.ackAppendedEntries(rd.entriesToPersist);
      this.applyEntries(rd.committedEntries);
      this.reads.serve(rd.readStates);
      this.raft.advance(rd);
      this.inReady = false;
      this.schedule();
    };
    if (rd.entriesToPersist.length === 0 && rd.hardState === null && rd.snapshotToInstall === null) {
      finish();
      return;
    }
    this.persisting = this.persist(rd).then(finish, (err: unknown) => {
      if (!this.closed) this.fail(err);
    });
  };

  /** The Ready being made durable, if any: close waits for it before closing the log. */
  private persisting: Promise<void> = Promise.resolve();

  private async persist(rd: Ready): Promise<void> {
    if (rd.snapshotToInstall !== null) await this.install(rd.snapshotToInstall);
    await this.storage.persist(rd, this.opts.fsync() === 'always');
  }

  /** Replaces the state with a snapshot from the leader (this node was too far behind its log). */
  private async install(snap: Snapshot): Promise<void> {
    if (this.snapshotting !== null) await this.snapshotting.catch(() => undefined);
    this.installing = true;
    try {
      await this.installFile(snap);
    } finally {
      this.installing = false;
    }
  }

  private async installFile(snap: Snapshot): Promise<void> {
    const meta = snap.meta;
    const file = await installSnapshot(this.opts.dir, this.sm.keyspace, meta, snap.data);
    materializeInBackground(this.sm.keyspace);
    this.learnAddresses(file.addresses);
    await this.storage.installFromLeader(meta, file.path);
    this.sm.appliedIndex = meta.index;
    this.appliedConf = meta.confState;
    this.bytesSinceSnapshot = 0;
    this.snapshotsInstalled++;
    for (const [index, p] of this.pending) {
      if (index > meta.index) continue;
      this.pending.delete(index);
      this.replyNow(p.sink, false, 'CLUSTERDOWN Leadership changed while the write was in flight; it may or may not have been applied');
      this.localAnswered(p);
    }
    this.appliedWaits.release();
    this.log.info({ index: meta.index, term: meta.term, bytes: file.bytes, keys: this.sm.keyspace.size }, 'installed a snapshot from the leader');
    await retain(this.opts.dir, snapshotsKept);
  }

  /** Snapshots the applied state once enough was applied since the last one, then compacts the log. */
  private maybeSnapshot(): void {
    if (this.snapshotting !== null || this.closed || this.bytesSinceSnapshot < this.opts.snapshotThresholdBytes()) return;
    this.snapshot().catch(() => undefined);
  }

  /** Takes a snapshot of the applied state now (SAVE, BGSAVE); joins one already running. */
  snapshot(): Promise<void> {
    if (this.snapshotting !== null) return this.snapshotting;
    // The keyspace is being replaced by the leader's snapshot, which is on disk already.
    if (this.installing) return Promise.resolve();
    this.bytesSinceSnapshot = 0;
    const p = this.takeSnapshot().then(
      () => {
        this.lastSaveMs = this.opts.clock();
      },
      (err: unknown) => {
        this.log.error({ err: String(err) }, 'snapshot failed');
        throw err;
      },
    );
    this.snapshotting = p.finally(() => {
      this.snapshotting = null;
    });
    return this.snapshotting;
  }

  get snapshotInProgress(): boolean {
    return this.snapshotting !== null;
  }

  private async takeSnapshot(): Promise<void> {
    const index = this.sm.appliedIndex;
    const term = this.raft.logTerm(index);
    if (term === undefined || index <= this.storage.snapshot().meta.index) return;
    const previous = this.storage.snapshot().meta.index;
    const addresses = [...this.addresses.values()].map(formatPeer);
    const file = await writeSnapshot(this.opts.dir, this.sm.keyspace, { index, term, confState: this.appliedConf }, addresses);
    if (this.closed) return;
    this.storage.setSnapshot(file.meta, file.path);
    await retain(this.opts.dir, snapshotsKept);
    // The log is kept from the previous snapshot on, so that one stays a valid fallback.
    await this.storage.compactThrough(previous);
    this.snapshotsTaken++;
    this.log.info({ index, bytes: file.bytes, compactedThrough: previous }, 'snapshot saved');
  }

  private noteSoftState(ss: SoftState): void {
    const prev = this.soft;
    this.soft = ss;
    if (ss.role === prev.role && ss.leaderId === prev.leaderId && ss.term === prev.term) return;
    if (ss.leaderId !== prev.leaderId) {
      this.leaderChanges++;
      this.log.info({ id: this.id, role: ss.role, leader: ss.leaderId, term: ss.term }, 'raft role changed');
    }
    const leading = ss.role === 'leader';
    this.opts.expirer.leader = leading;
    if (leading) this.leadershipLostAtMs = null;
    else if (prev.role === 'leader') this.leadershipLostAtMs = performance.now();
    if (leading && prev.role !== 'leader') {
      // Keys whose TTL passed while no one led are deleted now, through the log.
      setImmediate(() => {
        if (this.soft.role === 'leader') this.opts.expirer.sweepAll();
      });
    }
    if (ss.leaderId !== null && this.awaitingLeader.length > 0) setImmediate(() => this.rerouteAwaiting(performance.now()));
    // Reads queued while leaderless are asked again of the new leader.
    if (ss.leaderId !== null) this.reads.leaderKnown();
  }

  private applyEntries(entries: readonly Entry[]): void {
    const sm = this.sm;
    for (const e of entries) {
      if (e.index <= sm.appliedIndex) continue;
      assert.equal(e.index, sm.appliedIndex + 1, 'entries apply in log order');
      // An early-answered write is no longer pending: it applies with no one to reply to.
      const p = this.pending.get(e.index);
      if (p !== undefined) this.pending.delete(e.index);
      const mine = p !== undefined && p.term === e.term ? p : undefined;
      if (p !== undefined && mine === undefined) {
        p.sink.reply.error(
          `CLUSTERDOWN The write was not applied: leadership changed before it was committed (its log entry ${e.index} was replaced)`,
        );
        p.sink.replyReady();
        this.localAnswered(p);
      }
      sm.appliedIndex = e.index;
      this.bytesSinceSnapshot += e.data.byteLength + 24;
      if (e.type === 'confChange') this.applyConfChange(e);
      else if (e.data.byteLength > 0) this.applyCommand(e, mine?.sink ?? null);
      else if (mine !== undefined) mine.sink.replyReady();
      if (mine !== undefined) this.localAnswered(mine);
    }
    this.appliedWaits.release();
    if (entries.length > 0) this.maybeSnapshot();
  }

  private applyCommand(e: Entry, sink: ReplySink | null): void {
    try {
      const cmd = decodeLogCommand(e.data);
      if (cmd.argv[0] === peerAddressEntry) this.learnAddresses([cmd.argv[1] ?? '']);
      else this.sm.apply(cmd, sink === null ? null : sink.reply);
    } catch (err) {
      // Every replica fails alike on the same entry, so skipping keeps them equal.
      this.log.error({ index: e.index, err: String(err) }, 'log entry could not be applied; skipped');
      sink?.reply.error(`ERR internal error applying the write: ${String(err)}`);
    }
    sink?.replyReady();
  }

  private learnAddresses(entries: readonly string[]): void {
    for (const text of entries) {
      try {
        const p = parsePeer(text);
        if (p.id !== this.id) this.addresses.set(p.id, p);
      } catch (err) {
        this.log.warn({ entry: text, err: String(err) }, 'ignoring a malformed member address');
      }
    }
    this.net.updatePeers(this.peerEndpoints());
  }

  private applyConfChange(e: Entry): void {
    const cc = decodeConfChange(e.data);
    this.appliedConf = applyConfChange(this.appliedConf, cc);
    this.log.info({ index: e.index, change: cc.type, node: cc.nodeId }, 'membership change applied');
    if (cc.type === 'removeNode') {
      this.addresses.delete(cc.nodeId);
      this.net.updatePeers(this.peerEndpoints());
    }
  }

  // ---- writes ------------------------------------------------------------------

  propose(cmd: LogCommand, sink: ReplySink): boolean {
    if (this.failure !== null) {
      sink.reply.error(this.failure);
      return true;
    }
    return this.route(cmd, sink, performance.now() + this.clusterWaitMs, true);
  }

  /**
   * Sends a write where it can be committed: into the log here (leader), to the leader
   * (follower), or into the wait for a leader. `first` is true while inside propose():
   * a reply made at once is then returned synchronously rather than through replyReady.
   */
  private route(cmd: LogCommand, sink: ReplySink, deadlineMs: number, first: boolean): boolean {
    const leading = this.soft.role === 'leader';
    const w = this.sinkWrites.get(sink);
    if (w !== undefined && (w.awaiting > 0 || (leading ? w.forwarded > 0 : w.local.length > 0))) {
      this.await(cmd, sink, deadlineMs);
      return false;
    }
    if (leading) {
      const r = this.raft.propose(encodeLogCommand(cmd));
      if (r.ok) {
        const stale = this.pending.get(r.index);
        if (stale !== undefined) {
          // A snapshot from a leader dropped this node's log past its index, so that entry
          // will never apply here: its write was not applied (the log kept no copy of it).
          this.pending.delete(r.index);
          this.replyNow(stale.sink, false, `CLUSTERDOWN The write was not applied: leadership changed before it was committed (its log entry ${r.index} was replaced)`);
          this.localAnswered(stale);
        }
        const p: Pending = { index: r.index, term: r.term, sink, early: this.answersEarly(cmd, sink), mode: sink.reply.mode, appended: false };
        this.pending.set(r.index, p);
        this.writesOf(sink).local.push(p);
        this.noteWrite(sink, r.index);
        this.schedule();
        return false;
      }
      if (r.reason === 'tooLarge') {
        return this.replyNow(sink, first, 'CLUSTERDOWN The leader has too many uncommitted writes; try again later');
      }
    } else if (this.soft.leaderId !== null && this.soft.leaderId !== this.id && this.net.linkStats?.(this.soft.leaderId)?.connected !== false) {
      this.forwardWrite(cmd, sink, deadlineMs, this.soft.leaderId);
      return false;
    }
    // No leader, or no link to it (it may be gone): wait, and try again each tick.
    this.await(cmd, sink, deadlineMs);
    return false;
  }

  private await(cmd: LogCommand, sink: ReplySink, deadlineMs: number): void {
    this.awaitingLeader.push({ cmd, sink, deadlineMs });
    this.writesOf(sink).awaiting++;
  }

  /** Tries the waiting writes again, in order (a client's later writes stay behind its earlier ones). */
  private rerouteAwaiting(now: number): void {
    const waiting = this.awaitingLeader;
    this.awaitingLeader = [];
    for (const w of waiting) this.writesOf(w.sink).awaiting--;
    for (const w of waiting) {
      if (now >= w.deadlineMs) this.replyNow(w.sink, false, this.noLeaderError());
      else if (this.soft.leaderId !== null) this.route(w.cmd, w.sink, w.deadlineMs, false);
      else this.await(w.cmd, w.sink, w.deadlineMs);
      this.settle(w.sink);
    }
  }

  private writesOf(sink: ReplySink): SinkWrites {
    let w = this.sinkWrites.get(sink);
    if (w === undefined) this.sinkWrites.set(sink, (w = { local: [], forwarded: 0, awaiting: 0, tail: Promise.resolve() }));
    return w;
  }

  /** Drops the record of `sink` once none of its writes is outstanding. */
  private settle(sink: ReplySink): void {
    const w = this.sinkWrites.get(sink);
    if (w !== undefined && w.local.length === 0 && w.forwarded === 0 && w.awaiting === 0) this.sinkWrites.delete(sink);
  }

  /**
   * Whether a write is answered when appended rather than when applied: its client reads
   * at `eventual` (a forwarded one: its follower said so) and applying cannot change its reply.
   */
  private answersEarly(cmd: LogCommand, sink: ReplySink): boolean {
    if (!replyIndependentOfKeyspace(cmd.argv)) return false;
    if (sink instanceof ForwardSink) return sink.early;
    const client = clientOf(sink);
    return client !== null && this.consistencyOf(client) === 'eventual';
  }

  /**
   * The entries of a Ready are in this node's log (fsynced with appendfsync always, with
   * the OS otherwise): the early writes among them may be answered, each once every
   * earlier write of its client has been (replies keep the order of requests).
   */
  private ackAppendedEntries(entries: readonly Entry[]): void {
    for (const e of entries) {
      const p = this.pending.get(e.index);
      // Another term at this index: a new leader replaced the entry before it was appended here.
      if (p === undefined || !p.early || p.term !== e.term) continue;
      p.appended = true;
      const w = this.sinkWrites.get(p.sink);
      assert(w !== undefined, 'a pending write is recorded for its client');
      if (w.local[0] === p) this.ackAppended(p.sink, w);
    }
  }

  /** Answers the appended early writes at the head of `sink`'s queue with the `OK` applying would give. */
  private ackAppended(sink: ReplySink, w: SinkWrites): void {
    for (let head = w.local[0]; head !== undefined && head.appended; head = w.local[0]) {
      w.local.shift();
      assert(this.pending.get(head.index) === head, 'an appended early write is still pending');
      this.pending.delete(head.index);
      this.earlyAckedWrites++;
      const mode = sink.reply.mode;
      sink.reply.mode = head.mode;
      sink.reply.ok();
      sink.reply.mode = mode;
      sink.replyReady();
    }
    this.settle(sink);
  }

  /** `p` was answered (applied, or with an error): the writes queued behind it may go. */
  private localAnswered(p: Pending): void {
    const w = this.dequeueLocal(p);
    if (w !== undefined) this.ackAppended(p.sink, w);
  }

  /** Takes `p`, just answered, off its client's queue; returns the client's record if writes remain. */
  private dequeueLocal(p: Pending): SinkWrites | undefined {
    const w = this.sinkWrites.get(p.sink);
    assert(w !== undefined && w.local[0] === p, "a client's writes proposed here are answered in proposal order");
    w.local.shift();
    this.settle(p.sink);
    return this.sinkWrites.get(p.sink);
  }

  private replyNow(sink: ReplySink, first: boolean, error: string): boolean {
    sink.reply.error(error);
    if (first) return true;
    sink.replyReady();
    return false;
  }

  private forwardWrite(cmd: LogCommand, sink: ReplySink, deadlineMs: number, leader: NodeId): void {
    this.forwardedWrites++;
    // The client's level lives in its session here: the leader learns it from the request.
    const req: ForwardRequest = { db: cmd.db, argv: cmd.argv, mode: sink.reply.mode, readOnly: false, ackOnAppend: this.answersEarly(cmd, sink) };
    const w = this.writesOf(sink);
    w.forwarded++;
    // Sent at once (pipelining), answered in order.
    const result = this.net.forward(leader, req).then(
      (text): ForwardResult => ({ text }),
      (err: unknown): ForwardResult => ({ err }),
    );
    w.tail = w.tail.then(() => result).then((r) => this.forwardDone(cmd, sink, deadlineMs, leader, r));
  }

  private forwardDone(cmd: LogCommand, sink: ReplySink, deadlineMs: number, leader: NodeId, r: ForwardResult): void {
    const w = this.writesOf(sink);
    w.forwarded--;
    const answer = 'text' in r ? parseForwardAnswer(r.text) : null;
    if (answer !== null) {
      sink.reply.out += answer.reply;
      this.noteWrite(sink, answer.index);
      sink.replyReady();
    } else if ('text' in r || this.net.forwardNotSent(r.err)) {
      // Not run: the leader had stepped down, or the request never left. It can be sent
      // again unless later writes of this client are already on their way (order).
      if (w.forwarded > 0) this.replyNow(sink, false, 'CLUSTERDOWN The leader changed while the write was forwarded; it was not applied');
      else if (performance.now() < deadlineMs) this.await(cmd, sink, deadlineMs);
      else this.replyNow(sink, false, this.noLeaderError());
    } else {
      const why = r.err instanceof Error ? r.err.message : String(r.err);
      this.replyNow(sink, false, `CLUSTERDOWN The write was forwarded to leader ${leader} but no reply came (${why}); it may or may not have been applied`);
    }
    this.settle(sink);
  }

  private noteWrite(sink: ReplySink, index: number): void {
    if (sink instanceof ForwardSink) {
      sink.index = index;
      return;
    }
    const client = clientOf(sink);
    if (client === null) return;
    const s = this.session(client);
    s.lastWrite = index;
    if (index > s.observed) s.observed = index;
  }

  /** The leader's side of forwarding: writes are proposed here; a few cluster requests are answered. */
  private readonly onForward = (from: NodeId, req: ForwardRequest): Promise<string> => {
    if (req.readOnly) return this.answerInternal(from, req.argv);
    if (this.soft.role !== 'leader' || this.failure !== null) return Promise.resolve(notLeaderAnswer);
    return new Promise((resolve) => {
      const sink = new ForwardSink(req.mode, req.ackOnAppend, resolve);
      const argv = [...req.argv];
      // The leader's clock stamps the entry: it is the one that decides expiry.
      const sync = this.route({ db: req.db, timeMs: this.opts.clock(), argv }, sink, performance.now() + this.clusterWaitMs, true);
      if (sync) sink.replyReady();
    });
  };

  /** Requests a follower makes of the leader on a client's behalf (WAIT, CLUSTER FAILOVER). */
  private async answerInternal(from: NodeId, argv: readonly string[]): Promise<string> {
    if (this.soft.role !== 'leader') return 'E:ERR not the leader';
    switch (argv[0]) {
      case 'wait':
        return `I:${await this.waitReplicasHere(Number(argv[1]), Number(argv[2]), Number(argv[3]))}`;
      case 'failover': {
        const err = this.transferHere(argv[1] ?? from);
        return err === null ? 'I:0' : `E:${err}`;
      }
      case 'addnode': {
        const err = this.addNodeHere(argv[1] ?? '', argv[2] ?? '');
        return err === null ? 'I:0' : `E:${err}`;
      }
      case 'removenode': {
        const err = this.changeMembershipHere(argv[1] ?? '');
        return err === null ? 'I:0' : `E:${err}`;
      }
      default:
        return `E:ERR unknown cluster request '${argv[0]}'`;
    }
  }

  private async askLeader(argv: string[]): Promise<{ ok: true; n: number } | { ok: false; err: string }> {
    const leader = this.soft.leaderId;
    if (leader === null) return { ok: false, err: this.noLeaderError() };
    try {
      const text = await this.net.forward(leader, { db: 0, argv, mode: 2, readOnly: true, ackOnAppend: false });
      if (text.startsWith('I:')) return { ok: true, n: Number(text.slice(2)) };
      return { ok: false, err: text.startsWith('E:') ? text.slice(2) : `ERR unexpected answer from ${leader}` };
    } catch (err) {
      return { ok: false, err: `CLUSTERDOWN No answer from leader ${leader} (${err instanceof Error ? err.message : String(err)})` };
    }
  }

  // ---- reads -------------------------------------------------------------------

  session(client: ClientState): Session {
    let s = this.sessions.get(client);
    if (s === undefined) this.sessions.set(client, (s = { level: null, observed: 0, lastWrite: 0 }));
    return s;
  }

  consistencyOf(client: ClientState): ConsistencyLevel {
    return this.session(client).level ?? this.opts.defaultConsistency();
  }

  setConsistency(client: ClientState, level: ConsistencyLevel): void {
    this.session(client).level = level;
  }

  /**
   * Whether `client` may read now: null when it may, otherwise a promise that resolves
   * to null once it may, or to an error text to reply instead of the read.
   */
  readGate(client: ClientState): Promise<string | null> | null {
    if (this.failure !== null) return Promise.resolve(this.failure);
    const s = this.session(client);
    switch (s.level ?? this.opts.defaultConsistency()) {
      case 'eventual':
        return null;
      case 'quorum':
        return this.sm.appliedIndex >= s.observed ? null : this.appliedWaits.wait(s.observed, performance.now());
      case 'strong':
        return this.reads.request().then((r) => {
          if (typeof r === 'string') return r;
          if (r > s.observed) s.observed = r;
          return null;
        });
    }
  }

  private expireWaits(now: number): void {
    if (this.awaitingLeader.length > 0) this.rerouteAwaiting(now);
    if (this.pending.size > 0) this.expirePending(now);
    this.appliedWaits.expire(now);
    this.reads.expire(now);
  }

  /**
   * Writes proposed while this node led are answered when their entry applies or is
   * replaced; with no majority left (it stepped down) neither may ever happen, so they
   * get an error once no leader has settled them within `clusterWaitMs`. Their entry may
   * still commit later under a new leader, so the client cannot be told it was not applied.
   */
  private expirePending(now: number): void {
    const lostAt = this.leadershipLostAtMs;
    if (this.soft.role === 'leader' || lostAt === null || now - lostAt < this.clusterWaitMs) return;
    const err = `CLUSTERDOWN This node stopped leading while the write was in flight and no leader settled it within ${this.clusterWaitMs} ms (${this.leaderSituation()}); it may or may not have been applied`;
    for (const [index, p] of this.pending) {
      this.pending.delete(index);
      this.replyNow(p.sink, false, err);
      this.localAnswered(p);
    }
  }

  private leaderSituation(): string {
    const st = this.raft.status();
    const leader = st.leaderId === null ? 'no leader known' : `leader ${st.leaderId}`;
    return `node ${this.id}, term ${st.term}, ${leader}, voters ${st.conf.voters.join(',')}; a majority may be down or unreachable`;
  }

  private noLeaderError(): string {
    return `CLUSTERDOWN No leader within ${this.clusterWaitMs} ms (${this.leaderSituation()})`;
  }

  // ---- WAIT, failover, membership --------------------------------------------------

  /** WAIT: how many followers hold this client's last write, waiting up to timeoutMs (0: forever) for numReplicas. */
  async waitReplicas(client: ClientState, numReplicas: number, timeoutMs: number): Promise<number | string> {
    const index = this.session(client).lastWrite;
    if (this.soft.role === 'leader') return this.waitReplicasHere(index, numReplicas, timeoutMs);
    const capped = timeoutMs === 0 || timeoutMs > forwardedWaitMaxMs ? forwardedWaitMaxMs : timeoutMs;
    const r = await this.askLeader(['wait', String(index), String(numReplicas), String(capped)]);
    return r.ok ? r.n : r.err;
  }

  private async waitReplicasHere(index: number, numReplicas: number, timeoutMs: number): Promise<number> {
    const deadline = timeoutMs === 0 ? Infinity : performance.now() + timeoutMs;
    for (;;) {
      const n = this.replicasAt(index);
      if (n >= numReplicas || performance.now() >= deadline || this.closed || this.soft.role !== 'leader') return n;
      await new Promise((r) => setTimeout(r, Math.min(5, this.opts.tickMs)));
    }
  }

  private replicasAt(index: number): number {
    let n = 0;
    for (const [id, pr] of this.raft.status().progress) if (id !== this.id && pr.match >= index) n++;
    return n;
  }

  /** CLUSTER FAILOVER: hands leadership to `to` (default: the most caught-up follower, or this node on a follower). */
  async failover(to: NodeId | null): Promise<string | null> {
    if (this.soft.role === 'leader') return this.transferHere(to ?? this.bestFollower());
    const r = await this.askLeader(['failover', to ?? this.id]);
    return r.ok ? null : r.err;
  }

  private bestFollower(): NodeId | null {
    let best: NodeId | null = null;
    let bestMatch = -1;
    const st = this.raft.status();
    for (const [id, pr] of st.progress) {
      if (id === this.id || !isVoter(st.conf, id)) continue;
      if (pr.match > bestMatch) [best, bestMatch] = [id, pr.match];
    }
    return best;
  }

  private transferHere(to: NodeId | null): string | null {
    if (to === null) return 'ERR no follower to hand leadership to';
    const r = this.raft.transferLeadership(to);
    this.schedule();
    if (r.ok) return null;
    const why: Record<string, string> = {
      notLeader: 'this node is not the leader',
      notVoter: `'${to}' is not a voting member`,
      alreadyLeader: `'${to}' is already the leader`,
      inProgress: `a transfer to '${to}' is already in progress`,
    };
    return `ERR ${why[r.reason] ?? r.reason}`;
  }

  /** CLUSTER ADDNODE: the address goes through the log, then the node joins as a learner. */
  async addNode(id: NodeId, address: string): Promise<string | null> {
    if (this.soft.role === 'leader') return this.addNodeHere(id, address);
    const r = await this.askLeader(['addnode', id, address]);
    return r.ok ? null : r.err;
  }

  private addNodeHere(id: NodeId, address: string): string | null {
    let peer: PeerAddress;
    try {
      peer = parsePeer(`${id}@${address}`);
    } catch (err) {
      return `ERR ${err instanceof Error ? err.message : String(err)}`;
    }
    const conf = this.raft.status().conf;
    if (conf.voters.includes(id) || conf.learners.includes(id)) return `ERR '${id}' is already a member`;
    this.addresses.set(id, peer);
    this.net.updatePeers(this.peerEndpoints());
    const addr = this.raft.propose(encodeLogCommand({ db: 0, timeMs: this.opts.clock(), argv: [peerAddressEntry, formatPeer(peer)] }));
    if (!addr.ok) return `ERR cannot add a node now (${addr.reason}); try again`;
    const r = this.raft.proposeConfChange({ type: 'addLearner', nodeId: id });
    this.schedule();
    if (r.ok) {
      this.log.info({ id, address: formatPeer(peer) }, 'adding a node as a learner');
      return null;
    }
    if (r.reason === 'confChangePending') return 'ERR another membership change is in progress; try again';
    return `ERR ${r.reason}`;
  }

  /** A learner whose log reached the commit index becomes a voter (one change at a time). */
  private promoteLearners(): void {
    const st = this.raft.status();
    for (const id of st.conf.learners) {
      const pr = st.progress.get(id);
      if (pr === undefined || pr.match < st.commit) continue;
      const r = this.raft.proposeConfChange({ type: 'addVoter', nodeId: id });
      if (r.ok) this.log.info({ id, match: pr.match }, 'learner caught up: promoting it to voter');
      return;
    }
  }

  /** CLUSTER REMOVENODE: one membership change at a time, through the log. */
  async removeNode(id: NodeId): Promise<string | null> {
    if (this.soft.role === 'leader') return this.changeMembershipHere(id);
    const r = await this.askLeader(['removenode', id]);
    return r.ok ? null : r.err;
  }

  private changeMembershipHere(id: NodeId): string | null {
    const r = this.raft.proposeConfChange({ type: 'removeNode', nodeId: id });
    this.schedule();
    if (r.ok) return null;
    if (r.reason === 'confChangePending') return 'ERR another membership change is in progress; try again';
    if (r.reason === 'invalidConfChange') return `ERR '${id}' cannot be removed (not a member, or the last voter)`;
    return `ERR ${r.reason}`;
  }

  // ---- observation ---------------------------------------------------------------

  get role(): Role {
    return this.soft.role;
  }

  get leaderId(): NodeId | null {
    return this.soft.leaderId;
  }

  /** INFO replication fields. */
  info(): InfoField[] {
    return replicationFields(this.report());
  }

  /** CLUSTER INFO text. */
  clusterInfo(): string {
    return clusterInfoText(this.report());
  }

  /** CLUSTER NODES text. */
  clusterNodes(): string {
    return clusterNodesText(this.report());
  }

  private report(): NodeReport {
    return {
      id: this.id,
      raft: this.raft.status(),
      applied: this.sm.appliedIndex,
      addresses: this.addresses,
      link: (peer) => this.net.linkStats?.(peer),
      failed: this.failure !== null,
      forwardedWrites: this.forwardedWrites,
      earlyAckedWrites: this.earlyAckedWrites,
      leaderChanges: this.leaderChanges,
      snapshotIndex: this.storage.snapshot().meta.index,
      logFirstIndex: this.storage.firstIndex(),
      snapshotsTaken: this.snapshotsTaken,
      snapshotsInstalled: this.snapshotsInstalled,
      nowMs: Date.now(),
    };
  }

  // ---- failure and shutdown ----------------------------------------------------------

  private fail(err: unknown): void {
    if (this.failure !== null) return;
    const reason = err instanceof Error ? err.message : String(err);
    this.failure = `MISCONF The Raft log failed and this node stopped taking part in the cluster until restarted: ${reason}`;
    this.log.error({ err: reason }, 'raft node stopped: the log failed');
    this.opts.expirer.leader = false;
    this.abandonWrites(this.failure);
  }

  /** Answers every write proposed here or waiting for a leader with `error`. */
  private abandonWrites(error: string): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    const waiting = this.awaitingLeader;
    this.awaitingLeader = [];
    // Appended early writes still queued behind others get the error too: it says
    // "may or may not have been applied", which is true of them as well.
    for (const p of pending) {
      this.replyNow(p.sink, false, error);
      this.dequeueLocal(p);
    }
    for (const w of waiting) {
      this.writesOf(w.sink).awaiting--;
      this.replyNow(w.sink, false, error);
      this.settle(w.sink);
    }
  }

  private readonly syncEverySecond = (): void => {
    if (this.opts.fsync() !== 'everysec' || this.failure !== null || this.closed) return;
    this.storage.sync().catch((err: unknown) => this.log.error({ err: String(err) }, 'background fsync failed'));
  };

  /** Stops taking part: no more ticks or messages; pending clients get an error; the log is synced and closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tickTimer);
    clearInterval(this.syncTimer);
    const bye = 'CLUSTERDOWN This node is shutting down; the write may or may not have been applied';
    this.abandonWrites(bye);
    this.appliedWaits.abandon(bye);
    this.reads.abandon(bye);
    await this.net.close();
    if (this.snapshotting !== null) await this.snapshotting.catch(() => undefined);
    await this.persisting;
    await this.storage.close().catch((err: unknown) => this.log.error({ err: String(err) }, 'closing the log failed'));
    this.lock.release();
  }
}
