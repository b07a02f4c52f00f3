// Deterministic cluster simulator: many RaftNodes in one process, a virtual
// clock, and a seeded network and fault schedule. One seed decides everything,
// so any failure replays exactly (see cli.ts).
import assert from 'node:assert/strict';
import { applyConfChange, decodeConfChange, isMember } from '../../src/raft/confchange.js';
import { RaftNode, defaultRaftConfig } from '../../src/raft/raft.js';
import type { RaftConfig } from '../../src/raft/raft.js';
import { SeededRandom } from '../../src/raft/rand.js';
import { MemoryLog } from '../../src/raft/storage.js';
import type { ConfChange, ConfState, Entry, Message, NodeId, Ready } from '../../src/raft/types.js';
import { ElectionSafety, LeaderAppendOnly, LeaderCompleteness, LogMatching, SafetyViolation, StateMachineSafety } from './checkers.js';
import { checkRegisterHistory } from './linearizability.js';
import type { RegisterOp } from './linearizability.js';

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  /** Steps (one tick each) of the safety phase, with faults. */
  readonly steps: number;
  /** Steps of the liveness phase after healing everything. */
  readonly livenessSteps: number;
  readonly log?: (line: string) => void;
}

export interface SimStats {
  elections: number;
  writesOk: number;
  writesIndeterminate: number;
  readsOk: number;
  crashes: number;
  partitions: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  transfers: number;
  confChanges: number;
  messages: number;
  maxTerm: number;
  leaseReads: boolean;
}

export interface SimResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly error?: string;
  readonly stats: SimStats;
}

/** Fault rates drawn per seed, so different seeds stress different mixes. */
interface FaultProfile {
  dropProb: number;
  dupProb: number;
  maxDelay: number;
  longDelayProb: number;
  partitionProb: number;
  crashProb: number;
  restartProb: number;
  readyDelayProb: number;
  tornWriteProb: number;
  tickSkipProb: number;
  transferProb: number;
  preVote: boolean;
  checkQuorum: boolean;
  maxSizePerMsgBytes: number;
  maxInflightMsgs: number;
  snapshotChunkBytes: number;
  membershipProb: number;
}

interface SimNode {
  readonly id: NodeId;
  readonly storage: MemoryLog;
  raft: RaftNode | null; // null while crashed
  kv: Map<string, string>;
  appliedIndex: number;
  conf: ConfState;
  /** Ticks per step: clocks run at slightly different rates. */
  readonly clockRate: number;
  clockDebt: number;
}

interface PendingWrite {
  readonly id: number;
  readonly key: string;
  readonly value: string;
  readonly invoke: number;
  readonly node: NodeId;
  readonly index: number;
  readonly deadline: number;
}

interface PendingRead {
  readonly id: number;
  readonly key: string;
  readonly invoke: number;
  readonly node: NodeId;
  readIndex: number | null;
  readonly deadline: number;
}

interface Payload {
  k: string;
  v: string;
  op: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const KEYS = ['x', 'y', 'z'];
const CLIENTS = 4;
const OP_TIMEOUT_STEPS = 150;
const QUIESCE_STEPS = 150;
const ELECTION_TIMEOUT_TICKS = 10;
const MAX_MEMBERS = 7;

export class Simulation {
  private readonly opts: SimOptions;
  private readonly rng: SeededRandom;
  private faults: FaultProfile;
  private readonly leaseReads: boolean;
  private readonly ids: NodeId[];
  private readonly nodes = new Map<NodeId, SimNode>();
  private now = 0;
  private readonly inflight = new Map<number, Message[]>();
  /** Links cut in both directions, as "a|b" with a < b. */
  private blocked = new Set<string>();

  private readonly electionSafety = new ElectionSafety();
  private readonly logMatching = new LogMatching();
  private readonly smSafety = new StateMachineSafety();
  private readonly completeness = new LeaderCompleteness();
  private readonly appendOnly = new LeaderAppendOnly();

