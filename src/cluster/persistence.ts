// A node's durability: recovery at start, the persistent write path, and snapshots.
//
// Start: lock the data directory, load the newest snapshot that verifies (falling back to
// an older one) while a worker reads the log, open the log (a torn tail is cut with a warning; damage before the tail
// stops start-up unless repair is asked for), replay the entries after the snapshot, and
// propose deletions of keys whose TTL passed while the node was down.
//
// Snapshots are taken incrementally from a copy-on-write view (snapshot-view.ts), a chunk
// of keys per event-loop turn, so clients are never stalled. After a snapshot the log is
// compacted only up to the *previous* snapshot: if the newest snapshot is ever found
// corrupt, the older one plus the log still rebuild the same state.

import type { Logger } from 'pino';
import { DataDirLock } from '../storage/lock.js';
import { Wal, type WalFileSystem } from '../storage/wal.js';
import { prescanWal } from '../storage/wal-prescan.js';
import { listSnapshots, removeSnapshotTemps, retain } from '../storage/snapshot-file.js';
import { loadNewestKeyspaceSnapshot, materializeInBackground, writeKeyspaceSnapshot } from './keyspace-snapshot.js';
import { decodeLogCommandAt } from './log-codec.js';
import { DurableWritePath, type FsyncPolicy } from './durable-write-path.js';
import type { StateMachine } from './state-machine.js';

export interface PersistenceOptions {
  dir: string;
  fsync: () => FsyncPolicy;
  /** Take a snapshot once the log since the last one holds this many bytes (and at least as many as the snapshot). */
  snapshotThresholdBytes: () => number;
  repair: boolean;
  log: Logger;
  clock: () => number;
  /** File operations of the log after start-up; tests inject failures (disk full) here. */
  walFs?: WalFileSystem;
}

/** Snapshots kept on disk: the newest, and one to fall back to. */
const snapshotsKept = 2;

export class SnapshotGapError extends Error {
  override readonly name = 'SnapshotGapError';
}

export class Persistence {
  readonly writePath: DurableWritePath;
  /** Unix ms of the last successful snapshot (LASTSAVE), or of start-up when none was taken. */
  lastSaveMs: number;
  lastSaveOk = true;
  lastSaveDurationMs = -1;
  lastSnapshotBytes = 0;
  lastSnapshotIndex: number;
  snapshotsTaken = 0;
  private inProgress: Promise<void> | null = null;
  /** writePath.bytesAppended when the last snapshot (attempt) started. */
  private bytesAtLastSnapshot = 0;
  private closed = false;

  private constructor(
    private readonly opts: PersistenceOptions,
    private readonly lock: DataDirLock,
    private readonly wal: Wal,
    private readonly sm: StateMachine,
    snapshotIndex: number,
    readonly recovery: { snapshotKeys: number; replayedEntries: number; durationMs: number; skippedSnapshots: readonly string[] },
  ) {
    this.writePath = new DurableWritePath(sm, wal, opts.fsync, opts.log, opts.clock);
    this.writePath.term = Math.max(1, wal.lastTerm);
    this.writePath.onApplied = this.afterApply;
    this.lastSnapshotIndex = snapshotIndex;
    this.lastSaveMs = opts.clock();
  }

