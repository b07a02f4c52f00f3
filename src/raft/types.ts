// Plain data shared by the Raft core, its storage and whoever carries its
// messages. Everything here is serialisable: numbers, strings, booleans,
// arrays and Uint8Array, so the runtime can put a message on TCP as is.

/** Node identities are opaque strings ("n1"); `null` means "nobody". */
export type NodeId = string;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** Opaque to Raft for 'normal'; an encoded ConfChange for 'confChange'. */
  readonly data: Uint8Array;
}

/** What must be on disk before any message of the same Ready is sent. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId | null;
  readonly commit: number;
}

/** Invariant: voters and learners are disjoint and each sorted, no duplicates. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly nodeId: NodeId;
}

export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /** Membership as of `index`, so a node restored from it knows its peers. */
  readonly confState: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** Opaque application state; Raft only chunks and forwards it. */
  readonly data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** Volatile state the runtime may want to show or route by; never persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leaderId: NodeId | null;
  readonly term: number;
}

/** A linearizable read may be served once the state machine has applied `index`. */
export interface ReadState {
  readonly ctx: string;
  readonly index: number;
}

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export interface VoteRequest extends MessageBase {
  readonly type: 'PreVote' | 'Vote';
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /** Set when the election was started by TimeoutNow: voters skip leader stickiness. */
  readonly transfer: boolean;
}

export interface VoteResponse extends MessageBase {
  readonly type: 'PreVoteResp' | 'VoteResp';
  readonly reject: boolean;
}

export interface AppendRequest extends MessageBase {
  readonly type: 'Append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponse extends MessageBase {
  readonly type: 'AppendResp';
  readonly reject: boolean;
  /** Accepted: the follower's last index matching the leader. Rejected: the prevIndex that failed. */
  readonly index: number;
  /**
   * Rejected only: the largest index ≤ min(prevIndex, follower's last index) whose
   * term is ≤ the leader's prevTerm, with that term. Lets the leader skip a whole
   * conflicting term per round trip instead of one entry.
   */
  readonly hintIndex: number;
  readonly hintTerm: number;
}

export interface HeartbeatRequest extends MessageBase {
  readonly type: 'Heartbeat';
  readonly commit: number;
  /** Read round the leader is confirming (0 = none). */
  readonly readRound: number;
}

export interface HeartbeatResponse extends MessageBase {
  readonly type: 'HeartbeatResp';
  readonly readRound: number;
}

export interface SnapshotChunk extends MessageBase {
  readonly type: 'Snapshot';
  readonly meta: SnapshotMeta;
  readonly totalBytes: number;
  readonly offset: number;
  readonly data: Uint8Array;
  readonly done: boolean;
}

export interface SnapshotChunkResponse extends MessageBase {
  readonly type: 'SnapshotResp';
  readonly snapshotIndex: number;
  /** The byte offset the follower expects next; the leader resends from there. */
  readonly nextOffset: number;
  readonly reject: boolean;
}

export interface ReadIndexRequest extends MessageBase {
  readonly type: 'ReadIndex';
  readonly ctx: string;
}

export interface ReadIndexResponse extends MessageBase {
  readonly type: 'ReadIndexResp';
  readonly ctx: string;
  readonly index: number;
  readonly reject: boolean;
}

export interface TimeoutNow extends MessageBase {
  readonly type: 'TimeoutNow';
}

export type Message =
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | HeartbeatRequest
  | HeartbeatResponse
  | SnapshotChunk
  | SnapshotChunkResponse
  | ReadIndexRequest
  | ReadIndexResponse
  | TimeoutNow;

export type MessageType = Message['type'];

/**
 * One batch of work for the runtime. Order matters for safety:
 * 1. install `snapshotToInstall`, append `entriesToPersist`, write `hardState` — durably;
 * 2. only then send `messages` (they may acknowledge what step 1 wrote);
 * 3. apply `committedEntries` in order, serve `readStates` once applied ≥ index;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState;
  readonly hardState: HardState | null;
  readonly snapshotToInstall: Snapshot | null;
  readonly entriesToPersist: readonly Entry[];
  readonly committedEntries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly readStates: readonly ReadState[];
}

export type ProposeResult =
  | { readonly ok: true; readonly index: number; readonly term: number }
  | { readonly ok: false; readonly reason: 'notLeader'; readonly leaderId: NodeId | null }
  | { readonly ok: false; readonly reason: 'transferring' | 'tooLarge' | 'confChangePending' | 'invalidConfChange'; readonly leaderId: NodeId | null };

export type ReadIndexResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'noLeader' | 'tooManyPendingReads' };

export type TransferResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'notLeader' | 'notVoter' | 'alreadyLeader' | 'inProgress' };

export function entryBytes(e: Entry): number {
  // A fixed overhead per entry keeps empty entries from being "free" against byte budgets.
  return e.data.byteLength + 24;
}
