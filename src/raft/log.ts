// The node's view of its log: what storage has persisted, plus an unstable
// tail (and possibly a snapshot) that the next Ready will ask to persist.
import assert from 'node:assert/strict';
import type { LogStorage } from './storage.js';
import type { Entry, Snapshot } from './types.js';
import { entryBytes } from './types.js';

export class RaftLog {
  readonly storage: LogStorage;
  // Unstable part. Invariant: unstableEntries[k].index === unstableOffset + k.
  // If unstableSnapshot is set, unstableOffset === its index + 1 and storage is
  // ignored entirely (it is about to be replaced).
  private unstableSnapshot: Snapshot | null = null;
  private unstableEntries: Entry[] = [];
  private unstableOffset: number;
  // Invariant: applied ≤ committed ≤ lastIndex(); committed never decreases.
  committed: number;
  applied: number;

  constructor(storage: LogStorage) {
    this.storage = storage;
    this.unstableOffset = storage.lastIndex() + 1;
    const snapIndex = storage.snapshot().meta.index;
    // Storage may hold entries from before its snapshot (retained for lagging
    // followers); the state machine restarts from the snapshot.
    this.applied = snapIndex;
    this.committed = Math.max(storage.hardState().commit, snapIndex);
    if (this.committed > this.lastIndex()) assert.fail(`persisted commit ${this.committed} beyond last index ${this.lastIndex()}`);
    assert.ok(snapIndex >= storage.firstIndex() - 1, 'storage compacted past its snapshot');
  }