  private nextOpId = 1;
  private readonly writes = new Map<number, PendingWrite>();
  private readonly reads = new Map<number, PendingRead>();
  private readonly clientBusy = new Set<number>();
  private readonly clientOf = new Map<number, number>();
  private readonly history: RegisterOp[] = [];
  private leaderHint: NodeId | null = null;
  /** Ids that appeared in some applied configuration. */
  private readonly everMember = new Set<NodeId>();
  private readonly retired = new Set<NodeId>();
  private clientsEnabled = true;
  readonly stats: SimStats;

  constructor(opts: SimOptions) {
    assert.ok(opts.nodes >= 1 && opts.nodes <= 9, 'between 1 and 9 nodes');
    this.opts = opts;
    this.rng = new SeededRandom(opts.seed);
    const r = this.rng;
    this.leaseReads = opts.seed % 4 === 3;
    this.faults = {
      dropProb: r.pick([0, 0.02, 0.1, 0.25]),
      dupProb: r.pick([0, 0.02, 0.1]),
      maxDelay: r.pick([1, 2, 4, 8]),
      // Very late messages are the reordering that breaks naive implementations;
      // lease reads assume bounded clock drift, not bounded delay, so they keep it.
      longDelayProb: r.pick([0, 0.005, 0.02]),
      partitionProb: r.pick([0.003, 0.01, 0.03, 0.1]),
      crashProb: r.pick([0, 0.002, 0.006, 0.03]),
      restartProb: r.pick([0.01, 0.05, 0.2]),
      readyDelayProb: r.pick([0, 0.2, 0.5]),
      tornWriteProb: r.pick([0, 0.002, 0.01]),
      // A skipped tick is a node whose clock runs slow; lease reads forbid that.
      tickSkipProb: this.leaseReads ? 0 : r.pick([0, 0.05]),
      transferProb: r.pick([0, 0.002]),
      // Without CheckQuorum a deposed leader keeps believing it leads, which is
      // exactly when reads that skip the heartbeat round would go stale.
      preVote: r.chance(0.75),
      checkQuorum: this.leaseReads || r.chance(0.75),
      // One entry per append makes a follower receive an old-term entry without
      // the new leader's entries after it (the Figure 8 situation).
      maxSizePerMsgBytes: r.pick([1, 400, 4096]),
      maxInflightMsgs: r.pick([1, 4, 64]),
      snapshotChunkBytes: r.pick([16, 64, 1024]),
      membershipProb: r.pick([0, 0.003, 0.01]),
    };
    this.stats = {
      elections: 0,
      writesOk: 0,
      writesIndeterminate: 0,
      readsOk: 0,
      crashes: 0,
      partitions: 0,
      snapshotsTaken: 0,
      snapshotsInstalled: 0,
      transfers: 0,
      confChanges: 0,
      messages: 0,
      maxTerm: 0,
      leaseReads: this.leaseReads,
    };
    this.ids = [];
    for (let i = 1; i <= opts.nodes; i++) this.ids.push(`n${i}`);
    const initial = [...this.ids];
    for (const id of initial) {
      const storage = MemoryLog.bootstrap(initial);
      const node: SimNode = { id, storage, raft: null, kv: new Map(), appliedIndex: 0, conf: { voters: [], learners: [] }, clockRate: this.clockRate(), clockDebt: 0 };
      this.nodes.set(id, node);
      this.start(node);
    }
    this.trace(`profile ${JSON.stringify(this.faults)} leaseReads=${this.leaseReads}`);
  }

  run(): SimResult {
    try {
      for (let s = 0; s < this.opts.steps; s++) this.step(true);
      this.livenessPhase();
      this.finalChecks();
      return { ok: true, seed: this.opts.seed, stats: this.stats };
    } catch (e) {
      const msg = e instanceof Error ? (e instanceof SafetyViolation ? e.message : (e.stack ?? e.message)) : String(e);
      return { ok: false, seed: this.opts.seed, error: `t=${this.now}: ${msg}`, stats: this.stats };
    }
  }

