// The leader's view of one follower, and the flow control that keeps a slow or
// unreachable follower from soaking up unbounded memory and bandwidth.
import assert from 'node:assert/strict';
import type { Snapshot } from './types.js';

/**
 * probe: we do not know where the follower's log matches; send one append per
 *   heartbeat interval until a response tells us.
 * replicate: the follower is keeping up; stream appends optimistically, up to
 *   maxInflightMsgs unacknowledged.
 * snapshot: the entries it needs are compacted; send the snapshot in chunks, one
 *   chunk outstanding at a time.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

/** Ring of the last index carried by each unacknowledged append, oldest first. */
export class Inflights {
  private readonly buf: number[];
  private start = 0;
  // Invariant: 0 ≤ count ≤ capacity; stored indices strictly increase.
  private count = 0;

  constructor(readonly capacity: number) {
    assert.ok(capacity > 0, 'maxInflightMsgs must be positive');
    this.buf = new Array<number>(capacity).fill(0);
  }

  full(): boolean {
    return this.count === this.capacity;
  }

  size(): number {
    return this.count;
  }

  add(lastIndex: number): void {
    assert.ok(!this.full(), 'inflight window overflow');
    if (this.count > 0) {
      const newest = this.buf[(this.start + this.count - 1) % this.capacity] as number;
      assert.ok(lastIndex > newest, 'inflight indices must increase');
    }
    this.buf[(this.start + this.count) % this.capacity] = lastIndex;
    this.count++;
  }

  /** An ack up to `index` frees every message that carried nothing beyond it. */
  freeLE(index: number): void {
    while (this.count > 0 && (this.buf[this.start] as number) <= index) {
      this.start = (this.start + 1) % this.capacity;
      this.count--;
    }
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
  }
}

export interface SnapshotSend {
  readonly snapshot: Snapshot;
  /** Bytes the follower has acknowledged; the next chunk starts here. */
  ackedOffset: number;
  /** Ticks since the last chunk went out; resend when it passes the heartbeat interval. */
  idleTicks: number;
}

export class Progress {
  // Invariant: match < next; match only grows while this leader lives.
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** probe state only: an append is outstanding, wait for an answer or a heartbeat response. */
  probeSent = false;
  /** Set by any message from the follower; CheckQuorum reads and clears it. */
  recentActive = false;
  /** Read round this follower last confirmed (see ReadOnly in raft.ts). */
  ackedReadRound = 0;
  snapshotSend: SnapshotSend | null = null;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, maxInflightMsgs: number, isLearner: boolean) {
    assert.ok(next >= 1, 'next index starts at 1');
    this.next = next;
    this.inflights = new Inflights(maxInflightMsgs);
    this.isLearner = isLearner;
  }

  becomeProbe(): void {
    if (this.state === 'snapshot' && this.snapshotSend !== null) {
      // The follower holds the snapshot now (or will be probed from it).
      this.next = Math.max(this.match + 1, this.snapshotSend.snapshot.meta.index + 1);
    } else {
      this.next = this.match + 1;
    }
    this.state = 'probe';
    this.probeSent = false;
    this.snapshotSend = null;
    this.inflights.reset();
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.snapshotSend = null;
    this.inflights.reset();
  }

  becomeSnapshot(snapshot: Snapshot): void {
    this.state = 'snapshot';
    this.probeSent = false;
    this.snapshotSend = { snapshot, ackedOffset: 0, idleTicks: 0 };
    this.inflights.reset();
  }

  /** An accepted append up to n; false if it told us nothing new. */
  maybeUpdate(n: number): boolean {
    let updated = false;
    if (this.match < n) {
      this.match = n;
      updated = true;
      this.probeSent = false;
    }
    if (this.next < n + 1) this.next = n + 1;
    return updated;
  }

  /**
   * A rejected append whose prevIndex was `rejected`; `probeHint` is the leader's
   * best guess of the last index that can match. False if the rejection is stale.
   */
  maybeDecrTo(rejected: number, probeHint: number): boolean {
    if (this.state === 'replicate') {
      // Rejections at or below match come from reordered, older messages.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe we send one message at a time from next-1; any other index is stale.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, probeHint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Whether another append may be sent now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