  /** Recovers the keyspace from `dir` into `sm` and returns the running persistence. */
  static async open(sm: StateMachine, opts: PersistenceOptions): Promise<Persistence> {
    const t0 = performance.now();
    const log = opts.log;
    const lock = DataDirLock.acquire(opts.dir);
    try {
      await removeSnapshotTemps(opts.dir);
      const warn = (msg: string): void => log.warn(msg);
      const keyspace = sm.keyspace;
      // The log is read and checked on another core while the snapshot loads here.
      const prescan = prescanWal(opts.dir);
      const snap = await loadNewestKeyspaceSnapshot(opts.dir, keyspace, warn);
      const snapIndex = snap?.index ?? 0;
      const tSnapshot = performance.now();
      const wal = await Wal.open(opts.dir, { repair: opts.repair, warn, prescan: await prescan, ...(opts.walFs ? { fs: opts.walFs } : {}) });
      const tLog = performance.now();
      if (wal.firstIndex > snapIndex + 1) {
        throw new SnapshotGapError(
          `cannot recover: the newest valid snapshot ends at log index ${snapIndex} but the log starts at ${wal.firstIndex}` +
            (snap !== null && snap.skipped.length > 0 ? ` (newer snapshot damaged: ${snap.skipped.join(', ')})` : '') +
            '; entries in between are lost. Restore the data directory from a backup.',
        );
      }
      if (wal.lastIndex < snapIndex) await wal.compactPrefix(snapIndex, snap!.term);
      let replayed = 0;
      wal.forEachPayload(snapIndex + 1, wal.lastIndex + 1, (buf, start, end) => {
        sm.apply(decodeLogCommandAt(buf, start, end), null);
        replayed++;
      });
      sm.appliedIndex = Math.max(snapIndex, wal.lastIndex);
      const tEnd = performance.now();
      const durationMs = tEnd - t0;
      log.info(
        {
          snapshot: snap?.name ?? null,
          keys: keyspace.size,
          replayed,
          logEntries: wal.lastIndex - wal.firstIndex + 1,
          durationMs: Math.round(durationMs),
          // Where start-up time goes, for tuning: snapshot load, log read and verify, replay.
          snapshotMs: Math.round(tSnapshot - t0),
          logReadMs: Math.round(tLog - tSnapshot),
          replayMs: Math.round(tEnd - tLog),
        },
        'data loaded from disk',
      );
      materializeInBackground(keyspace);
      return new Persistence(opts, lock, wal, sm, snapIndex, {
        snapshotKeys: snap?.records ?? 0,
        replayedEntries: replayed,
        durationMs,
        skippedSnapshots: snap?.skipped ?? [],
      });
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  get snapshotInProgress(): boolean {
    return this.inProgress !== null;
  }

  private readonly afterApply = (): void => {
    if (this.inProgress !== null || this.closed) return;
    // Like Redis's auto-aof-rewrite: the log may grow to the threshold, or to the size
    // of the last snapshot if larger, before the next snapshot replaces it.
    const grown = this.writePath.bytesAppended - this.bytesAtLastSnapshot;
    if (grown >= Math.max(this.opts.snapshotThresholdBytes(), this.lastSnapshotBytes)) {
      this.snapshot().catch(() => undefined);
    }
  };

  /**
   * Takes a snapshot of the state as applied right now (BGSAVE); resolves when it is on
   * disk. A second call while one runs returns the running one.
   */
  snapshot(): Promise<void> {
    if (this.inProgress !== null) return this.inProgress;
    this.inProgress = this.takeSnapshot().finally(() => {
      this.inProgress = null;
    });
    return this.inProgress;
  }

  private async takeSnapshot(): Promise<void> {
    const t0 = performance.now();
    // Counted for failures too, so a failing disk is retried after more growth, not in a loop.
    this.bytesAtLastSnapshot = this.writePath.bytesAppended;
    const index = this.sm.appliedIndex;
    const term = index === 0 ? 0 : (this.wal.term(index) ?? this.writePath.term);
    try {
      // Called synchronously right after reading appliedIndex: the file is exactly that state.
      const info = await writeKeyspaceSnapshot(this.opts.dir, this.sm.keyspace, { index, term });
      this.lastSnapshotBytes = info.bytes;
      const previous = this.lastSnapshotIndex;
      this.lastSnapshotIndex = index;
      await retain(this.opts.dir, snapshotsKept);
      // Keep the log from the previous snapshot on, so that one remains a valid fallback.
      const kept = await listSnapshots(this.opts.dir);
      const fallback = kept[1];
      const through = Math.min(fallback?.index ?? 0, previous);
      if (through > this.wal.compactedThrough.index && through <= this.wal.lastIndex) {
        await this.wal.compactPrefix(through, this.wal.term(through)!);
      }
      this.lastSaveOk = true;
      this.lastSaveMs = this.opts.clock();
      this.lastSaveDurationMs = performance.now() - t0;
      this.snapshotsTaken++;
      this.opts.log.info({ index, keys: info.records, bytes: info.bytes, ms: Math.round(this.lastSaveDurationMs) }, 'snapshot saved');
    } catch (err) {
      this.lastSaveOk = false;
      this.opts.log.error({ err: String(err) }, 'snapshot failed');
      throw err;
    }
  }

  /** Lines for INFO persistence (Redis's field names where they fit). */
  info(): [string, string | number][] {
    return [
      ['loading', 0],
      ['rdb_changes_since_last_save', this.sm.appliedIndex - this.lastSnapshotIndex],
      ['rdb_bgsave_in_progress', this.inProgress === null ? 0 : 1],
      ['rdb_last_save_time', Math.floor(this.lastSaveMs / 1000)],
      ['rdb_last_bgsave_status', this.lastSaveOk ? 'ok' : 'err'],
      ['rdb_last_bgsave_time_sec', this.lastSaveDurationMs < 0 ? -1 : Math.round(this.lastSaveDurationMs / 1000)],
      ['rdb_saves', this.snapshotsTaken],
      ['rdb_last_snapshot_bytes', this.lastSnapshotBytes],
      ['rdb_last_snapshot_index', this.lastSnapshotIndex],
      ['aof_enabled', 1],
      ['aof_fsync', this.opts.fsync()],
      ['aof_last_write_status', this.writePath.lastError === null ? 'ok' : 'err'],
      ['aof_write_errors', this.writePath.writeErrors],
      ['log_first_index', this.wal.firstIndex],
      ['log_last_index', this.wal.lastIndex],
      ['applied_index', this.sm.appliedIndex],
      ['recovery_replayed_entries', this.recovery.replayedEntries],
      ['recovery_ms', Math.round(this.recovery.durationMs)],
    ];
  }

  /** Finishes pending writes, syncs the log, releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.writePath.drain();
    this.writePath.close();
    if (this.inProgress !== null) await this.inProgress.catch(() => undefined);
    await this.wal.close();
    this.lock.release();
  }
}