  // ---- the clock ----------------------------------------------------------

  private step(faulty: boolean): void {
    this.now++;
    for (const n of this.nodes.values()) {
      if (n.raft === null) continue;
      n.clockDebt += n.clockRate;
      if (n.clockDebt < 1) continue;
      n.clockDebt -= 1;
      if (faulty && this.rng.chance(this.faults.tickSkipProb)) continue;
      n.raft.tick();
    }
    this.deliver();
    if (this.clientsEnabled) this.clients();
    if (faulty) this.injectFaults();
    for (const n of this.nodes.values()) {
      if (n.raft === null || !n.raft.hasReady()) continue;
      // Leaving a Ready for later widens the window in which a crash loses it.
      if (faulty && this.rng.chance(this.faults.readyDelayProb)) continue;
      if (faulty && this.rng.chance(this.faults.tornWriteProb)) {
        this.tornWrite(n, n.raft);
        continue;
      }
      this.processReady(n, n.raft);
    }
    this.maybeSnapshot();
    this.expireOps();
    this.checkLeaders();
  }

  private livenessPhase(): void {
    this.blocked.clear();
    // Raft promises progress only when message delay is well below the election
    // timeout; a healed network is a calm one.
    this.faults.dropProb = 0;
    this.faults.dupProb = 0;
    this.faults.longDelayProb = 0;
    this.faults.maxDelay = Math.min(this.faults.maxDelay, 2);
    for (const n of this.nodes.values()) if (n.raft === null && !this.retired.has(n.id)) this.start(n);
    this.trace('heal: all links up, all nodes running, no more faults');
    const healedAt = this.now;
    // Give the cluster two election rounds to settle before expecting progress.
    const settle = 4 * ELECTION_TIMEOUT_TICKS;
    const before = { writes: this.stats.writesOk, reads: this.stats.readsOk };
    let progressAt = -1;
    for (let s = 0; s < this.opts.livenessSteps; s++) {
      this.step(false);
      this.retireRemoved();
      if (this.now === healedAt + settle) {
        before.writes = this.stats.writesOk;
        before.reads = this.stats.readsOk;
      }
      if (this.now > healedAt + settle && progressAt < 0 && this.stats.writesOk > before.writes && this.stats.readsOk > before.reads) {
        progressAt = this.now;
      }
    }
    if (progressAt < 0) {
      const st = [...this.nodes.values()].map((n) => (n.raft === null ? `${n.id}:down` : `${n.id}:${n.raft.status().role}@${n.raft.status().term}`));
      throw new Error(`liveness: no write and read completed in ${this.opts.livenessSteps - settle} steps after healing (${st.join(' ')})`);
    }
    // Quiesce: no new client operations; every node must catch up.
    this.clientsEnabled = false;
    let problem: string | null = 'not checked';
    for (let s = 0; s < QUIESCE_STEPS && problem !== null; s++) {
      this.step(false);
      this.retireRemoved();
      problem = this.convergenceProblem();
    }
    if (problem !== null) throw new Error(`liveness: not converged ${QUIESCE_STEPS} steps after clients stopped: ${problem}`);
  }

  /** Null once there is one leader and every node applied its commit index and holds the same state. */
  private convergenceProblem(): string | null {
    const leaders = [...this.nodes.values()].filter((n) => n.raft?.status().role === 'leader');
    if (leaders.length !== 1) return `${leaders.length} leaders`;
    const leader = leaders[0] as SimNode;
    const status = leader.raft?.status();
    const target = status?.commit ?? 0;
    const members = [...this.nodes.values()].filter((n) => status !== undefined && isMember(status.conf, n.id));
    for (const n of members) {
      if (n.raft === null) return `member ${n.id} is down`;
      if (n.appliedIndex !== target) return `${n.id} applied ${n.appliedIndex}, leader committed ${target}`;
    }
    const ref = JSON.stringify([...leader.kv.entries()].sort());
    for (const n of members) {
      if (JSON.stringify([...n.kv.entries()].sort()) !== ref) return `${n.id}'s state differs from the leader's`;
    }
    return null;
  }

