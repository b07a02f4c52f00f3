import assert from 'node:assert';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readU64, writeU64 } from './binary.js';
import { crc32, crc32Range } from './crc32.js';
import { EntryTable } from './entry-table.js';
import { ENTRY_BYTES_MAX, RECORD_HEADER_BYTES, RECORD_LEN_MIN, SEGMENT_NAME, intactRecordSize } from './wal-record.js';
import type { WalPrescan } from './wal-prescan.js';
import { fsyncDir, isErrno, pad20, readFileIfExists, unlinkIfExists, writeFileAtomic } from './fsutil.js';

// The write-ahead log IS the Raft log: one record per entry, in index order, in
// segment files `wal/<first index, 20 digits>.seg`. A segment's name is the index
// of its first record, so the files alone describe the log without an index file.
//
// Record layout (little-endian):
//   offset  size  field
//        0     4  len    bytes after the crc field: 16 + payload length
//        4     4  crc    CRC-32 of everything after it: [index][term][payload]
//        8     8  index
//       16     8  term
//       24   len-16  payload
// A damaged length makes the reader checksum the wrong byte range, which fails
// like any other damage; one contiguous range keeps it to one crc32 call per
// record (the call, not the bytes, dominates for small entries). A zero-filled
// region reads as len = 0, below the minimum and therefore never valid.
//
// The segment receiving appends may end in zeros: space written ahead of the
// records (writeNow keeps about a MiB of it) so that an append overwrites blocks
// the file already has, and fdatasync then flushes data alone instead of also
// committing a new file size and new extents to the journal, which took twice as
// long on the ext4 disks measured (bench/RESULTS.md). Recovery reads an all-zero
// remainder of the last segment as the end of the log, not as damage; a segment
// is cut to its records before the next one is created, so no other segment has
// such a tail.
//
// `wal/COMPACT` records the compaction point (index, term) of the last
// compactPrefix, written atomically before any segment is deleted, so that a
// crash between the two steps leaves extra segments (ignored and removed on
// open) rather than a hole.

export { RECORD_HEADER_BYTES, ENTRY_BYTES_MAX } from './wal-record.js';
export const SEGMENT_BYTES_DEFAULT = 64 * 1024 * 1024;
/** Zeroed space writeNow adds ahead of the last record when less than half of it is left. */
const PREALLOCATE_BYTES = 1024 * 1024;
const COMPACT_MAGIC = 0x50434d4b; // "KMCP"
const COMPACT_FILE_BYTES = 24;

export interface LogEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Buffer;
}

/**
 * The file operations the WAL performs after start-up. Injectable so tests can
 * count fdatasync calls or make a write fail with ENOSPC.
 */
export interface WalFileSystem {
  open(file: string, flags: string): Promise<number>;
  /** May write fewer bytes than asked (like writev(2)); the WAL continues from there. */
  writev(fd: number, buffers: readonly Buffer[], position: number): Promise<number>;
  /** writev on the calling thread (Wal.writeNow); same contract. */
  writevSync(fd: number, buffers: readonly Buffer[], position: number): number;
  /** Writes `length` zero bytes at `position` on the calling thread (preallocation). */
  zeroFillSync(fd: number, position: number, length: number): void;
  fdatasync(fd: number): Promise<void>;
  ftruncate(fd: number, length: number): Promise<void>;
  ftruncateSync(fd: number, length: number): void;
  close(fd: number): Promise<void>;
  unlink(file: string): Promise<void>;
  fsyncDir(dir: string): Promise<void>;
}

export const nodeWalFileSystem: WalFileSystem = {
  open: (file, flags) =>
    new Promise((resolve, reject) => fs.open(file, flags, 0o644, (err, fd) => (err ? reject(err) : resolve(fd)))),
  writev: (fd, buffers, position) =>
    new Promise((resolve, reject) =>
      fs.writev(fd, buffers, position, (err, n) => (err ? reject(err) : resolve(n))),
    ),
  writevSync: (fd, buffers, position) => fs.writevSync(fd, buffers, position),
  zeroFillSync: (fd, position, length) => {
    const zeros = zeroChunk();
    for (let done = 0; done < length; ) {
      const n = fs.writeSync(fd, zeros, 0, Math.min(zeros.length, length - done), position + done);
      assert(n > 0, 'zero-fill wrote nothing');
      done += n;
    }
  },
  fdatasync: (fd) => new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
  ftruncate: (fd, length) =>
    new Promise((resolve, reject) => fs.ftruncate(fd, length, (err) => (err ? reject(err) : resolve()))),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  close: (fd) => new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve()))),
  unlink: (file) => unlinkIfExists(file),
  fsyncDir: (dir) => fsyncDir(dir),
};

let zeros: Buffer | null = null;
function zeroChunk(): Buffer {
  zeros ??= Buffer.alloc(64 * 1024);
  return zeros;
}

