// The Raft state machine: inputs are ticks, messages and proposals; outputs are
// collected into a Ready. No I/O, no clocks, no ambient randomness — given the
// same inputs and seed it makes the same decisions, which is what lets the
// simulator replay a failure exactly.
import assert from 'node:assert/strict';
import {
  applyConfChange,
  decodeConfChange,
  encodeConfChange,
  isMember,
  isValidConfChange,
  isVoter,
} from './confchange.js';
import { RaftLog } from './log.js';
import { Progress } from './progress.js';
import type { RandomSource } from './rand.js';
import type { LogStorage } from './storage.js';
import type {
  AppendRequest,
  AppendResponse,
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  HeartbeatRequest,
  HeartbeatResponse,
  Message,
  NodeId,
  ProposeResult,
  ReadIndexResult,
  ReadState,
  Ready,
  Role,
  Snapshot,
  SnapshotChunk,
  SnapshotChunkResponse,
  SoftState,
  TransferResult,
  VoteRequest,
  VoteResponse,
} from './types.js';

export interface RaftConfig {
  readonly id: NodeId;
  /** A follower campaigns after a random timeout in [electionTimeoutTicks, 2·electionTimeoutTicks). */
  readonly electionTimeoutTicks: number;
  /** Must be well below electionTimeoutTicks so followers hear from a live leader in time. */
  readonly heartbeatIntervalTicks: number;
  /** Ask for votes without bumping the term first, so a partitioned node cannot force elections on return. */
  readonly preVote: boolean;
  /** The leader steps down if it has not heard from a majority within an election timeout. */
  readonly checkQuorum: boolean;
  /** Unacknowledged appends per follower in replicate state. */
  readonly maxInflightMsgs: number;
  /** Payload budget of one append (a single larger entry still goes alone). */
  readonly maxSizePerMsgBytes: number;
  /** Proposals are refused while the leader's uncommitted tail exceeds this. */
  readonly maxUncommittedEntriesBytes: number;
  /** Budget of committedEntries handed out by one Ready. */
  readonly maxCommittedSizePerReadyBytes: number;
  /** Read requests the leader holds while confirming leadership. */
  readonly maxPendingReads: number;
  /** InstallSnapshot data bytes per message. */
  readonly snapshotChunkBytes: number;
  /** A follower refuses to reassemble snapshots larger than this. */
  readonly maxSnapshotBytes: number;
  /**
   * Serve leader reads without a heartbeat round while a lease holds. Safe only if
   * CheckQuorum is on (followers refuse votes for an election timeout after hearing
   * from the leader), message delay is bounded, and tick rates of any two nodes differ
   * by less than leaseDriftMarginTicks over one election timeout: the lease ends at
   *   sendTick(acknowledged heartbeat) + electionTimeoutTicks − leaseDriftMarginTicks.
   */
  readonly leaseReads: boolean;
  readonly leaseDriftMarginTicks: number;
  readonly random: RandomSource;
}

export function defaultRaftConfig(id: NodeId, random: RandomSource): RaftConfig {
  return {
    id,
    electionTimeoutTicks: 10,
    heartbeatIntervalTicks: 2,
    preVote: true,
    checkQuorum: true,
    maxInflightMsgs: 64,
    maxSizePerMsgBytes: 1 << 20,
    maxUncommittedEntriesBytes: 64 << 20,
    maxCommittedSizePerReadyBytes: 4 << 20,
    maxPendingReads: 4096,
    snapshotChunkBytes: 256 << 10,
    maxSnapshotBytes: 1 << 30,
    leaseReads: false,
    leaseDriftMarginTicks: 2,
    random,
  };
}

export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId | null;
  readonly role: Role;
  readonly leaderId: NodeId | null;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  readonly leadTransferee: NodeId | null;
  /** Leader only: follower → { match, next, state }. */
  readonly progress: ReadonlyMap<NodeId, { match: number; next: number; state: string }>;
}

interface PendingRead {
  readonly ctx: string;
  readonly from: NodeId;
  readonly index: number;
  readonly round: number;
}

interface SnapshotAssembly {
  // Chunks are only ever combined from one sender in one term: two leaders'
  // snapshots at the same index hold the same state but not necessarily the same bytes.
  readonly from: NodeId;
  readonly term: number;
  readonly meta: Snapshot['meta'];
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
}

type StepFn = (m: Message) => void;

export class RaftNode {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;

  // Persistent (handed out in hardState). Invariant: term never decreases;
  // vote is for `term` only.
  private term = 0;
  private vote: NodeId | null = null;

  private role: Role = 'follower';
  private leaderId: NodeId | null = null;
  private stepRole: StepFn;
  private tickRole: () => void;

  // Membership. Takes effect when a confChange entry is appended (not when
  // committed): baseConf holds for entries ≤ baseConfIndex, each history item
  // for its index onward. Invariant: history indices increase and are > commit
  // except possibly the last one collapsed on commit.
  private baseConf: ConfState;
  private confHistory: { index: number; conf: ConfState }[] = [];