  private finalChecks(): void {
    // Whatever is still pending has an unknown outcome.
    for (const w of this.writes.values()) this.writeIndeterminate(w);
    this.writes.clear();
    this.reads.clear();
    const res = checkRegisterHistory(this.history);
    if (!res.ok) {
      const ops = this.history.filter((o) => o.key === res.badKey).sort((a, b) => a.invoke - b.invoke);
      const lines = ops.map((o) => `  #${o.id} ${o.kind} ${o.value ?? 'nil'} [${o.invoke}, ${o.complete}]`);
      throw new SafetyViolation('linearizability', `${res.exhausted ? 'search exhausted' : 'no linearization'} for key ${res.badKey}:\n${lines.join('\n')}`);
    }
  }

  // ---- nodes ----------------------------------------------------------------

  private config(id: NodeId): RaftConfig {
    return {
      ...defaultRaftConfig(id, new SeededRandom(this.rng.intBelow(2 ** 31))),
      electionTimeoutTicks: ELECTION_TIMEOUT_TICKS,
      heartbeatIntervalTicks: 2,
      // Small budgets so flow control, batching and chunking are exercised.
      maxInflightMsgs: this.faults.maxInflightMsgs,
      maxSizePerMsgBytes: this.faults.maxSizePerMsgBytes,
      maxUncommittedEntriesBytes: 8 << 10,
      maxCommittedSizePerReadyBytes: 2 << 10,
      maxPendingReads: 64,
      snapshotChunkBytes: this.faults.snapshotChunkBytes,
      maxSnapshotBytes: 1 << 20,
      preVote: this.faults.preVote,
      checkQuorum: this.faults.checkQuorum,
      leaseReads: this.leaseReads,
      leaseDriftMarginTicks: 2,
    };
  }

  /**
   * Lease reads promise safety only while clocks drift by less than
   * leaseDriftMarginTicks per election timeout (2 in 10 here), so those seeds
   * keep rates within 10%; other seeds get clocks up to 30% slow.
   */
  private clockRate(): number {
    const spread = this.leaseReads ? 0.1 : 0.3;
    return 1 - spread * this.rng.next();
  }

  /** Start (or restart) a node from exactly what its storage persisted. */
  private start(n: SimNode): void {
    n.raft = new RaftNode(this.config(n.id), n.storage);
    const snap = n.storage.snapshot();
    n.kv = decodeState(snap.data);
    n.appliedIndex = snap.meta.index;
    n.conf = snap.meta.confState;
    this.smSafety.observeRestore(n.id, snap.meta.index);
  }

  private crash(n: SimNode): void {
    n.raft = null;
    this.appendOnly.forget(n.id);
    this.stats.crashes++;
    this.trace(`crash ${n.id} (unpersisted state lost)`);
    for (const w of [...this.writes.values()]) if (w.node === n.id) this.writeIndeterminate(w);
    for (const r of [...this.reads.values()]) if (r.node === n.id) this.dropRead(r);
  }

  /**
   * Crash in the middle of persisting a Ready: the snapshot and a prefix of the
   * entries reach the disk, the hard state does not, nothing is sent or applied.
   * A WAL recovering from a torn tail ends up exactly like this.
   */
  private tornWrite(n: SimNode, raft: RaftNode): void {
    const rd = raft.ready();
    if (rd.snapshotToInstall !== null) n.storage.installSnapshot(rd.snapshotToInstall);
    const keep = this.rng.intBelow(rd.entriesToPersist.length + 1);
    const prefix = rd.entriesToPersist.slice(0, keep);
    n.storage.append(prefix);
    for (const e of prefix) this.logMatching.observePersisted(n.id, e, n.storage.term(e.index - 1));
    this.trace(`torn write on ${n.id}: ${keep}/${rd.entriesToPersist.length} entries, no hard state`);
    this.crash(n);
  }

