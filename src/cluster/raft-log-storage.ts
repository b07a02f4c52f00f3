// The Raft log on disk, as the core reads it (LogStorage) and as the runtime writes it
// (one Ready at a time): the WAL holds the entries, HardStateStore the term, vote and
// commit index.
//
// The WAL stores opaque payloads without an entry type, so a configuration change is
// marked by a leading byte that a normal entry can never start with: normal payloads
// are empty (a new leader's no-op) or a LogCommand, whose first byte is its codec
// version (1).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { EMPTY_CONF, encodeConfChange } from '../raft/confchange.js';
import type { LogStorage } from '../raft/storage.js';
import type { Entry, HardState, NodeId, Snapshot, SnapshotMeta } from '../raft/types.js';
import { HardStateStore } from '../storage/hard-state.js';
import { RECORD_HEADER_BYTES, Wal, type LogEntry, type WalFileSystem } from '../storage/wal.js';
import type { WalPrescan } from '../storage/wal-prescan.js';

/** Most frequent rewrite of the hard-state file for commit-index moves alone. */
const commitSaveIntervalMs = 1000;
const CONF_CHANGE_MARK = 0xff;
const EMPTY_SNAPSHOT: Snapshot = { meta: { index: 0, term: 0, confState: EMPTY_CONF }, data: new Uint8Array(0) };

function toWal(e: Entry): LogEntry {
  if (e.type === 'normal') {
    assert(e.data.byteLength === 0 || e.data[0] !== CONF_CHANGE_MARK, 'normal entry payload starts with the conf-change mark');
    return { index: e.index, term: e.term, data: Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength) };
  }
  const data = Buffer.allocUnsafe(e.data.byteLength + 1);
  data[0] = CONF_CHANGE_MARK;
  data.set(e.data, 1);
  return { index: e.index, term: e.term, data };
}

function fromWal(e: LogEntry): Entry {
  if (e.data.length > 0 && e.data[0] === CONF_CHANGE_MARK) {
    return { index: e.index, term: e.term, type: 'confChange', data: e.data.subarray(1) };
  }
  return { index: e.index, term: e.term, type: 'normal', data: e.data };
}

export interface PersistWork {
  readonly hardState: HardState | null;
  readonly entriesToPersist: readonly Entry[];
}

export class RaftLogStorage implements LogStorage {
  private snap: Snapshot = EMPTY_SNAPSHOT;

  private constructor(
    private readonly wal: Wal,
    private readonly hs: HardStateStore,
  ) {}

  static async open(
    dir: string,
    opts: { repair: boolean; warn: (msg: string) => void; walFs?: WalFileSystem; prescan?: WalPrescan | null },
  ): Promise<RaftLogStorage> {
    const wal = await Wal.open(dir, { repair: opts.repair, warn: opts.warn, prescan: opts.prescan ?? null, ...(opts.walFs ? { fs: opts.walFs } : {}) });
    try {
      return new RaftLogStorage(wal, await HardStateStore.open(dir));
    } catch (err) {
      await wal.close();
      throw err;
    }
  }

  /** True for a data directory that never took part in a cluster. */
  get isEmpty(): boolean {
    return this.wal.lastIndex === 0 && this.hs.state.term === 0;
  }

  /**
   * First start of an initial member: the same entries on every node, one addVoter per
   * voter at term 1, already committed (MemoryLog.bootstrap's convention).
   */
  async bootstrap(voters: readonly NodeId[]): Promise<void> {
    assert(this.isEmpty, 'bootstrap of a node that already has state');
    const sorted = [...voters].sort();
    this.wal.append(
      sorted.map((id, k) =>
        toWal({ index: k + 1, term: 1, type: 'confChange', data: encodeConfChange({ type: 'addVoter', nodeId: id }) }),
      ),
    );
    await this.wal.flush({ sync: true });
    await this.hs.save({ term: 1, vote: null, commit: sorted.length });
  }

  hardState(): HardState {
    const hs = this.hs.state;
    // Commit is saved after the entries it covers, but a crash between an entry cut
    // (never of committed ones) and its rewrite could leave it past a shorter log.
    return hs.commit <= this.wal.lastIndex ? hs : { ...hs, commit: this.wal.lastIndex };
  }

  firstIndex(): number {
    return this.wal.firstIndex;
  }

  lastIndex(): number {
    return this.wal.lastIndex;
  }