  // Leader only.
  private readonly progress = new Map<NodeId, Progress>();
  /** Index of the last conf change this leader may not yet have committed; at most one pending. */
  private pendingConfIndex = 0;
  /** Bytes of this leader's uncommitted proposals, oldest first; bounded by maxUncommittedEntriesBytes. */
  private uncommitted: { index: number; bytes: number }[] = [];
  private uncommittedBytes = 0;
  private leadTransferee: NodeId | null = null;
  // Read confirmation: each heartbeat broadcast opens a round; a round that a
  // quorum of voters answered proves we were leader when it was sent.
  // Invariant: confirmedRound ≤ readRound; pendingReads sorted by round.
  private readRound = 0;
  private confirmedRound = 0;
  private roundSentTick = new Map<number, number>();
  private pendingReads: PendingRead[] = [];
  /** Reads that arrived before this leader committed an entry of its own term. */
  private readsAwaitingCommit: { ctx: string; from: NodeId }[] = [];
  private leaseExpiryTick = 0;
  private leaseInvalidBeforeTick = 0;

  // Candidate only.
  private readonly votes = new Map<NodeId, boolean>();

  // Follower only.
  private assembly: SnapshotAssembly | null = null;

  // Timers, in ticks. Invariant: electionElapsed ≥ 0.
  private ticks = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  // Output buffers, drained by ready(). Bounded because ready() is called after
  // every batch of inputs and each input produces a bounded number of messages.
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private readyOutstanding = false;
  /**
   * A broadcast of appends was asked for since the last ready(). It is made there, once:
   * every proposal and commit move of one Ready then reaches a follower as one Append,
   * not one each (messages leave only through ready(), so nothing is sent later).
   */
  private bcastPending = false;
  /** Commit index carried by the last Append to each follower in the Ready being built. */
  private readonly batchCommitSent = new Map<NodeId, number>();

  constructor(config: RaftConfig, storage: LogStorage) {
    assert.ok(config.id.length > 0, 'node id must be non-empty');
    assert.ok(config.electionTimeoutTicks > config.heartbeatIntervalTicks, 'election timeout must exceed heartbeat interval');
    assert.ok(config.heartbeatIntervalTicks > 0, 'heartbeatIntervalTicks must be positive');
    assert.ok(config.maxSizePerMsgBytes > 0 && config.snapshotChunkBytes > 0, 'message budgets must be positive');
    assert.ok(!config.leaseReads || config.checkQuorum, 'lease reads are only safe with checkQuorum');
    assert.ok(config.leaseDriftMarginTicks >= 0 && config.leaseDriftMarginTicks < config.electionTimeoutTicks, 'drift margin out of range');
    this.id = config.id;
    this.cfg = config;
    this.log = new RaftLog(storage);
    const hs = storage.hardState();
    this.term = hs.term;
    this.vote = hs.vote;
    this.prevHardState = hs;

    // Membership at start: the snapshot's, then every conf change after it.
    this.baseConf = storage.snapshot().meta.confState;
    const from = Math.max(this.log.firstIndex(), storage.snapshot().meta.index + 1);
    if (from <= this.log.lastIndex()) {
      this.log.scan(from, this.log.lastIndex(), config.maxSizePerMsgBytes, (e) => this.noteConfEntry(e));
    }
    this.collapseConfHistory();

    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
    this.becomeFollower(this.term, null);
    this.prevSoftState = this.softState();
  }

  // ---- public API -------------------------------------------------------

  /** Advance logical time by one tick. */
  tick(): void {
    this.ticks++;
    this.tickRole();
    this.checkInvariants();
  }

  /** Feed a message from a peer. Messages for another node are a routing bug. */
  step(m: Message): void {
    if (m.to !== this.id) assert.fail(`message for ${m.to} delivered to ${this.id}`);
    if (m.from === this.id) return;
    this.stepTerm(m);
    this.checkInvariants();
  }

  private stepTerm(m: Message): void {
    if (m.term > this.term) {
      if ((m.type === 'PreVote' || m.type === 'Vote') && !m.transfer && this.inLease()) {
        // We heard from a live leader within the election timeout: this request
        // comes from a node that cannot see it. Ignoring it (not even bumping our
        // term) is what keeps a rejoining node from deposing a healthy leader.
        return;
      }
      if (m.type === 'PreVote') {
        // A pre-vote never changes our term.
      } else if (m.type === 'PreVoteResp' && !m.reject) {
        // Granted pre-votes carry the term the pre-candidate will campaign at.
      } else if (m.type === 'Append' || m.type === 'Heartbeat' || m.type === 'Snapshot') {
        this.becomeFollower(m.term, m.from);
      } else if (m.type === 'Vote' && this.role !== 'leader') {
        // Raft's rule (Figure 2): the election timer restarts when we grant a vote or hear
        // from a leader, not when a candidate merely shows a higher term. Restarting it
        // here would let a candidate that cannot win (its log is behind ours) keep us, who
        // could, from ever timing out whenever its clock runs faster: without PreVote two
        // voters then livelock (simulator seed 90568). A granted vote restarts it below.
        const elapsed = this.electionElapsed;
        const timeout = this.randomizedElectionTimeout;
        this.becomeFollower(m.term, null);
        this.electionElapsed = elapsed;
        this.randomizedElectionTimeout = timeout;
      } else {
        this.becomeFollower(m.term, null);
      }
    } else if (m.term < this.term) {
      if ((this.cfg.checkQuorum || this.cfg.preVote) && (m.type === 'Append' || m.type === 'Heartbeat')) {
        // A stale leader would otherwise never learn it was deposed: with PreVote
        // nobody's vote request reaches it with a higher term.
        this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: true, index: 0, hintIndex: 0, hintTerm: 0 });
      } else if (m.type === 'PreVote' || m.type === 'Vote') {
        // Tell a candidate stuck at a lower term what the term is. Ignoring it is
        // not enough: if we do not count it as a peer (our log lags a membership
        // change) we never contact it, and it would campaign at stale terms forever.
        this.send({ type: m.type === 'PreVote' ? 'PreVoteResp' : 'VoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      }
      return;
    }
    if (m.type === 'PreVote' || m.type === 'Vote') {
      this.handleVoteRequest(m);
      return;
    }
    this.stepRole(m);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leaderId: this.leaderId };
    // One change at a time: the previous one must be committed, and so must an
    // entry of this term (otherwise an uncommitted change from an earlier leader
    // could combine with ours into two non-overlapping majorities).
    if (this.pendingConfIndex > this.log.committed || !this.committedInCurrentTerm()) {
      return { ok: false, reason: 'confChangePending', leaderId: this.id };
    }
    if (!isValidConfChange(this.conf(), cc)) return { ok: false, reason: 'invalidConfChange', leaderId: this.id };
    const r = this.proposeEntry('confChange', encodeConfChange(cc));
    if (r.ok) this.pendingConfIndex = r.index;
    return r;
  }