  private processReady(n: SimNode, raft: RaftNode): void {
    const rd: Ready = raft.ready();
    // 1. Persist.
    const snap = rd.snapshotToInstall;
    if (snap !== null) {
      n.storage.installSnapshot(snap);
      n.kv = decodeState(snap.data);
      n.appliedIndex = snap.meta.index;
      n.conf = snap.meta.confState;
      this.smSafety.observeRestore(n.id, snap.meta.index);
      this.stats.snapshotsInstalled++;
      this.trace(`${n.id} installs snapshot @${snap.meta.index}`);
      for (const w of [...this.writes.values()]) if (w.node === n.id && w.index <= snap.meta.index) this.writeIndeterminate(w);
    }
    n.storage.append(rd.entriesToPersist);
    for (const e of rd.entriesToPersist) this.logMatching.observePersisted(n.id, e, n.storage.term(e.index - 1));
    if (rd.hardState !== null) n.storage.setHardState(rd.hardState);
    // 2. Send.
    for (const m of rd.messages) this.send(m);
    // 3. Apply.
    for (const e of rd.committedEntries) this.apply(n, e);
    for (const rs of rd.readStates) {
      const id = Number(rs.ctx);
      const r = this.reads.get(id);
      if (r !== undefined && r.node === n.id && r.readIndex === null) r.readIndex = rs.index;
    }
    this.completeReads(n);
    raft.advance(rd);
  }

  private apply(n: SimNode, e: Entry): void {
    this.smSafety.observeApplied(n.id, e);
    assert.equal(e.index, n.appliedIndex + 1, 'state machine applies in order');
    n.appliedIndex = e.index;
    if (e.type === 'confChange') {
      n.conf = applyConfChange(n.conf, decodeConfChange(e.data));
      for (const id of [...n.conf.voters, ...n.conf.learners]) this.everMember.add(id);
    } else if (e.data.byteLength > 0) {
      const p = JSON.parse(decoder.decode(e.data)) as Payload;
      n.kv.set(p.k, p.v);
    }
    // A write proposed through this node learns its fate when this index applies.
    for (const w of [...this.writes.values()]) {
      if (w.node !== n.id || w.index !== e.index) continue;
      this.writes.delete(w.id);
      this.clientBusy.delete(this.clientOf.get(w.id) ?? -1);
      const ours = e.type === 'normal' && e.data.byteLength > 0 && (JSON.parse(decoder.decode(e.data)) as Payload).op === w.id;
      if (ours) {
        this.history.push({ id: w.id, key: w.key, kind: 'write', value: w.value, invoke: w.invoke, complete: this.now });
        this.stats.writesOk++;
      }
      // Otherwise another entry won that index: ours was never committed and never will be.
    }
  }

  private completeReads(n: SimNode): void {
    for (const r of [...this.reads.values()]) {
      if (r.node !== n.id || r.readIndex === null || n.appliedIndex < r.readIndex) continue;
      this.reads.delete(r.id);
      this.clientBusy.delete(this.clientOf.get(r.id) ?? -1);
      this.history.push({ id: r.id, key: r.key, kind: 'read', value: n.kv.get(r.key) ?? null, invoke: r.invoke, complete: this.now });
      this.stats.readsOk++;
    }
  }

  private maybeSnapshot(): void {
    for (const n of this.nodes.values()) {
      if (n.raft === null || !this.rng.chance(0.05)) continue;
      const snapIndex = n.storage.snapshot().meta.index;
      if (n.appliedIndex - snapIndex < 15) continue;
      n.storage.createSnapshot(n.appliedIndex, n.conf, encodeState(n.kv), this.rng.intBelow(8));
      this.stats.snapshotsTaken++;
      this.trace(`${n.id} snapshots @${n.appliedIndex}`);
    }
  }