  firstIndex(): number {
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstableEntries.length > 0) return this.unstableOffset + this.unstableEntries.length - 1;
    if (this.unstableSnapshot !== null) return this.unstableSnapshot.meta.index;
    return this.storage.lastIndex();
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    assert.ok(t !== undefined, 'term of the last entry must be known');
    return t;
  }

  /** Term of entry i, or undefined if compacted or beyond the end. */
  term(i: number): number | undefined {
    if (i > this.lastIndex()) return undefined;
    if (i >= this.unstableOffset && this.unstableEntries.length > 0) {
      return (this.unstableEntries[i - this.unstableOffset] as Entry).term;
    }
    if (this.unstableSnapshot !== null) {
      return i === this.unstableSnapshot.meta.index ? this.unstableSnapshot.meta.term : undefined;
    }
    if (i === this.storage.snapshot().meta.index) return this.storage.snapshot().meta.term;
    return this.storage.term(i);
  }

  matchTerm(i: number, t: number): boolean {
    return this.term(i) === t;
  }

  /** Raft §5.4.1: at least as up-to-date means a later last term, or the same term and no shorter. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /** Entries [lo, hi) within maxBytes (at least one), or null if lo is compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] | null {
    if (!(lo <= hi && hi <= this.lastIndex() + 1)) assert.fail(`slice [${lo},${hi}) out of range`);
    if (lo < this.firstIndex()) return null;
    if (lo === hi) return [];
    const out: Entry[] = [];
    if (lo < this.unstableOffset) {
      const storedHi = Math.min(hi, this.unstableOffset);
      const stored = this.storage.entries(lo, storedHi, maxBytes);
      for (const e of stored) out.push(e);
      if (stored.length < storedHi - lo) return out;
    }
    if (hi > this.unstableOffset) {
      let bytes = 0;
      for (const e of out) bytes += entryBytes(e);
      for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
        const e = this.unstableEntries[i - this.unstableOffset] as Entry;
        bytes += entryBytes(e);
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
    }
    return out;
  }

  /** Append after the last entry (the leader's own proposals). */
  appendNew(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    assert.equal((entries[0] as Entry).index, this.lastIndex() + 1, 'leader appends must extend the log');
    this.truncateAndAppend(entries);
  }

  /**
   * Follower side of AppendEntries after the consistency check passed at prevIndex.
   * Returns the last index now known to match the leader, and the index from
   * which our log was replaced (0 if nothing was replaced or added).
   */
  appendFromLeader(prevIndex: number, entries: readonly Entry[]): { lastNew: number; conflict: number } {
    const lastNew = prevIndex + entries.length;
    // Skip entries we already hold with the same term; replace from the first conflict.
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k] as Entry;
      assert.equal(e.index, prevIndex + 1 + k, 'append entries must be contiguous');
      if (!this.matchTerm(e.index, e.term)) {
        if (e.index <= this.lastIndex()) {
          // Truncating a committed entry would break state machine safety.
          if (e.index <= this.committed) assert.fail(`conflict at committed index ${e.index} (commit ${this.committed})`);
        }
        this.truncateAndAppend(entries.slice(k));
        return { lastNew, conflict: e.index };
      }
    }
    return { lastNew, conflict: 0 };
  }

  /** Last index known to be durable in storage (the leader counts only this for itself). */
  stableLastIndex(): number {
    if (this.unstableSnapshot !== null) return 0;
    if (this.unstableEntries.length > 0) return this.unstableOffset - 1;
    return this.lastIndex();
  }

  private truncateAndAppend(entries: readonly Entry[]): void {
    const after = (entries[0] as Entry).index;
    assert.ok(after > this.committed || this.term(after) === (entries[0] as Entry).term, 'rewriting committed entries');
    const end = this.unstableOffset + this.unstableEntries.length;
    if (after === end) {
      for (const e of entries) this.unstableEntries.push(e);
    } else if (after <= this.unstableOffset) {
      // Replaces part of what storage holds; storage.append truncates on persist.
      assert.ok(this.unstableSnapshot === null || after > this.unstableSnapshot.meta.index, 'append behind pending snapshot');
      this.unstableOffset = after;
      this.unstableEntries = [...entries];
    } else {
      this.unstableEntries = this.unstableEntries.slice(0, after - this.unstableOffset);
      for (const e of entries) this.unstableEntries.push(e);
    }
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) assert.fail(`commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  appliedTo(index: number): void {
    // A snapshot restored after this batch was handed out already moved applied past it.
    if (index <= this.applied) return;
    if (index > this.committed) assert.fail(`applied ${index} beyond commit ${this.committed}`);
    this.applied = index;
  }

  /**
   * The last index i ≤ index whose term ≤ term: where a log holding `term` at
   * `index` can first possibly agree with ours. Compacted entries are committed
   * and therefore agree.
   */
  findConflictByTerm(index: number, term: number): number {
    let i = Math.min(index, this.lastIndex());
    for (; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined || t <= term) return i;
    }
    return 0;
  }

  unstable(): readonly Entry[] {
    return this.unstableEntries;
  }

  pendingSnapshot(): Snapshot | null {
    return this.unstableSnapshot;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applied && this.unstableSnapshot === null;
  }

  nextCommitted(maxBytes: number): Entry[] {
    if (!this.hasNextCommitted()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    assert.equal(lo, this.applied + 1, 'applied index fell behind the compacted log');
    return this.slice(lo, this.committed + 1, maxBytes) ?? [];
  }

  /** Storage has persisted entries up to (i, t); drop them from the unstable tail. */
  stableTo(i: number, t: number): void {
    if (this.unstableEntries.length === 0 || i < this.unstableOffset) return;
    const local = this.term(i);
    // A later append may have replaced that entry; then it is not stable yet.
    if (local !== t) return;
    this.unstableEntries = this.unstableEntries.slice(i + 1 - this.unstableOffset);
    this.unstableOffset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.unstableSnapshot !== null && this.unstableSnapshot.meta.index === i) this.unstableSnapshot = null;
  }

  /** Replace the whole log with a snapshot from the leader. */
  restore(snap: Snapshot): void {
    assert.ok(snap.meta.index > this.committed, 'restoring a snapshot that is not ahead of commit');
    this.unstableSnapshot = snap;
    this.unstableEntries = [];
    this.unstableOffset = snap.meta.index + 1;
    this.committed = snap.meta.index;
    // The state machine is replaced wholesale by the snapshot's data.
    this.applied = snap.meta.index;
  }

  /** Visit entries [lo, hi] in bounded batches (membership is rebuilt this way on start). */
  scan(lo: number, hi: number, batchBytes: number, visit: (e: Entry) => void): void {
    let i = lo;
    while (i <= hi) {
      const batch = this.slice(i, hi + 1, batchBytes);
      assert.ok(batch !== null && batch.length > 0, 'scan over a compacted range');
      for (const e of batch) visit(e);
      i += batch.length;
    }
  }
}