export interface WalOptions {
  /** A segment is closed and a new one started once it would exceed this size. */
  segmentBytes?: number;
  /** Truncate at mid-log damage (dropping everything after it) instead of refusing to open. */
  repair?: boolean;
  warn?: (msg: string) => void;
  fs?: WalFileSystem;
  /** The segments as a worker already read and checked them (wal-prescan.ts). */
  prescan?: WalPrescan | null;
}

export class LogCorruptionError extends Error {
  override readonly name = 'LogCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`WAL corruption in ${file} at byte offset ${offset}: ${reason} (start with repair to truncate the log there)`);
  }
}

/**
 * The WAL stopped accepting work because the disk state is unknown: an fsync
 * failed (the kernel may have dropped the dirty pages, so a retry could report
 * success for data that is gone) or undoing a failed write failed. Only a
 * restart, which re-reads the files, is safe.
 */
export class WalFailedError extends Error {
  override readonly name = 'WalFailedError';
  constructor(cause: unknown) {
    super(`WAL failed and must be reopened: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

interface Segment {
  readonly firstIndex: number;
  /** Size once every queued disk operation has run. */
  bytes: number;
}

type DiskOp =
  | { kind: 'write'; seg: number; offset: number; bytes: number; bufs: Buffer[] }
  | { kind: 'truncate'; seg: number; offset: number; drop: number[] }
  | { kind: 'compact'; index: number; term: number; drop: number[] };

interface Deferred {
  sync: boolean;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Wal {
  // Logical state: what the log is once every queued disk operation has run.
  // The Raft core reads only this; the disk catches up at flush.
  private compactIndex: number;
  private compactTerm: number;
  /** Entries compactIndex+1 ..= lastIndex, with each one's offset inside its segment. */
  private log: EntryTable;
  /** Sorted by firstIndex; the last one receives appends. */
  private segments: Segment[];

  private ops: DiskOp[] = [];
  private queuedBytes = 0;

  // Disk-side state, touched by the flush worker and by writeNow (only while the
  // worker is not executing operations, see opsRunning).
  private openSeg = -1;
  private openFd = -1;
  /**
   * Writes made to the open segment, and how many of them the last completed fdatasync
   * covered. Counting (rather than a dirty flag) keeps a write that lands while an
   * fdatasync is in flight from being marked clean when that fdatasync returns.
   */
  private writesToOpen = 0;
  private writesSynced = 0;
  /** End of the records in the open segment as written to the file; -1 before the first write or truncation. */
  private openEnd = -1;
  /** The open segment's file is known to extend (records or zeros) this far. */
  private openAllocatedEnd = 0;
  /** After a failed zero-fill (a full disk), no new attempt until openEnd passes this. */
  private preallocateRetryAt = 0;
  private readonly filesOnDisk: Set<number>;

  private failure: WalFailedError | null = null;
  private closed = false;
  private inFlight: Promise<void> | null = null;
  /** The flush worker is executing queued operations (not merely waiting for an fdatasync). */
  private opsRunning = false;
  private next: Deferred | null = null;

  private constructor(
    private readonly walDir: string,
    private readonly fsys: WalFileSystem,
    private readonly segmentBytes: number,
    state: RecoveredState,
  ) {
    this.compactIndex = state.compactIndex;
    this.compactTerm = state.compactTerm;
    this.log = state.log;
    this.segments = state.segments;
    this.filesOnDisk = new Set(state.segments.map((s) => s.firstIndex));
    this.checkInvariants();
  }

  /** Opens (creating if needed) the log under `<dir>/wal`, recovering whatever a crash left behind. */
  static async open(dir: string, opts: WalOptions = {}): Promise<Wal> {
    const segmentBytes = opts.segmentBytes ?? SEGMENT_BYTES_DEFAULT;
    assert(Number.isSafeInteger(segmentBytes) && segmentBytes >= RECORD_HEADER_BYTES, 'segmentBytes too small');
    const walDir = path.join(dir, 'wal');
    await fsp.mkdir(walDir, { recursive: true });
    const warn = opts.warn ?? ((msg: string) => process.emitWarning(msg, 'KeyMeshWalWarning'));
    const state = await recover(walDir, opts.repair === true, warn, opts.prescan ?? null);
    return new Wal(walDir, opts.fs ?? nodeWalFileSystem, segmentBytes, state);
  }

  /** First index still held (compaction point + 1); equals lastIndex + 1 when the log is empty. */
  get firstIndex(): number {
    return this.compactIndex + 1;
  }

  get lastIndex(): number {
    return this.compactIndex + this.log.length;
  }

  get lastTerm(): number {
    return this.log.length === 0 ? this.compactTerm : this.log.term(this.log.length - 1);
  }

  /** The (index, term) of the last compactPrefix; (0, 0) for a log never compacted. */
  get compactedThrough(): { index: number; term: number } {
    return { index: this.compactIndex, term: this.compactTerm };
  }

  /** Encoded bytes appended but not yet written; callers use it for backpressure. */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /**
   * Term of the entry at `index`, also answered for the compaction point itself.
   * `undefined` when the entry is compacted away or beyond the end.
   */
  term(index: number): number | undefined {
    if (index === this.compactIndex) return this.compactTerm;
    if (index < this.compactIndex || index > this.lastIndex) return undefined;
    return this.log.term(index - this.compactIndex - 1);
  }

  /**
   * Entries in [lo, hi). With maxBytes, stops before the payload total would
   * exceed it, but always returns at least one entry so a large entry cannot
   * stall replication. The returned objects are shared: do not mutate them.
   */
  entries(lo: number, hi: number, maxBytes?: number): LogEntry[] {
    if (!(lo >= this.firstIndex && lo <= hi && hi <= this.lastIndex + 1)) {
      assert.fail(`entries(${lo}, ${hi}) outside [${this.firstIndex}, ${this.lastIndex + 1}]`);
    }
    const from = lo - this.compactIndex - 1;
    const to = hi - this.compactIndex - 1;
    const out: LogEntry[] = [];
    let bytes = 0;
    for (let i = from; i < to; i++) {
      bytes += this.log.payloadBytes(i);
      if (maxBytes !== undefined && out.length > 0 && bytes > maxBytes) break;
      out.push(this.log.entry(i, lo + (i - from)));
    }
    return out;
  }

  /**
   * Calls `fn` with the payload of each entry in [lo, hi), in order, as bytes of a buffer
   * the log holds (no LogEntry and no view per entry: replaying a long log at start-up).
   */
  forEachPayload(lo: number, hi: number, fn: (buf: Buffer, start: number, end: number) => void): void {
    if (!(lo >= this.firstIndex && lo <= hi && hi <= this.lastIndex + 1)) {
      assert.fail(`forEachPayload(${lo}, ${hi}) outside [${this.firstIndex}, ${this.lastIndex + 1}]`);
    }
    this.log.forEachPayload(lo - this.compactIndex - 1, hi - this.compactIndex - 1, fn);
  }

  /**
   * Adds entries to the end of the log, in memory and to the write queue; no
   * I/O happens until flush. The payload is copied, so the caller may reuse its
   * buffers; the `data` of entries read back is a view of that copy.
   */
  append(entries: readonly LogEntry[]): void {
    this.checkUsable();
    if (entries.length === 0) return;
    let expected = this.lastIndex + 1;
    let prevTerm = this.lastTerm;
    let total = 0;
    for (const e of entries) {
      // Hot path: messages are built only on failure.
      if (e.index !== expected) assert.fail(`append: index ${e.index}, expected ${expected}`);
      if (!(Number.isSafeInteger(e.term) && e.term >= 1 && e.term >= prevTerm)) assert.fail(`append: term ${e.term} after ${prevTerm}`);
      if (e.data.length > ENTRY_BYTES_MAX) assert.fail(`append: entry of ${e.data.length} bytes exceeds ${ENTRY_BYTES_MAX}`);
      total += RECORD_HEADER_BYTES + e.data.length;
      expected++;
      prevTerm = e.term;
    }
    // One allocation per call: the records of a batch sit side by side, so the
    // write queue can hand the kernel one iovec per batch instead of per entry.
    const buf = Buffer.allocUnsafe(total);
    let pos = 0;
    let seg = this.segments[this.segments.length - 1];
    // Records of this call that go to `seg` start at buf[runStart], file offset runOffset.
    let runStart = 0;
    let runOffset = seg === undefined ? 0 : seg.bytes;
    for (const e of entries) {
      const recBytes = RECORD_HEADER_BYTES + e.data.length;
      if (seg === undefined || (seg.bytes > 0 && seg.bytes + recBytes > this.segmentBytes)) {
        if (seg !== undefined && pos > runStart) this.enqueueWrite(seg.firstIndex, runOffset, buf.subarray(runStart, pos));
        seg = { firstIndex: e.index, bytes: 0 };
        this.segments.push(seg);
        runStart = pos;
        runOffset = 0;
      }
      encodeRecord(buf, pos, e);
      this.log.push(e.term, buf, pos + RECORD_HEADER_BYTES, e.data.length, seg.bytes);
      seg.bytes += recBytes;
      pos += recBytes;
    }
    assert(seg !== undefined && pos === total && pos > runStart);
    this.enqueueWrite(seg.firstIndex, runOffset, buf.subarray(runStart, pos));
  }

  /**
   * Writes everything appended so far (one writev per segment touched) and,
   * with sync, fdatasyncs it. Calls made while a flush is running are merged
   * into a single following flush, so every append of an event-loop turn shares
   * one fsync (group commit). A write error (e.g. ENOSPC) rejects the promise
   * after the file has been cut back to its last good size; the entries stay
   * queued and the next flush retries them.
   */
  flush(opts: { sync: boolean }): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    if (this.inFlight === null) return this.startFlush(opts.sync);
    if (this.next === null) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.next = { sync: opts.sync, promise, resolve, reject };
    } else if (opts.sync) {
      this.next.sync = true;
    }
    return this.next.promise;
  }

  /**
   * Writes everything appended so far with synchronous write(2)s on the calling thread,
   * and returns true; the bytes are then in the OS (a process crash loses nothing) but
   * not necessarily on the disk until a flush({ sync: true }) that starts afterwards.
   * A write into the page cache takes microseconds, far less than a round trip through
   * the thread pool, so a caller on the event loop answers sooner this way.
   *
   * Returns false, having written nothing, when the queued work is more than writes to
   * the segment already open (a new segment, a truncation, a compaction) or the flush
   * worker is executing operations: those take the asynchronous flush, which the caller
   * must use instead. An fdatasync in flight does not stop writeNow.
   *
   * A write error (e.g. ENOSPC) is thrown after the file has been cut back to its last
   * good size; the unwritten entries stay queued, as with flush.
   */
  writeNow(): boolean {
    if (this.failure !== null) throw this.failure;
    if (this.closed) throw new Error('WAL is closed');
    // Writes taken by a running flush may still be on their way to the disk.
    if (this.opsRunning) return false;
    if (this.ops.length === 0) return true;
    if (this.openFd < 0) return false;
    for (const op of this.ops) {
      if (op.kind !== 'write' || op.seg !== this.openSeg) return false;
    }
    const fd = this.openFd;
    while (this.ops.length > 0) {
      const op = this.ops[0];
      assert(op !== undefined && op.kind === 'write' && op.seg === this.openSeg);
      this.writesToOpen++;
      try {
        writeAllSync(this.fsys, fd, op.bufs, op.offset, op.bytes);
      } catch (err) {
        // As in execute: nothing after the last good size may survive.
        try {
          this.fsys.ftruncateSync(fd, op.offset);
          this.noteCut(op.offset);
        } catch (truncErr) {
          this.failure ??= new WalFailedError(truncErr);
        }
        throw this.failure ?? err;
      }
      this.ops.shift();
      this.queuedBytes -= op.bytes;
      this.noteWritten(op.offset + op.bytes);
    }
    assert(this.queuedBytes === 0);
    this.preallocate(fd);
    return true;
  }

  /**
   * Removes entries >= fromIndex (a Raft conflict), in memory at once and on
   * disk before the promise resolves. Appends made after the call (even before
   * it resolves) land after the cut.
   */
  truncateSuffix(fromIndex: number): Promise<void> {
    this.checkUsable();
    assert(fromIndex > this.compactIndex, `truncateSuffix(${fromIndex}) would cut compacted entries (through ${this.compactIndex})`);
    assert(fromIndex <= this.lastIndex + 1, `truncateSuffix(${fromIndex}) beyond last index ${this.lastIndex}`);
    if (fromIndex === this.lastIndex + 1) return this.flush({ sync: true });
    const at = fromIndex - this.compactIndex - 1;
    const offset = this.log.offset(at);
    const k = this.segmentOf(fromIndex);
    const seg = this.segments[k]!;
    const drop = this.segments.slice(k + 1).map((s) => s.firstIndex);
    this.segments.length = k + 1;
    seg.bytes = offset;
    this.log.truncate(at);
    this.ops.push({ kind: 'truncate', seg: seg.firstIndex, offset, drop });
    this.checkInvariants();
    return this.flush({ sync: true });
  }

  /**
   * Forgets entries <= throughIndex once a snapshot covers them; deletes the
   * segments holding nothing newer. throughIndex may lie beyond the last index
   * (a snapshot received from the leader): the whole log is dropped and the
   * next append must be throughIndex + 1. When throughIndex is inside the log
   * its term must match; to install a snapshot that conflicts with the log,
   * truncateSuffix first.
   */
  compactPrefix(throughIndex: number, throughTerm: number): Promise<void> {
    this.checkUsable();
    assert(throughIndex >= this.compactIndex, `compactPrefix(${throughIndex}) behind compaction point ${this.compactIndex}`);
    assert(Number.isSafeInteger(throughTerm) && throughTerm >= this.compactTerm, `compactPrefix: term ${throughTerm} behind ${this.compactTerm}`);
    if (throughIndex === this.compactIndex) {
      assert(throughTerm === this.compactTerm, 'compactPrefix: same index, different term');
      return this.flush({ sync: false });
    }
    const oldLast = this.lastIndex;
    if (throughIndex <= oldLast) {
      const t = this.term(throughIndex);
      assert(t === throughTerm, `compactPrefix: entry ${throughIndex} has term ${t}, snapshot says ${throughTerm}`);
      const n = throughIndex - this.compactIndex;
      this.log.dropFront(n);
    } else {
      this.log.clear();
    }
    // A segment is covered when its last index (the next one's first - 1, or
    // the old last index for the tail) is <= throughIndex.
    let keepFrom = 0;
    while (keepFrom < this.segments.length) {
      const following = this.segments[keepFrom + 1];
      const segLast = following === undefined ? oldLast : following.firstIndex - 1;
      if (segLast > throughIndex) break;
      keepFrom++;
    }
    const drop = this.segments.slice(0, keepFrom).map((s) => s.firstIndex);
    this.segments.splice(0, keepFrom);
    this.compactIndex = throughIndex;
    this.compactTerm = throughTerm;
    this.ops.push({ kind: 'compact', index: throughIndex, term: throughTerm, drop });
    this.checkInvariants();
    return this.flush({ sync: false });
  }

  /** Flushes and syncs what is queued, then closes the segment file. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failure === null) await this.flush({ sync: true });
    else if (this.inFlight !== null) await this.inFlight.catch(() => undefined);
    this.closed = true;
    if (this.openFd >= 0) {
      const fd = this.openFd;
      this.forgetOpen();
      await this.fsys.close(fd);
    }
  }

  // ---- internals -----------------------------------------------------------

  private checkUsable(): void {
    if (this.failure !== null) throw this.failure;
    assert(!this.closed, 'WAL is closed');
  }

  private checkInvariants(): void {
    const seg0 = this.segments[0];
    // The segments must hold every in-memory entry; the first may also hold older ones.
    assert(this.log.length === 0 || (seg0 !== undefined && seg0.firstIndex <= this.compactIndex + 1));
    const tail = this.segments[this.segments.length - 1];
    assert(tail === undefined || tail.firstIndex <= this.lastIndex + 1);
  }

  /** Position in `segments` of the segment holding `index`. */
  private segmentOf(index: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.segments[mid]!.firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    if (!(hi >= 0 && this.segments[lo]!.firstIndex <= index)) assert.fail(`no segment holds index ${index}`);
    return lo;
  }

  private enqueueWrite(seg: number, offset: number, rec: Buffer): void {
    this.queuedBytes += rec.length;
    const last = this.ops[this.ops.length - 1];
    if (last !== undefined && last.kind === 'write' && last.seg === seg && last.offset + last.bytes === offset) {
      last.bytes += rec.length;
      const prev = last.bufs[last.bufs.length - 1]!;
      if (prev.buffer === rec.buffer && prev.byteOffset + prev.length === rec.byteOffset) {
        last.bufs[last.bufs.length - 1] = Buffer.from(prev.buffer, prev.byteOffset, prev.length + rec.length);
      } else {
        last.bufs.push(rec);
      }
      return;
    }
    this.ops.push({ kind: 'write', seg, offset, bytes: rec.length, bufs: [rec] });
  }

  private startFlush(sync: boolean): Promise<void> {
    const p = this.runFlush(sync);
    this.inFlight = p;
    const done = (): void => {
      this.inFlight = null;
      const n = this.next;
      this.next = null;
      if (n === null) return;
      if (this.failure !== null) n.reject(this.failure);
      else this.startFlush(n.sync).then(n.resolve, n.reject);
    };
    p.then(done, done);
    return p;
  }

  private async runFlush(sync: boolean): Promise<void> {
    const batch = this.ops;
    this.ops = [];
    let k = 0;
    this.opsRunning = batch.length > 0;
    try {
      for (; k < batch.length; k++) {
        const op = batch[k]!;
        await this.execute(op);
        if (op.kind === 'write') this.queuedBytes -= op.bytes;
      }
      this.opsRunning = false;
      if (sync && this.openDirty) await this.syncOpen();
    } catch (err) {
      this.opsRunning = false;
      // Operations not done go back in front of anything appended meanwhile:
      // they are idempotent and their order is the log's order.
      if (this.failure === null) this.ops = batch.slice(k).concat(this.ops);
      throw this.failure ?? err;
    }
    assert(this.queuedBytes >= 0);
  }

  private get openDirty(): boolean {
    return this.writesToOpen !== this.writesSynced;
  }

  /** The open segment is closed or deleted: nothing of it is left to sync. */
  private forgetOpen(): void {
    this.openFd = -1;
    this.openSeg = -1;
    this.writesSynced = this.writesToOpen;
    this.openEnd = -1;
    this.openAllocatedEnd = 0;
    this.preallocateRetryAt = 0;
  }

  /** Records now end at `end` in the open segment's file, and the file extends at least that far. */
  private noteWritten(end: number): void {
    this.openEnd = end;
    this.openAllocatedEnd = Math.max(this.openAllocatedEnd, end);
  }

  /** The open segment's file was cut at `end`: nothing lies beyond it. */
  private noteCut(end: number): void {
    this.openEnd = end;
    this.openAllocatedEnd = end;
  }

  /**
   * Keeps zeroed space ahead of the records of the open segment (see the top of the
   * file), up to the segment size. Best effort: on failure (a full disk) appends
   * simply grow the file, as they would without it. The zeros need no fdatasync of
   * their own: beyond the records they mean nothing, and the next sync covers them.
   */
  private preallocate(fd: number): void {
    assert(this.openEnd >= 0);
    if (this.openEnd + PREALLOCATE_BYTES / 2 <= this.openAllocatedEnd || this.openEnd < this.preallocateRetryAt) return;
    const from = Math.max(this.openEnd, this.openAllocatedEnd);
    const to = Math.min(from + PREALLOCATE_BYTES, this.segmentBytes);
    if (to <= from) return;
    try {
      this.fsys.zeroFillSync(fd, from, to - from);
      this.openAllocatedEnd = to;
    } catch {
      this.preallocateRetryAt = this.openEnd + PREALLOCATE_BYTES;
    }
  }

  private async execute(op: DiskOp): Promise<void> {
    switch (op.kind) {
      case 'write': {
        const fd = await this.openSegment(op.seg);
        this.writesToOpen++;
        try {
          await writeAll(this.fsys, fd, op.bufs, op.offset, op.bytes);
        } catch (err) {
          // Nothing after the last good size may survive: a later successful
          // write at a different offset would otherwise leave a half record
          // between valid ones.
          await this.mustSucceed(() => this.fsys.ftruncate(fd, op.offset));
          this.noteCut(op.offset);
          throw err;
        }
        this.noteWritten(op.offset + op.bytes);
        return;
      }
      case 'truncate': {
        for (const d of [...op.drop].reverse()) await this.removeSegment(d);
        const fd = await this.openSegment(op.seg);
        await this.fsys.ftruncate(fd, op.offset);
        this.noteCut(op.offset);
        this.writesToOpen++;
        await this.syncOpen();
        if (op.drop.length > 0) await this.mustSucceed(() => this.fsys.fsyncDir(this.walDir));
        return;
      }
      case 'compact': {
        await writeFileAtomic(path.join(this.walDir, 'COMPACT'), encodeCompactPoint(op.index, op.term));
        for (const d of op.drop) await this.removeSegment(d);
        if (op.drop.length > 0) await this.mustSucceed(() => this.fsys.fsyncDir(this.walDir));
        return;
      }
    }
  }

  private async openSegment(seg: number): Promise<number> {
    if (this.openSeg === seg) return this.openFd;
    if (this.openFd >= 0) {
      // The previous segment must be durable before a later one receives
      // data, or a crash could keep the later file and lose the earlier tail,
      // which recovery would rightly call mid-log corruption. Its preallocated
      // zeros go first: only the last segment may end in them.
      if (this.openEnd >= 0) {
        const fd = this.openFd;
        const end = this.openEnd;
        await this.fsys.ftruncate(fd, end);
        this.noteCut(end);
        this.writesToOpen++;
      }
      if (this.openDirty) await this.syncOpen();
      const fd = this.openFd;
      this.forgetOpen();
      await this.fsys.close(fd);
    }
    const create = !this.filesOnDisk.has(seg);
    const fd = await this.fsys.open(segmentPath(this.walDir, seg), create ? 'wx' : 'r+');
    this.openFd = fd;
    this.openSeg = seg;
    if (create) {
      this.filesOnDisk.add(seg);
      await this.mustSucceed(() => this.fsys.fsyncDir(this.walDir));
    }
    return fd;
  }

  private async removeSegment(seg: number): Promise<void> {
    if (this.openSeg === seg) {
      const fd = this.openFd;
      this.forgetOpen();
      await this.fsys.close(fd);
    }
    await this.fsys.unlink(segmentPath(this.walDir, seg));
    this.filesOnDisk.delete(seg);
  }

  private async syncOpen(): Promise<void> {
    assert(this.openFd >= 0);
    const fd = this.openFd;
    const covered = this.writesToOpen;
    await this.mustSucceed(() => this.fsys.fdatasync(fd));
    // writeNow may have written meanwhile; those writes stay unsynced. The open segment
    // cannot change during the await: only the flush worker (this one) switches it.
    assert(this.openFd === fd);
    this.writesSynced = covered;
  }

  private async mustSucceed(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.failure ??= new WalFailedError(err);
      throw this.failure;
    }
  }
}

function segmentPath(walDir: string, firstIndex: number): string {
  return path.join(walDir, `${pad20(firstIndex)}.seg`);
}

function encodeRecord(buf: Buffer, pos: number, e: LogEntry): void {
  const len = RECORD_LEN_MIN + e.data.length;
  buf.writeUInt32LE(len, pos);
  writeU64(buf, e.index, pos + 8);
  writeU64(buf, e.term, pos + 16);
  e.data.copy(buf, pos + RECORD_HEADER_BYTES);
  const end = pos + 4 + 4 + len;
  buf.writeUInt32LE(crc32Range(buf, pos + 8, end), pos + 4);
}

async function writeAll(fsys: WalFileSystem, fd: number, bufs: Buffer[], position: number, total: number): Promise<void> {
  let written = 0;
  let list = bufs;
  while (written < total) {
    const n = await fsys.writev(fd, list, position + written);
    if (n <= 0) throw new Error(`short write to WAL segment (${written} of ${total} bytes)`);
    written += n;
    if (written < total) list = skipBytes(list, n);
  }
  assert(written === total, 'wrote past the end of the batch');
}

function writeAllSync(fsys: WalFileSystem, fd: number, bufs: Buffer[], position: number, total: number): void {
  let written = 0;
  let list = bufs;
  while (written < total) {
    const n = fsys.writevSync(fd, list, position + written);
    if (n <= 0) throw new Error(`short write to WAL segment (${written} of ${total} bytes)`);
    written += n;
    if (written < total) list = skipBytes(list, n);
  }
  assert(written === total, 'wrote past the end of the batch');
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}

function encodeCompactPoint(index: number, term: number): Buffer {
  const buf = Buffer.alloc(COMPACT_FILE_BYTES);
  buf.writeUInt32LE(COMPACT_MAGIC, 0);
  writeU64(buf, index, 4);
  writeU64(buf, term, 12);
  buf.writeUInt32LE(crc32(buf.subarray(0, 20)), 20);
  return buf;
}

// ---- recovery ---------------------------------------------------------------

interface RecoveredState {
  compactIndex: number;
  compactTerm: number;
  log: EntryTable;
  segments: Segment[];
}

/** Checks the record at `off`; returns its size, or why it is not a valid record. */
function checkRecord(buf: Buffer, off: number, expectedIndex: number, prevTerm: number): number | string {
  const avail = buf.length - off;
  if (avail < RECORD_HEADER_BYTES) return `partial record header (${avail} bytes)`;
  const len = buf.readUInt32LE(off);
  if (len < RECORD_LEN_MIN || len > RECORD_LEN_MIN + ENTRY_BYTES_MAX) return `invalid record length ${len}`;
  const size = 8 + len;
  if (size > avail) return `partial record (${avail} of ${size} bytes)`;
  if (crc32Range(buf, off + 8, off + size) !== buf.readUInt32LE(off + 4)) return 'checksum mismatch';
  const index = readU64(buf, off + 8);
  const term = readU64(buf, off + 16);
  if (index !== expectedIndex) return `index ${index}, expected ${expectedIndex}`;
  if (term < prevTerm || term < 1) return `term ${term} after term ${prevTerm}`;
  return size;
}

/** True when every byte of `buf` from `off` on is zero. */
function isZeroFrom(buf: Buffer, off: number): boolean {
  const zeros = zeroChunk();
  for (let p = off; p < buf.length; p += zeros.length) {
    const end = Math.min(p + zeros.length, buf.length);
    if (!buf.subarray(p, end).equals(zeros.subarray(0, end - p))) return false;
  }
  return true;
}

/** Largest gap of indexes between a damaged record and an intact one after it that we look for. */
const intactSearchIndexSpan = 1_000_000;

/**
 * Whether some intact record (valid length and checksum, an index at or after the damaged
 * one) starts anywhere after `off`. The index filter keeps checksum work to the rare
 * offsets that could hold a record, so even a large segment scans quickly.
 */
function intactRecordAfter(buf: Buffer, off: number, expectedIndex: number): boolean {
  for (let p = off + 1; p + RECORD_HEADER_BYTES <= buf.length; p++) {
    const hi = buf.readUInt32LE(p + 12);
    if (hi !== Math.floor(expectedIndex / 2 ** 32)) continue;
    const index = hi * 2 ** 32 + buf.readUInt32LE(p + 8);
    if (index < expectedIndex || index > expectedIndex + intactSearchIndexSpan) continue;
    const len = buf.readUInt32LE(p);
    if (len < RECORD_LEN_MIN || p + 8 + len > buf.length) continue;
    if (crc32Range(buf, p + 8, p + 8 + len) === buf.readUInt32LE(p + 4)) return true;
  }
  return false;
}

async function recover(walDir: string, repair: boolean, warn: (msg: string) => void, prescan: WalPrescan | null): Promise<RecoveredState> {
  const compactFile = path.join(walDir, 'COMPACT');
  let compactIndex = 0;
  let compactTerm = 0;
  const cp = await readFileIfExists(compactFile);
  if (cp !== null) {
    if (cp.length !== COMPACT_FILE_BYTES || cp.readUInt32LE(0) !== COMPACT_MAGIC || crc32(cp.subarray(0, 20)) !== cp.readUInt32LE(20)) {
      throw new LogCorruptionError(compactFile, 0, 'compaction point record is damaged');
    }
    compactIndex = readU64(cp, 4);
    compactTerm = readU64(cp, 12);
    if (compactIndex < 0 || compactTerm < 0) throw new LogCorruptionError(compactFile, 4, 'compaction point out of range');
  }

  const names = await fsp.readdir(walDir);
  const segs: number[] = [];
  for (const name of names) {
    if (name.endsWith('.tmp')) await unlinkIfExists(path.join(walDir, name));
    const m = SEGMENT_NAME.exec(name);
    if (m === null) continue;
    const first = Number(m[1]);
    if (!Number.isSafeInteger(first) || first < 1) throw new LogCorruptionError(path.join(walDir, name), 0, 'segment name out of range');
    segs.push(first);
  }
  segs.sort((a, b) => a - b);

  // Segments wholly behind the compaction point are leftovers of a compaction
  // interrupted after its COMPACT file was written.
  let start = 0;
  while (start + 1 < segs.length && segs[start + 1]! <= compactIndex + 1) {
    await unlinkIfExists(segmentPath(walDir, segs[start]!));
    start++;
  }

  const log = new EntryTable();
  const segments: Segment[] = [];
  let expected = -1;
  let prevTerm = 0;

  const cutAt = async (k: number, off: number, reason: string, tornTail: boolean): Promise<void> => {
    const file = segmentPath(walDir, segs[k]!);
    if (!tornTail && !repair) throw new LogCorruptionError(file, off, reason);
    const later = segs.slice(k + 1);
    warn(
      `WAL: ${tornTail ? 'torn tail' : 'REPAIR: damaged log'} in ${file} at byte offset ${off} (${reason}); ` +
        `truncating there${later.length > 0 ? ` and deleting ${later.length} later segment(s)` : ''}`,
    );
    for (const s of later.reverse()) await unlinkIfExists(segmentPath(walDir, s));
    const fh = await fsp.open(file, 'r+');
    try {
      await fh.truncate(off);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsyncDir(walDir);
  };

  for (let k = start; k < segs.length; k++) {
    const first = segs[k]!;
    const file = segmentPath(walDir, first);
    const isLast = k === segs.length - 1;
    if (k === start) {
      if (first > compactIndex + 1) {
        throw new LogCorruptionError(file, 0, `log starts at index ${first} but the compaction point is ${compactIndex}: entries are missing`);
      }
      expected = first;
    } else if (first !== expected) {
      // A misnamed file is not a torn write, even when it is the last one.
      if (!repair) throw new LogCorruptionError(file, 0, `segment starts at index ${first}, expected ${expected}`);
      warn(`WAL: REPAIR: ${file} starts at index ${first}, expected ${expected}; deleting it and ${segs.length - 1 - k} later segment(s)`);
      for (const s of segs.slice(k).reverse()) await unlinkIfExists(segmentPath(walDir, s));
      segs.length = k;
      break;
    }
    const pre = prescan?.get(first);
    // The worker's run of intact records stands for the checks below only when it was
    // scanned from the very point reached here.
    const run = pre !== undefined && pre.firstIndex === expected && pre.prevTerm === prevTerm ? pre : undefined;
    const buf = pre?.buf ?? (await fsp.readFile(file));
    let off = 0;
    let damage: string | null = null;
    let inRun = 0;
    while (off < buf.length) {
      let r: number;
      let term: number;
      if (run !== undefined && inRun < run.count) {
        r = run.sizes[inRun]!;
        term = run.terms[inRun]!;
        inRun++;
      } else {
        // Intact records pass the inline checks; anything else takes checkRecord, which
        // says what is wrong (and also answers for records the inline checks cannot).
        r = intactRecordSize(buf, off, expected, prevTerm);
        if (r < 0) {
          const checked = checkRecord(buf, off, expected, prevTerm);
          if (typeof checked === 'string') {
            damage = checked;
            break;
          }
          r = checked;
        }
        term = readU64(buf, off + 16);
      }
      if (expected === compactIndex && compactIndex > 0 && term !== compactTerm) {
        damage = `entry ${expected} has term ${term} but the compaction point says ${compactTerm}`;
        break;
      }
      if (expected > compactIndex) {
        if (expected === compactIndex + 1 && term < compactTerm) {
          damage = `entry ${expected} has term ${term}, older than compaction term ${compactTerm}`;
          break;
        }
        log.push(term, buf, off + RECORD_HEADER_BYTES, r - RECORD_HEADER_BYTES, off);
      }
      prevTerm = term;
      expected++;
      off += r;
    }
    segments.push({ firstIndex: first, bytes: off });
    // Preallocated space (see the top of the file): the log ends here, nothing is damaged.
    if (damage !== null && isLast && isZeroFrom(buf, off)) break;
    if (damage !== null) {
      // A crash can only tear the end of the log. Damage with an intact record after it is
      // something else (bit rot, a bad sector): cutting there would drop acknowledged writes.
      const torn = isLast && !intactRecordAfter(buf, off, expected);
      if (isLast && !torn) damage += '; intact records follow, so this is not a torn write';
      await cutAt(k, off, damage, torn);
      segs.length = k + 1;
      break;
    }
  }

  if (expected - 1 < compactIndex) {
    // Everything on disk is older than the snapshot (it was installed from a
    // leader ahead of this log): the segments are garbage, and keeping the
    // tail would put the next index right after a stale one in the same file.
    for (const s of segments) await unlinkIfExists(segmentPath(walDir, s.firstIndex));
    segments.length = 0;
    log.clear();
  }
  return { compactIndex, compactTerm, log, segments };
}

/** True when `err` is the ENOSPC a full disk reports; callers map it to a client-facing error. */
export function isDiskFull(err: unknown): boolean {
  return isErrno(err, 'ENOSPC') || (err instanceof WalFailedError && isErrno(err.cause, 'ENOSPC'));
}