  /**
   * Ask for a linearizable read. The answer arrives as a ReadState with the same
   * ctx; serve the read once the state machine has applied its index.
   */
  readIndex(ctx: string): ReadIndexResult {
    if (this.role === 'leader') {
      if (this.pendingReads.length + this.readsAwaitingCommit.length >= this.cfg.maxPendingReads) {
        return { ok: false, reason: 'tooManyPendingReads' };
      }
      this.handleReadRequest(ctx, this.id);
      return { ok: true };
    }
    if (this.leaderId === null) return { ok: false, reason: 'noLeader' };
    this.send({ type: 'ReadIndex', from: this.id, to: this.leaderId, term: this.term, ctx });
    return { ok: true };
  }

  transferLeadership(to: NodeId): TransferResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader' };
    if (to === this.id) return { ok: false, reason: 'alreadyLeader' };
    if (!isVoter(this.conf(), to)) return { ok: false, reason: 'notVoter' };
    if (this.leadTransferee === to) return { ok: false, reason: 'inProgress' };
    this.leadTransferee = to;
    // The transfer is abandoned if it has not happened within an election timeout.
    this.electionElapsed = 0;
    const pr = this.progress.get(to);
    assert.ok(pr !== undefined, 'voter without progress');
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, true);
    return { ok: true };
  }

  hasReady(): boolean {
    if (this.bcastPending || this.msgs.length > 0 || this.readStates.length > 0) return true;
    if (this.log.unstable().length > 0 || this.log.pendingSnapshot() !== null) return true;
    if (this.log.hasNextCommitted()) return true;
    if (!hardStateEquals(this.hardState(), this.prevHardState)) return true;
    const ss = this.softState();
    return ss.role !== this.prevSoftState.role || ss.leaderId !== this.prevSoftState.leaderId || ss.term !== this.prevSoftState.term;
  }

  ready(): Ready {
    assert.ok(!this.readyOutstanding, 'ready() called again before advance()');
    this.readyOutstanding = true;
    this.flushBcast();
    const hs = this.hardState();
    const rd: Ready = {
      softState: this.softState(),
      hardState: hardStateEquals(hs, this.prevHardState) ? null : hs,
      snapshotToInstall: this.log.pendingSnapshot(),
      entriesToPersist: [...this.log.unstable()],
      committedEntries: this.log.nextCommitted(this.cfg.maxCommittedSizePerReadyBytes),
      messages: this.msgs,
      readStates: this.readStates,
    };
    this.msgs = [];
    this.readStates = [];
    this.prevSoftState = rd.softState;
    return rd;
  }

  /** The runtime has done everything `rd` asked (persisted, sent, applied). */
  advance(rd: Ready): void {
    assert.ok(this.readyOutstanding, 'advance() without ready()');
    this.readyOutstanding = false;
    if (rd.hardState !== null) this.prevHardState = rd.hardState;
    if (rd.snapshotToInstall !== null) this.log.stableSnapTo(rd.snapshotToInstall.meta.index);
    const lastPersisted = rd.entriesToPersist[rd.entriesToPersist.length - 1];
    if (lastPersisted !== undefined) this.log.stableTo(lastPersisted.index, lastPersisted.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied !== undefined) this.log.appliedTo(lastApplied.index);
    if (this.role === 'leader') {
      // The leader counts itself toward a majority only for what it has on disk.
      const self = this.progress.get(this.id);
      if (self !== undefined && self.maybeUpdate(this.log.stableLastIndex()) && this.maybeCommit() && this.role === 'leader') {
        this.bcastAppend();
      }
    }
  }

  status(): Status {
    const progress = new Map<NodeId, { match: number; next: number; state: string }>();
    for (const [id, pr] of this.progress) progress.set(id, { match: pr.match, next: pr.next, state: pr.state });
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      leaderId: this.leaderId,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      conf: this.conf(),
      leadTransferee: this.leadTransferee,
      progress,
    };
  }

  /** Term of log entry i as this node sees it (including unpersisted), or undefined. */
  logTerm(i: number): number | undefined {
    return this.log.term(i);
  }

  /** Entries [lo, hi] as this node sees them, for checkers; null if compacted. */
  logEntries(lo: number, hi: number): Entry[] | null {
    if (hi < lo) return [];
    return this.log.slice(lo, hi + 1, Number.MAX_SAFE_INTEGER);
  }

  // ---- roles ------------------------------------------------------------

  private becomeFollower(term: number, leader: NodeId | null): void {
    this.reset(term);
    this.role = 'follower';
    this.leaderId = leader;
    this.stepRole = this.stepFollower;
    this.tickRole = this.tickElection;
  }

  private becomePreCandidate(): void {
    assert.ok(this.role !== 'leader', 'a leader does not pre-campaign');
    // Term and vote stay as they are: losing a pre-vote must leave no trace.
    this.votes.clear();
    this.role = 'preCandidate';
    this.leaderId = null;
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeCandidate(): void {
    assert.ok(this.role !== 'leader', 'a leader does not campaign');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.stepRole = this.stepCandidate;
    this.tickRole = this.tickElection;
  }

  private becomeLeader(): void {
    assert.equal(this.role, 'candidate', 'only a candidate becomes leader');
    this.reset(this.term);
    this.role = 'leader';
    this.leaderId = this.id;
    this.stepRole = this.stepLeader;
    this.tickRole = this.tickHeartbeat;
    const next = this.log.lastIndex() + 1;
    const conf = this.conf();
    for (const id of [...conf.voters, ...conf.learners]) {
      this.progress.set(id, new Progress(next, this.cfg.maxInflightMsgs, conf.learners.includes(id)));
    }
    const self = this.progress.get(this.id);
    if (self !== undefined) {
      self.maybeUpdate(this.log.stableLastIndex());
      self.becomeReplicate();
    }
    // Changes already in the log but not committed count as pending.
    this.pendingConfIndex = this.log.lastIndex();
    // An entry of our own term, so that everything before it commits and reads
    // can be served (Raft §8: a leader must commit in its term before it knows
    // the commit index).
    this.appendEntries([{ type: 'normal', data: new Uint8Array(0) }]);
    this.bcastAppend();
  }

  private reset(term: number): void {
    if (this.term !== term) {
      assert.ok(term > this.term, 'term must not go backwards');
      this.term = term;
      this.vote = null;
    }
    this.leaderId = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.cfg.electionTimeoutTicks + this.cfg.random.intBelow(this.cfg.electionTimeoutTicks);
    this.votes.clear();
    this.progress.clear();
    this.pendingConfIndex = 0;
    this.uncommitted = [];
    this.uncommittedBytes = 0;
    this.leadTransferee = null;
    // Pending reads are dropped; their clients time out and retry elsewhere.
    this.pendingReads = [];
    this.readsAwaitingCommit = [];
    this.roundSentTick.clear();
    this.readRound = 0;
    this.confirmedRound = 0;
    this.leaseExpiryTick = 0;
  }

  /**
   * Whether we may campaign: as a voter of our latest configuration, or as a voter of the
   * committed one that a change not yet committed removes. The latter may hold the only
   * log that can finish that change: a leader of {a, b} that removed itself and restarted
   * before `a` got the entry cannot be outvoted by `a`, whose log is behind, and would
   * otherwise never campaign (simulator seed 92920). Elected by a majority of the new
   * configuration, it commits the change and steps down (onLeaderCommit).
   */
  private promotable(): boolean {
    if (this.log.pendingSnapshot() !== null) return false;
    return isVoter(this.conf(), this.id) || (this.confHistory.length > 0 && isVoter(this.baseConf, this.id));
  }

  private campaign(kind: 'preVote' | 'vote', transfer: boolean): void {
    const pre = kind === 'preVote';
    if (pre) this.becomePreCandidate();
    else this.becomeCandidate();
    const voteTerm = pre ? this.term + 1 : this.term;
    if (this.poll(this.id, true) === 'won') {
      // A single-voter cluster needs nobody else.
      if (pre) this.campaign('vote', false);
      else this.becomeLeader();
      return;
    }
    const lastLogIndex = this.log.lastIndex();
    const lastLogTerm = this.log.lastTerm();
    for (const id of this.conf().voters) {
      if (id === this.id) continue;
      this.send({ type: pre ? 'PreVote' : 'Vote', from: this.id, to: id, term: voteTerm, lastLogIndex, lastLogTerm, transfer });
    }
  }

  private poll(from: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    if (!this.votes.has(from)) this.votes.set(from, granted);
    const voters = this.conf().voters;
    const q = quorum(voters.length);
    let yes = 0;
    let no = 0;
    for (const id of voters) {
      const v = this.votes.get(id);
      if (v === true) yes++;
      else if (v === false) no++;
    }
    if (yes >= q) return 'won';
    if (voters.length - no < q) return 'lost';
    return 'pending';
  }

  /** Whether we should still believe in a leader and refuse to help unseat it. */
  private inLease(): boolean {
    if (!this.cfg.checkQuorum) return false;
    if (this.leaderId !== null && this.electionElapsed < this.cfg.electionTimeoutTicks) return true;
    // Just restarted, we cannot know whether we acknowledged a leader's lease a
    // moment before crashing; lease reads are only safe if we keep quiet for a timeout.
    return this.cfg.leaseReads && this.ticks < this.cfg.electionTimeoutTicks;
  }

  // ---- ticks ------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(this.cfg.preVote ? 'preVote' : 'vote', false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.cfg.electionTimeoutTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, null);
        return;
      }
      if (this.leadTransferee !== null) this.leadTransferee = null;
    }
    for (const [id, pr] of this.progress) {
      const send = pr.snapshotSend;
      if (id === this.id || pr.state !== 'snapshot' || send === null) continue;
      send.idleTicks++;
      // A lost chunk or a lost final acknowledgement: resend rather than stall.
      if (send.idleTicks >= 2 * this.cfg.heartbeatIntervalTicks) {
        if (send.ackedOffset >= send.snapshot.data.byteLength) send.ackedOffset = 0;
        this.sendSnapshotChunk(id, pr);
      }
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatIntervalTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  /** CheckQuorum: did a majority of voters talk to us since the last check? */
  private quorumActive(): boolean {
    const voters = this.conf().voters;
    let active = 0;
    for (const id of voters) {
      const pr = this.progress.get(id);
      if (pr === undefined) continue;
      if (id === this.id || pr.recentActive) active++;
      pr.recentActive = false;
    }
    return active >= quorum(voters.length);
  }

  // ---- step functions per role -------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'Append':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleAppend(m);
        return;
      case 'Heartbeat':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleHeartbeat(m);
        return;
      case 'Snapshot':
        this.electionElapsed = 0;
        this.leaderId = m.from;
        this.handleSnapshotChunk(m);
        return;
      case 'TimeoutNow':
        // The leader picked us and stopped accepting writes; skip PreVote, since
        // the others would refuse it while they still hear from the leader.
        if (this.promotable()) this.campaign('vote', true);
        return;
      case 'ReadIndexResp':
        if (!m.reject) this.readStates.push({ ctx: m.ctx, index: m.index });
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'Append':
      case 'Heartbeat':
      case 'Snapshot':
        // A leader exists for our term; we lost.
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'PreVoteResp':
      case 'VoteResp':
        this.handleVoteResponse(m);
        return;
      default:
        return;
    }
  }

  private stepLeader(m: Message): void {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return; // not (or no longer) a member
    pr.recentActive = true;
    switch (m.type) {
      case 'AppendResp':
        this.handleAppendResponse(m, pr);
        return;
      case 'HeartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        return;
      case 'SnapshotResp':
        this.handleSnapshotResponse(m, pr);
        return;
      case 'ReadIndex':
        if (this.pendingReads.length + this.readsAwaitingCommit.length >= this.cfg.maxPendingReads) {
          this.send({ type: 'ReadIndexResp', from: this.id, to: m.from, term: this.term, ctx: m.ctx, index: 0, reject: true });
          return;
        }
        this.handleReadRequest(m.ctx, m.from);
        return;
      default:
        return;
    }
  }

  // ---- elections ----------------------------------------------------------

  private handleVoteRequest(m: VoteRequest): void {
    const respType = m.type === 'PreVote' ? 'PreVoteResp' : 'VoteResp';
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.leaderId === null) ||
      (m.type === 'PreVote' && m.term > this.term);
    if (canVote && this.log.isUpToDate(m.lastLogIndex, m.lastLogTerm)) {
      // A granted response carries the request's term so the candidate counts it.
      this.send({ type: respType, from: this.id, to: m.from, term: m.term, reject: false });
      if (m.type === 'Vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: respType, from: this.id, to: m.from, term: this.term, reject: true });
    }
  }

  private handleVoteResponse(m: VoteResponse): void {
    if (m.type === 'PreVoteResp') {
      if (this.role !== 'preCandidate') return;
      if (m.term !== (m.reject ? this.term : this.term + 1)) return;
    } else if (this.role !== 'candidate' || m.term !== this.term) {
      return;
    }
    const result = this.poll(m.from, !m.reject);
    if (result === 'won') {
      if (this.role === 'preCandidate') this.campaign('vote', false);
      else this.becomeLeader();
    } else if (result === 'lost') {
      this.becomeFollower(this.term, null);
    }
  }

  // ---- replication: follower side ---------------------------------------

  private handleAppend(m: AppendRequest): void {
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit already matches any leader's log.
      this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    if (this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      const { lastNew, conflict } = this.log.appendFromLeader(m.prevIndex, m.entries);
      if (conflict !== 0) {
        this.truncateConfHistory(conflict);
        for (const e of m.entries) if (e.index >= conflict) this.noteConfEntry(e);
      }
      if (this.log.commitTo(Math.min(m.commit, lastNew))) this.collapseConfHistory();
      this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: false, index: lastNew, hintIndex: 0, hintTerm: 0 });
      return;
    }
    // Tell the leader where our log might start agreeing with its prevTerm, so
    // it can skip a whole conflicting term in one round trip.
    const hintIndex = this.log.findConflictByTerm(Math.min(m.prevIndex, this.log.lastIndex()), m.prevTerm);
    const hintTerm = this.log.term(hintIndex) ?? 0;
    this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: true, index: m.prevIndex, hintIndex, hintTerm });
  }

  private handleHeartbeat(m: HeartbeatRequest): void {
    // The leader never sends a commit beyond what it knows we hold.
    if (this.log.commitTo(m.commit)) this.collapseConfHistory();
    this.send({ type: 'HeartbeatResp', from: this.id, to: m.from, term: this.term, readRound: m.readRound });
  }

  private handleSnapshotChunk(m: SnapshotChunk): void {
    if (m.meta.index <= this.log.committed) {
      this.assembly = null;
      this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
      return;
    }
    if (m.totalBytes > this.cfg.maxSnapshotBytes) {
      this.send({ type: 'SnapshotResp', from: this.id, to: m.from, term: this.term, snapshotIndex: m.meta.index, nextOffset: 0, reject: true });
      return;
    }
    const a = this.assembly;
    if (a === null || a.from !== m.from || a.term !== m.term || a.meta.index !== m.meta.index || a.meta.term !== m.meta.term || a.totalBytes !== m.totalBytes) {
      if (m.offset !== 0) {
        this.send({ type: 'SnapshotResp', from: this.id, to: m.from, term: this.term, snapshotIndex: m.meta.index, nextOffset: 0, reject: false });
        return;
      }
      this.assembly = { from: m.from, term: m.term, meta: m.meta, totalBytes: m.totalBytes, chunks: [], received: 0 };
    }
    const cur = this.assembly as SnapshotAssembly;
    if (m.offset !== cur.received) {
      // Duplicate or out of order: say where we are and let the leader resend.
      this.send({ type: 'SnapshotResp', from: this.id, to: m.from, term: this.term, snapshotIndex: m.meta.index, nextOffset: cur.received, reject: false });
      return;
    }
    assert.ok(cur.received + m.data.byteLength <= cur.totalBytes, 'snapshot chunk overruns its declared size');
    cur.chunks.push(m.data);
    cur.received += m.data.byteLength;
    if (!m.done) {
      this.send({ type: 'SnapshotResp', from: this.id, to: m.from, term: this.term, snapshotIndex: m.meta.index, nextOffset: cur.received, reject: false });
      return;
    }
    assert.equal(cur.received, cur.totalBytes, 'final snapshot chunk before all bytes arrived');
    const data = new Uint8Array(cur.totalBytes);
    let at = 0;
    for (const c of cur.chunks) {
      data.set(c, at);
      at += c.byteLength;
    }
    this.assembly = null;
    this.restore({ meta: cur.meta, data });
    this.send({ type: 'AppendResp', from: this.id, to: m.from, term: this.term, reject: false, index: this.log.committed, hintIndex: 0, hintTerm: 0 });
  }

  private restore(snap: Snapshot): void {
    if (this.log.matchTerm(snap.meta.index, snap.meta.term)) {
      // We already hold the snapshot's last entry, hence everything before it.
      if (this.log.commitTo(snap.meta.index)) this.collapseConfHistory();
      return;
    }
    this.log.restore(snap);
    this.baseConf = snap.meta.confState;
    this.confHistory = [];
  }

  // ---- replication: leader side -------------------------------------------

  private proposeEntry(type: EntryType, data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') return { ok: false, reason: 'notLeader', leaderId: this.leaderId };
    if (this.leadTransferee !== null) return { ok: false, reason: 'transferring', leaderId: this.id };
    const bytes = data.byteLength + 24;
    // Always admit one entry into an empty window so a large entry is not stuck forever.
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedEntriesBytes) {
      return { ok: false, reason: 'tooLarge', leaderId: this.id };
    }
    const index = this.appendEntries([{ type, data }]);
    this.uncommitted.push({ index, bytes });
    this.uncommittedBytes += bytes;
    this.bcastAppend();
    return { ok: true, index, term: this.term };
  }

  /** Append at the end of the leader's log; returns the last new index. */
  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): number {
    let index = this.log.lastIndex();
    const entries: Entry[] = items.map((it) => ({ index: ++index, term: this.term, type: it.type, data: it.data }));
    this.log.appendNew(entries);
    for (const e of entries) this.noteConfEntry(e);
    return index;
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined) assert.fail(`no progress for ${to}`);
    if (pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = prevTerm === undefined ? null : this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxSizePerMsgBytes);
    if (prevTerm === undefined || entries === null) {
      // What it needs is compacted away.
      this.startSnapshot(to, pr);
      return true;
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    const msg: AppendRequest = { type: 'Append', from: this.id, to, term: this.term, prevIndex, prevTerm, entries, commit: this.log.committed };
    this.send(msg);
    this.batchCommitSent.set(to, msg.commit);
    const last = entries[entries.length - 1];
    if (pr.state === 'replicate') {
      if (last !== undefined) {
        pr.next = last.index + 1;
        pr.inflights.add(last.index);
      }
    } else {
      pr.probeSent = true;
    }
    return true;
  }

  private bcastAppend(): void {
    if (this.role === 'leader') this.bcastPending = true;
  }

  private flushBcast(): void {
    const pending = this.bcastPending;
    this.bcastPending = false;
    if (pending && this.role === 'leader') {
      const last = this.log.lastIndex();
      for (const [id, pr] of this.progress) {
        if (id === this.id) continue;
        // This Ready already tells it everything: nothing new to send, commit current.
        if (pr.next > last && this.batchCommitSent.get(id) === this.log.committed) continue;
        this.sendAppend(id, true);
      }
    }
    this.batchCommitSent.clear();
  }

  private bcastHeartbeat(): void {
    const round = ++this.readRound;
    this.roundSentTick.set(round, this.ticks);
    // Rounds older than an election timeout can no longer yield a lease; a later
    // round confirms any read an older one would have.
    for (const [r, t] of this.roundSentTick) {
      if (t + this.cfg.electionTimeoutTicks < this.ticks) this.roundSentTick.delete(r);
      else break;
    }
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      // Never claim a commit the follower may not hold.
      const commit = Math.min(pr.match, this.log.committed);
      const msg: HeartbeatRequest = { type: 'Heartbeat', from: this.id, to: id, term: this.term, commit, readRound: round };
      this.send(msg);
    }
  }

  private handleAppendResponse(m: AppendResponse, pr: Progress): void {
    if (m.reject) {
      // The leader's guess: the last index ≤ hintIndex whose term ≤ hintTerm.
      const probeHint = m.hintTerm > 0 ? this.log.findConflictByTerm(m.hintIndex, m.hintTerm) : m.hintIndex;
      if (pr.maybeDecrTo(m.index, probeHint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from, true);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from, false);
      return;
    }
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot') {
      const send = pr.snapshotSend;
      if (send === null || pr.match >= send.snapshot.meta.index) pr.becomeProbe();
    } else {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      // Committing may have removed us (our own removal took effect).
      if (this.role !== 'leader') return;
      this.bcastAppend();
    }
    // Fill the window.
    while (this.sendAppend(m.from, false)) {
      if (pr.state !== 'replicate') break;
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponse, pr: Progress): void {
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) {
      // Appends may have been lost; make room so the next one can find out.
      pr.inflights.freeFirst();
    }
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from, true);
    if (m.readRound > pr.ackedReadRound) {
      pr.ackedReadRound = m.readRound;
      this.advanceReads();
    }
  }

  private handleSnapshotResponse(m: SnapshotChunkResponse, pr: Progress): void {
    const send = pr.snapshotSend;
    if (pr.state !== 'snapshot' || send === null || send.snapshot.meta.index !== m.snapshotIndex) return;
    if (m.reject) {
      // The follower cannot take it; fall back to probing and let the operator see the lag.
      pr.snapshotSend = null;
      pr.becomeProbe();
      return;
    }
    send.ackedOffset = m.nextOffset;
    if (send.ackedOffset < send.snapshot.data.byteLength) this.sendSnapshotChunk(m.from, pr);
  }

  private startSnapshot(to: NodeId, pr: Progress): void {
    const snap = this.log.storage.snapshot();
    assert.ok(snap.meta.index > 0, 'entries compacted without a snapshot');
    assert.ok(snap.meta.index >= pr.next - 1 || this.log.term(pr.next - 1) === undefined, 'snapshot does not cover the gap');
    pr.becomeSnapshot(snap);
    this.sendSnapshotChunk(to, pr);
  }

  private sendSnapshotChunk(to: NodeId, pr: Progress): void {
    const send = pr.snapshotSend;
    assert.ok(send !== null, 'snapshot state without a snapshot');
    const total = send.snapshot.data.byteLength;
    const offset = send.ackedOffset;
    const end = Math.min(total, offset + this.cfg.snapshotChunkBytes);
    const msg: SnapshotChunk = {
      type: 'Snapshot',
      from: this.id,
      to,
      term: this.term,
      meta: send.snapshot.meta,
      totalBytes: total,
      offset,
      // A view, not a copy: the snapshot is immutable once taken.
      data: send.snapshot.data.subarray(offset, end),
      done: end === total,
    };
    send.idleTicks = 0;
    this.send(msg);
  }

  /** Raft §5.4.2: only an entry of the current term commits by counting replicas. */
  private maybeCommit(): boolean {
    const voters = this.conf().voters;
    if (voters.length === 0) return false;
    const matches: number[] = [];
    for (const id of voters) matches.push(this.progress.get(id)?.match ?? 0);
    matches.sort((a, b) => b - a);
    const candidate = matches[quorum(voters.length) - 1] as number;
    if (candidate <= this.log.committed || this.log.term(candidate) !== this.term) return false;
    this.log.commitTo(candidate);
    this.onLeaderCommit();
    return true;
  }

  private onLeaderCommit(): void {
    while (this.uncommitted.length > 0 && (this.uncommitted[0] as { index: number }).index <= this.log.committed) {
      this.uncommittedBytes -= (this.uncommitted.shift() as { bytes: number }).bytes;
    }
    assert.ok(this.uncommittedBytes >= 0, 'uncommitted byte count went negative');
    this.collapseConfHistory();
    if (this.readsAwaitingCommit.length > 0 && this.committedInCurrentTerm()) {
      const waiting = this.readsAwaitingCommit;
      this.readsAwaitingCommit = [];
      for (const r of waiting) this.handleReadRequest(r.ctx, r.from);
    }
    if (!isVoter(this.conf(), this.id) && this.confHistory.length === 0) {
      // Our own removal is committed: the cluster goes on without us.
      this.becomeFollower(this.term, null);
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    // Once the target campaigns with transfer set, voters ignore their leases, so
    // ours cannot be trusted while a TimeoutNow may still arrive: until the transfer
    // is abandoned (one election timeout) plus one more for a message in flight
    // (lease reads assume delays shorter than that).
    this.leaseExpiryTick = 0;
    this.leaseInvalidBeforeTick = this.ticks + 2 * this.cfg.electionTimeoutTicks;
    this.send({ type: 'TimeoutNow', from: this.id, to, term: this.term });
  }

  // ---- reads --------------------------------------------------------------

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleReadRequest(ctx: string, from: NodeId): void {
    assert.equal(this.role, 'leader', 'only the leader confirms reads');
    if (!this.committedInCurrentTerm()) {
      this.readsAwaitingCommit.push({ ctx, from });
      return;
    }
    const index = this.log.committed;
    const voters = this.conf().voters;
    if (this.leaseValid() || (voters.length === 1 && voters[0] === this.id)) {
      this.answerRead(ctx, from, index);
      return;
    }
    // Confirm we are still leader with a fresh heartbeat round.
    this.bcastHeartbeat();
    this.pendingReads.push({ ctx, from, index, round: this.readRound });
  }

  private leaseValid(): boolean {
    return this.cfg.leaseReads && this.leadTransferee === null && this.ticks < this.leaseExpiryTick;
  }

  private advanceReads(): void {
    const voters = this.conf().voters;
    if (voters.length === 0) return;
    const rounds: number[] = [];
    for (const id of voters) rounds.push(id === this.id ? this.readRound : (this.progress.get(id)?.ackedReadRound ?? 0));
    rounds.sort((a, b) => b - a);
    const confirmed = rounds[quorum(voters.length) - 1] as number;
    if (confirmed <= this.confirmedRound) return;
    this.confirmedRound = confirmed;
    const sent = this.roundSentTick.get(confirmed);
    if (sent !== undefined && sent >= this.leaseInvalidBeforeTick) {
      this.leaseExpiryTick = Math.max(this.leaseExpiryTick, sent + this.cfg.electionTimeoutTicks - this.cfg.leaseDriftMarginTicks);
    }
    for (const r of this.roundSentTick.keys()) {
      if (r > confirmed) break;
      this.roundSentTick.delete(r);
    }
    let k = 0;
    while (k < this.pendingReads.length && (this.pendingReads[k] as PendingRead).round <= confirmed) {
      const r = this.pendingReads[k] as PendingRead;
      this.answerRead(r.ctx, r.from, r.index);
      k++;
    }
    this.pendingReads.splice(0, k);
  }

  private answerRead(ctx: string, from: NodeId, index: number): void {
    if (from === this.id) this.readStates.push({ ctx, index });
    else this.send({ type: 'ReadIndexResp', from: this.id, to: from, term: this.term, ctx, index, reject: false });
  }

  // ---- membership -------------------------------------------------------------

  conf(): ConfState {
    const last = this.confHistory[this.confHistory.length - 1];
    return last === undefined ? this.baseConf : last.conf;
  }

  private noteConfEntry(e: Entry): void {
    if (e.type !== 'confChange') return;
    const conf = applyConfChange(this.conf(), decodeConfChange(e.data));
    this.confHistory.push({ index: e.index, conf });
    if (this.role === 'leader') this.syncProgress();
  }

  private truncateConfHistory(from: number): void {
    while (this.confHistory.length > 0 && (this.confHistory[this.confHistory.length - 1] as { index: number }).index >= from) {
      this.confHistory.pop();
    }
  }

  /** Committed changes can never be undone, so fold them into the base. */
  private collapseConfHistory(): void {
    while (this.confHistory.length > 0 && (this.confHistory[0] as { index: number }).index <= this.log.committed) {
      this.baseConf = (this.confHistory.shift() as { conf: ConfState }).conf;
    }
  }

  private syncProgress(): void {
    const conf = this.conf();
    for (const id of [...this.progress.keys()]) {
      if (!isMember(conf, id)) this.progress.delete(id);
    }
    for (const id of [...conf.voters, ...conf.learners]) {
      const learner = conf.learners.includes(id);
      const pr = this.progress.get(id);
      if (pr === undefined) {
        const fresh = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs, learner);
        // A new member has been heard from as far as CheckQuorum is concerned.
        fresh.recentActive = true;
        this.progress.set(id, fresh);
      } else {
        pr.isLearner = learner;
      }
    }
    if (this.leadTransferee !== null && !isVoter(conf, this.leadTransferee)) this.leadTransferee = null;
  }

  // ---- helpers ----------------------------------------------------------------

  /** Cheap checks after every input; a violation means a bug, so stop loudly. */
  private checkInvariants(): void {
    const log = this.log;
    if (log.applied > log.committed) assert.fail(`applied ${log.applied} > commit ${log.committed}`);
    if (log.committed > log.lastIndex()) assert.fail(`commit ${log.committed} > last index ${log.lastIndex()}`);
    assert.ok(this.term >= this.prevHardState.term, 'term went backwards');
    assert.ok(this.role !== 'leader' || this.leaderId === this.id, 'a leader must know it leads');
    assert.ok(this.role === 'leader' || this.progress.size === 0, 'only a leader tracks progress');
    assert.ok(this.role !== 'candidate' || this.vote === this.id, 'a candidate votes for itself');
    assert.ok(this.uncommittedBytes >= 0 && this.pendingReads.length + this.readsAwaitingCommit.length <= this.cfg.maxPendingReads + 1, 'read or proposal bounds exceeded');
  }

  private send(m: Message): void {
    assert.notEqual(m.to, this.id, 'a node does not message itself');
    this.msgs.push(m);
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { role: this.role, leaderId: this.leaderId, term: this.term };
  }
}

export function quorum(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

function hardStateEquals(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}