  // ---- the network -----------------------------------------------------------

  private send(m: Message): void {
    this.stats.messages++;
    if (this.rng.chance(this.faults.dropProb)) return;
    const copies = this.rng.chance(this.faults.dupProb) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      const delay = this.rng.chance(this.faults.longDelayProb) ? 1 + this.rng.intBelow(60) : 1 + this.rng.intBelow(this.faults.maxDelay);
      const at = this.now + delay;
      const bucket = this.inflight.get(at) ?? [];
      bucket.push(m);
      this.inflight.set(at, bucket);
    }
  }

  private deliver(): void {
    const bucket = this.inflight.get(this.now);
    if (bucket === undefined) return;
    this.inflight.delete(this.now);
    // Shuffle: messages due at the same instant arrive in any order.
    for (let i = bucket.length - 1; i > 0; i--) {
      const j = this.rng.intBelow(i + 1);
      [bucket[i], bucket[j]] = [bucket[j] as Message, bucket[i] as Message];
    }
    for (const m of bucket) {
      const to = this.nodes.get(m.to);
      if (to === undefined || to.raft === null) continue;
      if (this.blocked.has(linkKey(m.from, m.to))) continue;
      // Messages must be plain data a transport can copy: some arrive as copies.
      to.raft.step(this.rng.chance(0.1) ? structuredClone(m) : m);
    }
  }

  // ---- faults -----------------------------------------------------------------

  private injectFaults(): void {
    const r = this.rng;
    if (r.chance(this.faults.partitionProb)) this.repartition();
    if (r.chance(this.faults.crashProb)) {
      const up = [...this.nodes.values()].filter((n) => n.raft !== null);
      if (up.length > 0) this.crash(r.pick(up));
    }
    if (r.chance(this.faults.restartProb)) {
      const down = [...this.nodes.values()].filter((n) => n.raft === null);
      if (down.length > 0) {
        const n = r.pick(down);
        this.start(n);
        this.trace(`restart ${n.id} from persisted state`);
      }
    }
    if (r.chance(this.faults.membershipProb)) this.changeMembership();
    if (r.chance(this.faults.transferProb)) {
      const leader = [...this.nodes.values()].find((n) => n.raft?.status().role === 'leader');
      if (leader !== undefined && leader.raft !== null) {
        const to = r.pick(this.ids.filter((id) => id !== leader.id));
        const res = leader.raft.transferLeadership(to);
        this.stats.transfers++;
        this.trace(`transfer ${leader.id} → ${to}: ${JSON.stringify(res)}`);
      }
    }
  }

  /** One-server changes through the current leader: add a learner, promote it, or remove a member. */
  private changeMembership(): void {
    const r = this.rng;
    const leader = [...this.nodes.values()].find((n) => n.raft?.status().role === 'leader');
    if (leader === undefined || leader.raft === null) return;
    const conf = leader.raft.status().conf;
    const members = [...conf.voters, ...conf.learners];
    let change: ConfChange;
    if (conf.learners.length > 0 && r.chance(0.6)) {
      change = { type: 'addVoter', nodeId: r.pick(conf.learners) };
    } else if (members.length < MAX_MEMBERS && (conf.voters.length <= 2 || r.chance(0.5))) {
      // Always a fresh id: a removed node's stale log must not come back as a member.
      change = { type: 'addLearner', nodeId: `n${this.ids.length + 1}` };
    } else {
      change = { type: 'removeNode', nodeId: r.pick(members) };
    }
    const res = leader.raft.proposeConfChange(change);
    this.trace(`conf change via ${leader.id}: ${change.type} ${change.nodeId} → ${JSON.stringify(res)}`);
    if (!res.ok) return;
    this.stats.confChanges++;
    if (change.type === 'addLearner' && !this.nodes.has(change.nodeId)) {
      this.ids.push(change.nodeId);
      const node: SimNode = { id: change.nodeId, storage: new MemoryLog(), raft: null, kv: new Map(), appliedIndex: 0, conf: { voters: [], learners: [] }, clockRate: this.clockRate(), clockDebt: 0 };
      this.nodes.set(node.id, node);
      this.start(node);
    }
  }

