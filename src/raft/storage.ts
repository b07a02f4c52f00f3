// The persisted side of the log as the Raft core sees it. The core only reads
// through `LogStorage`; the runtime writes (after persisting what a Ready asked
// for) through whatever concrete storage it owns. `MemoryLog` is that storage
// for tests and the simulator, and the in-memory part a disk WAL can sit behind.
import assert from 'node:assert/strict';
import { EMPTY_CONF, encodeConfChange } from './confchange.js';
import type { ConfState, Entry, HardState, NodeId, Snapshot } from './types.js';
import { entryBytes } from './types.js';

export interface LogStorage {
  /** Hard state as last persisted. */
  hardState(): HardState;
  /** Index of the first entry still held; the entry before it is known only by its term. */
  firstIndex(): number;
  lastIndex(): number;
  /** Term of entry i for firstIndex()-1 ≤ i ≤ lastIndex(); undefined otherwise (compacted or absent). */
  term(i: number): number | undefined;
  /**
   * Entries [lo, hi), firstIndex() ≤ lo < hi ≤ lastIndex()+1, stopping before the
   * total passes maxBytes but always returning at least one entry.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The newest snapshot; index 0 when there is none. */
  snapshot(): Snapshot;
}

export const EMPTY_HARD_STATE: HardState = { term: 0, vote: null, commit: 0 };
const EMPTY_SNAPSHOT: Snapshot = { meta: { index: 0, term: 0, confState: EMPTY_CONF }, data: new Uint8Array(0) };

export class MemoryLog implements LogStorage {
  private hs: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = EMPTY_SNAPSHOT;
  // Invariants: entries[k].index === offsetIndex + 1 + k; entries are contiguous;
  // offsetTerm is the term of entry offsetIndex (compacted away);
  // offsetIndex ≤ snap.meta.index ≤ lastIndex() — we never compact past the
  // newest snapshot, or a lagging follower could be served by neither.
  private offsetIndex = 0;
  private offsetTerm = 0;
  private entryList: Entry[] = [];

  /**
   * A fresh member of a new cluster: every initial node writes the same entries,
   * one addVoter per peer at term 1, already committed. Nodes that join later
   * start empty and learn the membership from the log or a snapshot.
   */
  static bootstrap(voters: readonly NodeId[]): MemoryLog {
    assert.ok(voters.length > 0, 'bootstrap needs at least one voter');
    const log = new MemoryLog();
    const sorted = [...voters].sort();
    const entries: Entry[] = sorted.map((id, k) => ({
      index: k + 1,
      term: 1,
      type: 'confChange',
      data: encodeConfChange({ type: 'addVoter', nodeId: id }),
    }));
    log.append(entries);
    log.setHardState({ term: 1, vote: null, commit: entries.length });
    return log;
  }

  hardState(): HardState {
    return this.hs;
  }

  setHardState(hs: HardState): void {
    assert.ok(hs.term >= this.hs.term, 'persisted term must never go backwards');
    assert.ok(hs.commit >= this.hs.commit, 'persisted commit must never go backwards');
    this.hs = hs;
  }

  firstIndex(): number {
    return this.offsetIndex + 1;
  }

  lastIndex(): number {
    return this.offsetIndex + this.entryList.length;
  }

  term(i: number): number | undefined {
    if (i === this.offsetIndex) return this.offsetTerm;
    if (i < this.offsetIndex || i > this.lastIndex()) return undefined;
    const e = this.entryList[i - this.offsetIndex - 1];
    assert.ok(e !== undefined && e.index === i, 'memory log index mismatch');
    return e.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (!(lo >= this.firstIndex() && lo < hi && hi <= this.lastIndex() + 1)) assert.fail(`entries [${lo},${hi}) out of range`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.entryList[i - this.offsetIndex - 1] as Entry;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Persist entries; anything at or after entries[0].index is replaced (a conflicting suffix). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0] as Entry;
    for (let k = 1; k < entries.length; k++) {
      assert.equal((entries[k] as Entry).index, first.index + k, 'appended entries must be contiguous');
    }
    if (first.index > this.lastIndex() + 1) assert.fail(`gap in log: appending ${first.index} after ${this.lastIndex()}`);
    // Entries already folded into the snapshot are committed and must match; skip them.
    const skip = Math.max(0, this.offsetIndex + 1 - first.index);
    if (skip >= entries.length) return;
    const keep = first.index + skip - this.offsetIndex - 1;
    this.entryList.length = keep;
    for (let k = skip; k < entries.length; k++) this.entryList.push(entries[k] as Entry);
  }

  /** Replace everything with a snapshot received from the leader. */
  installSnapshot(snap: Snapshot): void {
    assert.ok(snap.meta.index > this.snap.meta.index, 'installing a snapshot older than the one held');
    this.snap = snap;
    this.offsetIndex = snap.meta.index;
    this.offsetTerm = snap.meta.term;
    this.entryList = [];
    if (this.hs.commit < snap.meta.index) this.hs = { ...this.hs, commit: snap.meta.index };
  }

  /**
   * Record a snapshot the application took of its state at `index` (≤ applied),
   * then drop entries before it, keeping `retainEntries` so a follower that is
   * only slightly behind can still be served from the log.
   */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array, retainEntries: number): void {
    assert.ok(index > this.snap.meta.index, 'snapshot must be newer than the current one');
    assert.ok(index <= this.lastIndex(), 'snapshot past the end of the log');
    assert.ok(retainEntries >= 0, 'retainEntries must be non-negative');
    const term = this.term(index);
    assert.ok(term !== undefined, 'snapshot index already compacted');
    this.snap = { meta: { index, term, confState }, data };
    this.compact(index - retainEntries);
  }

  private compact(upTo: number): void {
    if (upTo <= this.offsetIndex) return;
    assert.ok(upTo <= this.snap.meta.index, 'compaction past the newest snapshot');
    const term = this.term(upTo);
    assert.ok(term !== undefined, 'compaction index unknown');
    this.entryList = this.entryList.slice(upTo - this.offsetIndex);
    this.offsetIndex = upTo;
    this.offsetTerm = term;
  }

  /** Number of entries held, for tests and bounds. */
  size(): number {
    return this.entryList.length;
  }
}