  term(i: number): number | undefined {
    return this.wal.term(i);
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    // The core counts a fixed overhead per entry; the WAL counts payloads only.
    const raw = this.wal.entries(lo, hi, maxBytes);
    const out: Entry[] = new Array<Entry>(raw.length);
    for (let k = 0; k < raw.length; k++) out[k] = fromWal(raw[k]!);
    return out;
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /**
   * Makes `file` the snapshot the core sees. Its bytes are read when first needed (to
   * send it to a follower) and kept until the next snapshot replaces it.
   */
  setSnapshot(meta: SnapshotMeta, file: string): void {
    assert(meta.index >= this.snap.meta.index, 'snapshots only move forward');
    let bytes: Uint8Array | null = null;
    this.snap = {
      meta,
      get data(): Uint8Array {
        return (bytes ??= readFileSync(file));
      },
    };
  }

  /** At start: the log must continue where the loaded snapshot ends. */
  async adoptSnapshot(meta: SnapshotMeta, file: string): Promise<void> {
    if (this.wal.firstIndex > meta.index + 1) {
      throw new Error(
        `cannot recover: the newest valid snapshot ends at log index ${meta.index} but the log starts at ${this.wal.firstIndex}; restore the data directory from a backup or remove it to rejoin as a new member`,
      );
    }
    if (this.wal.lastIndex < meta.index) await this.wal.compactPrefix(meta.index, meta.term);
    this.setSnapshot(meta, file);
  }

  /** A snapshot from the leader replaces the whole log (the core installs only one that conflicts or reaches past it). */
  async installFromLeader(meta: SnapshotMeta, file: string): Promise<void> {
    if (this.wal.lastIndex >= this.wal.firstIndex) void this.wal.truncateSuffix(this.wal.firstIndex).catch(() => undefined);
    await this.wal.compactPrefix(meta.index, meta.term);
    this.setSnapshot(meta, file);
    const hs = this.hs.state;
    if (hs.commit < meta.index) await this.hs.save({ ...hs, commit: meta.index });
  }

  /** Drops entries through `index` (covered by a snapshot that has a fallback). */
  async compactThrough(index: number): Promise<void> {
    if (index <= this.wal.compactedThrough.index || index > this.wal.lastIndex) return;
    await this.wal.compactPrefix(index, this.wal.term(index)!);
  }

  /** Bytes a record takes in the log, for statistics. */
  static recordBytes(e: Entry): number {
    return e.data.byteLength + RECORD_HEADER_BYTES;
  }

  /**
   * Makes a Ready's entries and hard state durable as the policy promises: with `sync`
   * fdatasynced, otherwise handed to the OS (survives a process crash, not a power loss).
   * The hard state is written after the entries, so its commit never names an entry the
   * log lacks; term and vote changes are always fsynced (saveHardState renames a synced file).
   */
  async persist(work: PersistWork, sync: boolean): Promise<void> {
    const entries = work.entriesToPersist;
    if (entries.length > 0) {
      const first = entries[0]!.index;
      // A conflicting suffix from an older leader is cut first; appends queue behind it.
      if (first <= this.wal.lastIndex) void this.wal.truncateSuffix(first).catch(() => undefined);
      this.wal.append(entries.map(toWal));
      // Into the page cache on this thread (microseconds) rather than a round trip through
      // the thread pool, as the single-node write path does; only the fdatasync, or work
      // writeNow declines (a new segment, a truncation), goes to the pool.
      const written = this.wal.writeNow();
      if (!written || sync) await this.wal.flush({ sync });
    }
    const hs = work.hardState;
    if (hs === null) return;
    const prev = this.hs.state;
    if (hs.term !== prev.term || hs.vote !== prev.vote) {
      this.commitToSave = null;
      await this.hs.save(hs);
      return;
    }
    // Only the commit index moved: losing it costs a re-learn from the leader, never
    // safety, so nothing waits for it, and it is written at most once per
    // commitSaveIntervalMs (rewriting the file on every commit cost followers about a
    // fifth of their busy time under load), newest value only.
    this.commitToSave = hs;
    if (this.commitTimer === null && !this.savingCommit) {
      const waitMs = Math.max(0, commitSaveIntervalMs - (Date.now() - this.lastCommitSaveMs));
      this.commitTimer = setTimeout(this.saveCommit, waitMs);
      this.commitTimer.unref();
    }
  }

  private commitToSave: HardState | null = null;
  private commitTimer: NodeJS.Timeout | null = null;
  private savingCommit = false;
  private lastCommitSaveMs = 0;

  private readonly saveCommit = (): void => {
    this.commitTimer = null;
    const hs = this.commitToSave;
    this.commitToSave = null;
    const cur = this.hs.state;
    // A term or vote change saved meanwhile already carried a newer commit.
    if (hs === null || hs.term !== cur.term || hs.vote !== cur.vote || hs.commit <= cur.commit) return;
    this.savingCommit = true;
    this.hs
      .save(hs)
      .catch((err: unknown) => this.onBackgroundError(err))
      .finally(() => {
        this.savingCommit = false;
        this.lastCommitSaveMs = Date.now();
        // Commits that arrived during the save wait for the next interval.
        if (this.commitToSave !== null && this.commitTimer === null && !this.closing) {
          this.commitTimer = setTimeout(this.saveCommit, commitSaveIntervalMs);
          this.commitTimer.unref();
        }
      });
  };

  private closing = false;

  /** Where failures of unawaited writes are reported. */
  onBackgroundError: (err: unknown) => void = () => {};

  /** Syncs what the OS holds (the everysec timer). */
  sync(): Promise<void> {
    return this.wal.flush({ sync: true });
  }

  /** Waits for background hard-state writes, then syncs and closes the log. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.commitTimer !== null) clearTimeout(this.commitTimer);
    this.commitTimer = null;
    while (this.savingCommit) await new Promise((r) => setImmediate(r));
    // The newest commit, if still unsaved, goes down with the final save below.
    const last = this.commitToSave;
    this.commitToSave = null;
    const cur = this.hs.state;
    if (last !== null && last.term === cur.term && last.vote === cur.vote && last.commit > cur.commit) {
      await this.hs.save(last).catch(() => undefined);
    }
    // Resolves once every save queued before it has finished (an unchanged state is not rewritten).
    await this.hs.save(this.hs.state).catch(() => undefined);
    await this.wal.close();
  }
}