  /**
   * Nodes whose removal is committed (absent from the configuration applied by
   * the most advanced state machine) are shut down, as an operator would.
   */
  private retireRemoved(): void {
    let ref: SimNode | null = null;
    for (const n of this.nodes.values()) if (ref === null || n.appliedIndex > ref.appliedIndex) ref = n;
    if (ref === null || ref.appliedIndex === 0) return;
    const conf = ref.conf;
    for (const n of this.nodes.values()) {
      if (n.raft === null || isMember(conf, n.id)) continue;
      // Only nodes the cluster once had as members are retired; an added node
      // whose addLearner is not applied yet is still on its way in.
      if (!this.everMember.has(n.id)) continue;
      this.trace(`retire ${n.id}: removed by committed configuration`);
      this.crash(n);
      this.retired.add(n.id);
    }
  }

  private repartition(): void {
    const r = this.rng;
    this.blocked.clear();
    const kind = r.pick(['heal', 'halves', 'isolateLeader', 'bridge', 'isolateOne'] as const);
    this.stats.partitions++;
    const ids = [...this.ids];
    const cutBetween = (a: readonly NodeId[], b: readonly NodeId[]): void => {
      for (const x of a) for (const y of b) if (x !== y) this.blocked.add(linkKey(x, y));
    };
    switch (kind) {
      case 'heal':
        break;
      case 'halves': {
        const a = ids.filter(() => r.chance(0.5));
        cutBetween(a, ids.filter((id) => !a.includes(id)));
        break;
      }
      case 'isolateLeader': {
        const leader = [...this.nodes.values()].find((n) => n.raft?.status().role === 'leader');
        const victim = leader?.id ?? r.pick(ids);
        cutBetween([victim], ids);
        break;
      }
      case 'isolateOne':
        cutBetween([r.pick(ids)], ids);
        break;
      case 'bridge': {
        // Two sides that cannot talk, and one node both can reach.
        const bridge = r.pick(ids);
        const rest = ids.filter((id) => id !== bridge);
        const a = rest.filter(() => r.chance(0.5));
        cutBetween(a, rest.filter((id) => !a.includes(id)));
        break;
      }
    }
    this.trace(`partition ${kind}: ${[...this.blocked].join(' ') || 'none'}`);
  }

  // ---- clients -----------------------------------------------------------------

  private clients(): void {
    for (let c = 0; c < CLIENTS; c++) {
      if (this.clientBusy.has(c) || !this.rng.chance(0.2)) continue;
      const key = this.rng.pick(KEYS);
      if (this.rng.chance(0.5)) this.startWrite(c, key);
      else this.startRead(c, key);
    }
  }

  /** A live node to talk to: the last known leader if up, else any. */
  private pickNode(preferLeader: boolean): SimNode | null {
    const up = [...this.nodes.values()].filter((n) => n.raft !== null);
    if (up.length === 0) return null;
    if (preferLeader && this.leaderHint !== null) {
      const l = this.nodes.get(this.leaderHint);
      if (l !== undefined && l.raft !== null && this.rng.chance(0.8)) return l;
    }
    return this.rng.pick(up);
  }

  private startWrite(client: number, key: string): void {
    let n = this.pickNode(true);
    const id = this.nextOpId++;
    const value = `c${client}-${id}`;
    const data = encoder.encode(JSON.stringify({ k: key, v: value, op: id } satisfies Payload));
    for (let attempt = 0; attempt < 2 && n !== null && n.raft !== null; attempt++) {
      const res = n.raft.propose(data);
      if (res.ok) {
        this.writes.set(id, { id, key, value, invoke: this.now, node: n.id, index: res.index, deadline: this.now + OP_TIMEOUT_STEPS });
        this.clientBusy.add(client);
        this.clientOf.set(id, client);
        this.leaderHint = n.id;
        return;
      }
      // Refused outright: the write never entered any log, so it is not in the history.
      if (res.reason !== 'notLeader' || res.leaderId === null) return;
      this.leaderHint = res.leaderId;
      n = this.nodes.get(res.leaderId) ?? null;
    }
  }

  private startRead(client: number, key: string): void {
    // Any node: followers forward the read index request to the leader.
    const n = this.pickNode(false);
    if (n === null || n.raft === null) return;
    const id = this.nextOpId++;
    const res = n.raft.readIndex(String(id));
    if (!res.ok) return;
    this.reads.set(id, { id, key, invoke: this.now, node: n.id, readIndex: null, deadline: this.now + OP_TIMEOUT_STEPS });
    this.clientBusy.add(client);
    this.clientOf.set(id, client);
  }

  private expireOps(): void {
    for (const w of [...this.writes.values()]) if (w.deadline <= this.now) this.writeIndeterminate(w);
    for (const r of [...this.reads.values()]) if (r.deadline <= this.now) this.dropRead(r);
  }

  private writeIndeterminate(w: PendingWrite): void {
    this.writes.delete(w.id);
    this.clientBusy.delete(this.clientOf.get(w.id) ?? -1);
    this.history.push({ id: w.id, key: w.key, kind: 'write', value: w.value, invoke: w.invoke, complete: Infinity });
    this.stats.writesIndeterminate++;
  }

  private dropRead(r: PendingRead): void {
    // A read with no answer changed nothing; it simply leaves the history.
    this.reads.delete(r.id);
    this.clientBusy.delete(this.clientOf.get(r.id) ?? -1);
  }

  // ---- checks ------------------------------------------------------------------

  private checkLeaders(): void {
    for (const n of this.nodes.values()) {
      if (n.raft === null) continue;
      const st = n.raft.status();
      if (st.term > this.stats.maxTerm) this.stats.maxTerm = st.term;
      if (st.role !== 'leader') continue;
      const leaderRaft = n.raft;
      this.appendOnly.observe(n.id, st.term, st.lastIndex, (i) => leaderRaft.logTerm(i));
      if (this.electionSafety.observeLeader(n.id, st.term)) {
        this.stats.elections++;
        this.leaderHint = n.id;
        this.trace(`${n.id} leads term ${st.term} (last ${st.lastIndex}, commit ${st.commit})`);
        const raft = n.raft;
        this.completeness.check(n.id, st.term, st.firstIndex, (i) => raft.logTerm(i), this.smSafety.applied);
      }
    }
  }

  private trace(line: string): void {
    if (this.opts.log !== undefined) this.opts.log(`[t=${this.now}] ${line}`);
  }
}

function linkKey(a: NodeId, b: NodeId): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function encodeState(kv: Map<string, string>): Uint8Array {
  return encoder.encode(JSON.stringify([...kv.entries()]));
}

function decodeState(data: Uint8Array): Map<string, string> {
  if (data.byteLength === 0) return new Map();
  return new Map(JSON.parse(decoder.decode(data)) as [string, string][]);
}

export function runSimulation(opts: SimOptions): SimResult {
  return new Simulation(opts).run();
}

export const DEFAULT_STEPS = 1500;
export const DEFAULT_LIVENESS_STEPS = 500;

export function replayCommand(seed: number, nodes: number, steps: number): string {
  return `node dist/test/sim/cli.js --seed ${seed} --nodes ${nodes} --steps ${steps}`;
}
