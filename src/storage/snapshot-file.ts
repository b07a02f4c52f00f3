import assert from 'node:assert';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { readU64, writeU64 } from './binary.js';
import { crc32 } from './crc32.js';
import { fsyncDir, isErrno, pad20, unlinkIfExists } from './fsutil.js';

// A snapshot is an opaque sequence of records (the keyspace decides what a
// record means) plus JSON metadata, in `snap/<index 20 digits>-<term 20 digits>.snap`.
//
// Layout (little-endian):
//   header   u32 magic "KMSN", u32 version (1), u32 meta length, u32 CRC-32 of
//            bytes 0..12 followed by the meta, then the meta (UTF-8 JSON)
//   blocks   u32 body length (> 0), u32 record count, u32 CRC-32 of bytes 0..8
//            followed by the body; body = records, each u32 length + bytes
//   trailer  u32 0 (where a block's length would be), u32 magic "KMSE",
//            u64 total records, u32 running CRC (chained over every block
//            header, so a lost, repeated or reordered block is caught),
//            u32 CRC-32 of trailer bytes 0..20; the file ends there.
// Records are not compressed: the keyspace is mostly small, high-entropy
// values where gzip saves little and costs far more time than the disk does.
// A block is checked before any of its records is handed out.

export const SNAPSHOT_DIR = 'snap';
const HEADER_MAGIC = 0x4e534d4b; // "KMSN"
const TRAILER_MAGIC = 0x45534d4b; // "KMSE"
const VERSION = 1;
const HEADER_BYTES = 16;
const BLOCK_HEADER_BYTES = 12;
const TRAILER_BYTES = 24;
const RECORD_PREFIX_BYTES = 4;
export const SNAPSHOT_BLOCK_BYTES_DEFAULT = 1024 * 1024;
/** writeRecord asks the caller to wait (drain) once this much is queued for the disk. */
export const SNAPSHOT_QUEUE_BYTES_MAX = 8 * 1024 * 1024;
const META_BYTES_MAX = 1024 * 1024;
/** Largest block the reader accepts; a record is at most 512 MiB like a WAL entry. */
const BLOCK_BYTES_MAX = 512 * 1024 * 1024 + 64;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const NAME = /^(\d{20})-(\d{20})\.snap$/;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface SnapshotMeta {
  index: number;
  term: number;
  [key: string]: JsonValue;
}

export interface SnapshotInfo {
  readonly path: string;
  readonly name: string;
  readonly index: number;
  readonly term: number;
}

export class SnapshotCorruptionError extends Error {
  override readonly name = 'SnapshotCorruptionError';
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`snapshot ${path.basename(file)} is corrupt at byte offset ${offset}: ${reason}`);
  }
}

function snapName(index: number, term: number): string {
  return `${pad20(index)}-${pad20(term)}.snap`;
}

// ---- writer -------------------------------------------------------------------

export interface SnapshotWriterOptions {
  blockBytes?: number;
}

/**
 * Streams records into a temp file; only finish() makes the snapshot visible,
 * atomically. writeRecord is synchronous (it copies into the current block) so
 * a producer iterating a large keyspace pays no promise per record; it returns
 * false when enough is queued that the producer should `await drain()`.
 */
export class SnapshotWriter {
  private block: Buffer;
  private pos = BLOCK_HEADER_BYTES;
  private blockRecords = 0;
  private records = 0;
  private runningCrc = 0;
  private fileOffset: number;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | null = null;
  private error: unknown = null;
  private state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';

  private constructor(
    private readonly fh: FileHandle,
    private readonly snapDir: string,
    private readonly tmpPath: string,
    private readonly info: SnapshotInfo,
    private readonly blockBytes: number,
    headerBytes: number,
  ) {
    this.block = Buffer.allocUnsafe(blockBytes);
    this.fileOffset = headerBytes;
  }

  /** `dir` is the data directory; the file goes to `<dir>/snap/`. */
  static async create(dir: string, meta: SnapshotMeta, opts: SnapshotWriterOptions = {}): Promise<SnapshotWriter> {
    assert(Number.isSafeInteger(meta.index) && meta.index >= 0, 'snapshot index');
    assert(Number.isSafeInteger(meta.term) && meta.term >= 0, 'snapshot term');
    const blockBytes = opts.blockBytes ?? SNAPSHOT_BLOCK_BYTES_DEFAULT;
    assert(blockBytes >= 64 && blockBytes <= BLOCK_BYTES_MAX, 'blockBytes out of range');
    const snapDir = path.join(dir, SNAPSHOT_DIR);
    await fsp.mkdir(snapDir, { recursive: true });
    const name = snapName(meta.index, meta.term);
    const finalPath = path.join(snapDir, name);
    const tmpPath = `${finalPath}.tmp`;
    const metaBuf = Buffer.from(JSON.stringify(meta), 'utf8');
    assert(metaBuf.length <= META_BYTES_MAX, 'snapshot meta too large');
    const header = Buffer.alloc(HEADER_BYTES + metaBuf.length);
    header.writeUInt32LE(HEADER_MAGIC, 0);
    header.writeUInt32LE(VERSION, 4);
    header.writeUInt32LE(metaBuf.length, 8);
    metaBuf.copy(header, HEADER_BYTES);
    header.writeUInt32LE(crc32(metaBuf, crc32(header.subarray(0, 12))), 12);
    const fh = await fsp.open(tmpPath, 'w');
    try {
      await fh.write(header, 0, header.length, 0);
    } catch (err) {
      await fh.close().catch(() => undefined);
      await unlinkIfExists(tmpPath);
      throw err;
    }
    const info: SnapshotInfo = { path: finalPath, name, index: meta.index, term: meta.term };
    return new SnapshotWriter(fh, snapDir, tmpPath, info, blockBytes, header.length);
  }

  get recordCount(): number {
    return this.records;
  }

  /** Copies `rec` into the snapshot. Returns false when the caller should await drain() before writing more. */
  writeRecord(rec: Uint8Array): boolean {
    if (this.state !== 'open') assert.fail(`writeRecord on a ${this.state} snapshot writer`);
    if (this.error !== null) throw this.error;
    const need = RECORD_PREFIX_BYTES + rec.length;
    if (this.pos + need > this.block.length && this.blockRecords > 0) this.sealBlock();
    if (this.pos + need > this.block.length) {
      // A record bigger than a block gets a block of its own size.
      if (BLOCK_HEADER_BYTES + need > BLOCK_BYTES_MAX) assert.fail(`snapshot record of ${rec.length} bytes too large`);
      this.block = Buffer.allocUnsafe(BLOCK_HEADER_BYTES + need);
    }
    this.block.writeUInt32LE(rec.length, this.pos);
    this.block.set(rec, this.pos + RECORD_PREFIX_BYTES);
    this.pos += need;
    this.blockRecords++;
    this.records++;
    return this.queuedBytes < SNAPSHOT_QUEUE_BYTES_MAX;
  }

  /** Resolves once the queued blocks are down to nothing (rejects on a write error). */
  async drain(): Promise<void> {
    while (this.writing !== null && this.error === null) await this.writing;
    if (this.error !== null) throw this.error;
  }

  /** Seals the file (trailer, fsync), renames it into place and fsyncs the directory. */
  async finish(): Promise<SnapshotInfo & { records: number; bytes: number }> {
    assert(this.state === 'open', `finish on a ${this.state} snapshot writer`);
    this.state = 'finishing';
    try {
      if (this.blockRecords > 0) this.sealBlock();
      const trailer = Buffer.alloc(TRAILER_BYTES);
      trailer.writeUInt32LE(0, 0);
      trailer.writeUInt32LE(TRAILER_MAGIC, 4);
      writeU64(trailer, this.records, 8);
      trailer.writeUInt32LE(this.runningCrc, 16);
      trailer.writeUInt32LE(crc32(trailer.subarray(0, 20)), 20);
      this.enqueue(trailer);
      await this.drain();
      await this.fh.sync();
      await this.fh.close();
      await fsp.rename(this.tmpPath, this.info.path);
      await fsyncDir(this.snapDir);
      this.state = 'done';
      return { ...this.info, records: this.records, bytes: this.fileOffset };
    } catch (err) {
      await this.abort();
      throw err;
    }
  }

  /** Drops the temp file; the snapshot never becomes visible. */
  async abort(): Promise<void> {
    if (this.state === 'done' || this.state === 'aborted') return;
    this.state = 'aborted';
    while (this.writing !== null) await this.writing.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await unlinkIfExists(this.tmpPath);
  }

  private sealBlock(): void {
    assert(this.blockRecords > 0);
    const b = this.block.subarray(0, this.pos);
    b.writeUInt32LE(this.pos - BLOCK_HEADER_BYTES, 0);
    b.writeUInt32LE(this.blockRecords, 4);
    b.writeUInt32LE(crc32(b.subarray(BLOCK_HEADER_BYTES), crc32(b.subarray(0, 8))), 8);
    this.runningCrc = crc32(b.subarray(0, BLOCK_HEADER_BYTES), this.runningCrc);
    this.enqueue(b);
    // The sealed block now belongs to the write queue.
    this.block = Buffer.allocUnsafe(this.blockBytes);
    this.pos = BLOCK_HEADER_BYTES;
    this.blockRecords = 0;
  }

  private enqueue(buf: Buffer): void {
    this.queue.push(buf);
    this.queuedBytes += buf.length;
    if (this.writing === null) this.writing = this.pump();
  }

  private async pump(): Promise<void> {
    // Yield first, so the `finally` below can never run before enqueue has
    // stored this promise in `writing` (drain would then wait on it forever).
    await Promise.resolve();
    try {
      while (this.queue.length > 0 && this.error === null) {
        const bufs = this.queue;
        this.queue = [];
        let bytes = 0;
        for (const b of bufs) bytes += b.length;
        let done = 0;
        let list = bufs;
        while (done < bytes) {
          const { bytesWritten } = await this.fh.writev(list, this.fileOffset + done);
          if (bytesWritten <= 0) throw new Error('short write to snapshot file');
          done += bytesWritten;
          if (done < bytes) list = skipBytes(list, bytesWritten);
        }
        this.fileOffset += bytes;
        this.queuedBytes -= bytes;
      }
    } catch (err) {
      this.error = err;
    } finally {
      this.writing = null;
    }
  }
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < bufs.length && n >= bufs[i]!.length) n -= bufs[i++]!.length;
  const rest = bufs.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}

// ---- reader -------------------------------------------------------------------

/**
 * Room kept at the front of a read-ahead chunk for the bytes of the previous chunk not yet
 * consumed (a block cut by the chunk boundary): a default-sized block then never needs a
 * second copy.
 */
const READ_AHEAD_HEADROOM_BYTES = SNAPSHOT_BLOCK_BYTES_DEFAULT + 64 * 1024;

/** A read of the next part of the file, started before it is needed. */
interface ReadAhead {
  /** File offset the read starts at. */
  readonly position: number;
  /** The bytes land at HEADROOM onwards. */
  readonly buf: Buffer;
  readonly bytes: Promise<number>;
}

/**
 * Reads a file in large chunks; a requested span is always contiguous in one chunk.
 * While the caller works on one chunk the next is already being read (the copy from the
 * page cache runs on the thread pool), so a large snapshot loads without waiting on it.
 */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  /** File offset of buf[start]. */
  position = 0;
  private ahead: ReadAhead | null = null;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  /**
   * Makes `n` bytes available at `view()`; false when the file ends first.
   * Chunks are fresh allocations, never reused or written again once handed out, so
   * record views (and values loaded by reference, keyspace/lazy-values.ts) stay valid.
   */
  async ensure(n: number): Promise<boolean> {
    const have = this.end - this.start;
    if (have >= n) return true;
    if (this.position + n > this.size) return false;
    const from = this.position + have;
    const ahead = this.ahead;
    this.ahead = null;
    if (ahead !== null && ahead.position === from && have <= READ_AHEAD_HEADROOM_BYTES) {
      const got = await ahead.bytes;
      if (have + got >= n) {
        const at = READ_AHEAD_HEADROOM_BYTES - have;
        this.buf.copy(ahead.buf, at, this.start, this.end);
        this.buf = ahead.buf;
        this.start = at;
        this.end = READ_AHEAD_HEADROOM_BYTES + got;
        this.readAhead();
        return true;
      }
    } else if (ahead !== null) {
      await ahead.bytes.catch(() => 0); // not the bytes wanted; let it finish before reading again
    }
    const chunk = Math.min(Math.max(READ_CHUNK_BYTES, n), this.size - this.position);
    const next = Buffer.allocUnsafe(chunk);
    this.buf.copy(next, 0, this.start, this.end);
    this.buf = next;
    this.start = 0;
    this.end = have + (await this.readInto(next, have, chunk - have, from));
    this.readAhead();
    return this.end - this.start >= n;
  }

  /** Starts reading the chunk after the buffered bytes, unless the file ends there. */
  private readAhead(): void {
    const position = this.position + (this.end - this.start);
    const length = Math.min(READ_CHUNK_BYTES, this.size - position);
    if (length <= 0) return;
    const buf = Buffer.allocUnsafe(READ_AHEAD_HEADROOM_BYTES + length);
    const bytes = this.readInto(buf, READ_AHEAD_HEADROOM_BYTES, length, position);
    bytes.catch(() => undefined); // an error surfaces when (if) the bytes are awaited
    this.ahead = { position, buf, bytes };
  }

  /** Reads up to `length` bytes at file offset `position`; fewer only at the end of the file. */
  private async readInto(buf: Buffer, offset: number, length: number, position: number): Promise<number> {
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, offset + done, length - done, position + done);
      if (bytesRead === 0) break; // shrank under us; the caller reports it as truncation
      done += bytesRead;
    }
    return done;
  }

  /** Lets an outstanding read-ahead finish (before the file is closed). */
  async settle(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = null;
    if (ahead !== null) await ahead.bytes.catch(() => 0);
  }

  /** The `n` bytes at the cursor (a view, not a copy). */
  view(n: number): Buffer {
    assert(n <= this.end - this.start);
    return this.buf.subarray(this.start, this.start + n);
  }

  skip(n: number): void {
    assert(n <= this.end - this.start);
    this.start += n;
    this.position += n;
  }
}

export interface SnapshotReadResult {
  readonly meta: SnapshotMeta;
  readonly records: number;
}

/**
 * Receives one record: bytes `[start, end)` of `buf`, the reader's buffer (a view
 * kept past the call pins a 4 MiB chunk). Offsets rather than a view per record:
 * creating a million views was a measurable part of loading a million keys.
 */
export type RecordHandler = (buf: Buffer, start: number, end: number) => void;

/**
 * Reads and verifies a whole snapshot, handing each record to `onRecord`. Each
 * block is verified before its records are handed out, but a later block may
 * still prove corrupt: on SnapshotCorruptionError the caller must discard what
 * it loaded (loadNewestValid verifies first).
 */
export async function readSnapshot(file: string, onRecord?: RecordHandler): Promise<SnapshotReadResult> {
  const fh = await fsp.open(file, 'r');
  let reader: ChunkReader | undefined;
  try {
    const r = (reader = new ChunkReader(fh, (await fh.stat()).size));
    const bad = (reason: string, at = r.position): SnapshotCorruptionError => new SnapshotCorruptionError(file, at, reason);

    if (!(await r.ensure(HEADER_BYTES))) throw bad('truncated header');
    const h = r.view(HEADER_BYTES);
    if (h.readUInt32LE(0) !== HEADER_MAGIC) throw bad('bad magic');
    const version = h.readUInt32LE(4);
    if (version !== VERSION) throw bad(`unknown format version ${version}`);
    const metaLen = h.readUInt32LE(8);
    if (metaLen > META_BYTES_MAX) throw bad(`meta length ${metaLen}`);
    if (!(await r.ensure(HEADER_BYTES + metaLen))) throw bad('truncated meta');
    const hm = r.view(HEADER_BYTES + metaLen);
    if (crc32(hm.subarray(HEADER_BYTES), crc32(hm.subarray(0, 12))) !== hm.readUInt32LE(12)) throw bad('header checksum mismatch');
    let meta: SnapshotMeta;
    try {
      meta = JSON.parse(hm.subarray(HEADER_BYTES).toString('utf8')) as SnapshotMeta;
    } catch {
      throw bad('meta is not JSON');
    }
    if (typeof meta !== 'object' || meta === null || !Number.isSafeInteger(meta.index) || !Number.isSafeInteger(meta.term)) {
      throw bad('meta lacks index/term');
    }
    const m = NAME.exec(path.basename(file));
    if (m !== null && (Number(m[1]) !== meta.index || Number(m[2]) !== meta.term)) {
      throw bad(`meta says index ${meta.index} term ${meta.term}, file name disagrees`);
    }
    r.skip(HEADER_BYTES + metaLen);

    let records = 0;
    let running = 0;
    for (;;) {
      if (!(await r.ensure(BLOCK_HEADER_BYTES))) throw bad('truncated: no trailer');
      const bh = r.view(BLOCK_HEADER_BYTES);
      const bodyLen = bh.readUInt32LE(0);
      if (bodyLen === 0) break;
      const count = bh.readUInt32LE(4);
      if (bodyLen > BLOCK_BYTES_MAX || count === 0 || count * RECORD_PREFIX_BYTES > bodyLen) {
        throw bad(`invalid block header (length ${bodyLen}, records ${count})`);
      }
      if (!(await r.ensure(BLOCK_HEADER_BYTES + bodyLen))) throw bad('truncated block');
      const block = r.view(BLOCK_HEADER_BYTES + bodyLen);
      if (crc32(block.subarray(BLOCK_HEADER_BYTES), crc32(block.subarray(0, 8))) !== block.readUInt32LE(8)) {
        throw bad('block checksum mismatch');
      }
      // Walk the lengths once before handing anything out, so a block whose
      // checksum matches but whose framing is wrong (a writer bug) delivers nothing.
      let p = BLOCK_HEADER_BYTES;
      for (let i = 0; i < count; i++) {
        if (p + RECORD_PREFIX_BYTES > block.length) throw bad('record framing overruns block');
        p += RECORD_PREFIX_BYTES + block.readUInt32LE(p);
      }
      if (p !== block.length) throw bad('record framing does not fill block');
      if (onRecord !== undefined) {
        p = BLOCK_HEADER_BYTES;
        for (let i = 0; i < count; i++) {
          const len = block.readUInt32LE(p);
          onRecord(block, p + RECORD_PREFIX_BYTES, p + RECORD_PREFIX_BYTES + len);
          p += RECORD_PREFIX_BYTES + len;
        }
      }
      running = crc32(bh, running);
      records += count;
      r.skip(BLOCK_HEADER_BYTES + bodyLen);
    }
    if (!(await r.ensure(TRAILER_BYTES))) throw bad('truncated trailer');
    const t = r.view(TRAILER_BYTES);
    if (t.readUInt32LE(4) !== TRAILER_MAGIC || crc32(t.subarray(0, 20)) !== t.readUInt32LE(20)) throw bad('damaged trailer');
    if (readU64(t, 8) !== records) throw bad(`trailer says ${readU64(t, 8)} records, found ${records}`);
    if (t.readUInt32LE(16) !== running) throw bad('blocks missing, repeated or out of order');
    r.skip(TRAILER_BYTES);
    if (r.position !== r.size) throw bad('data after trailer');
    return { meta, records };
  } finally {
    await reader?.settle();
    await fh.close();
  }
}

/** Names in the snapshot directory; none when it does not exist yet. */
async function snapshotDirNames(snapDir: string): Promise<string[]> {
  try {
    return await fsp.readdir(snapDir);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

/** Snapshots in `<dir>/snap`, newest (highest index, then term) first. Temp files are not listed. */
export async function listSnapshots(dir: string): Promise<SnapshotInfo[]> {
  const snapDir = path.join(dir, SNAPSHOT_DIR);
  const names = await snapshotDirNames(snapDir);
  const out: SnapshotInfo[] = [];
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null) continue;
    out.push({ path: path.join(snapDir, name), name, index: Number(m[1]), term: Number(m[2]) });
  }
  return out.sort((a, b) => b.index - a.index || b.term - a.term);
}

export interface LoadedSnapshot extends SnapshotInfo {
  readonly meta: SnapshotMeta;
  readonly records: number;
  /** Newer snapshots that were found corrupt and passed over. */
  readonly skipped: readonly string[];
}

/**
 * Finds the newest snapshot that verifies completely, falling back to older
 * ones (with a warning each) when the newest is damaged. With onRecord, the
 * chosen snapshot is then read again to deliver its records: verifying first
 * means a caller never receives part of a snapshot it must then throw away.
 * Returns null when there is no valid snapshot.
 */
export async function loadNewestValid(
  dir: string,
  warn: (msg: string) => void,
  onRecord?: RecordHandler,
): Promise<LoadedSnapshot | null> {
  const skipped: string[] = [];
  for (const info of await listSnapshots(dir)) {
    let result: SnapshotReadResult;
    try {
      result = await readSnapshot(info.path);
    } catch (err) {
      if (!(err instanceof SnapshotCorruptionError)) throw err;
      warn(`${err.message}; falling back to an older snapshot`);
      skipped.push(info.path);
      continue;
    }
    if (onRecord !== undefined) result = await readSnapshot(info.path, onRecord);
    return { ...info, meta: result.meta, records: result.records, skipped };
  }
  if (skipped.length > 0) warn(`no valid snapshot among ${skipped.length} file(s)`);
  return null;
}

/** Deletes all but the newest `keep` snapshots; returns the deleted paths. */
export async function retain(dir: string, keep = 2): Promise<string[]> {
  assert(Number.isSafeInteger(keep) && keep >= 1, 'retain: keep at least one snapshot');
  const all = await listSnapshots(dir);
  const doomed = all.slice(keep).map((s) => s.path);
  for (const p of doomed) await unlinkIfExists(p);
  if (doomed.length > 0) await fsyncDir(path.join(dir, SNAPSHOT_DIR));
  return doomed;
}

/** Removes temp files of snapshots whose writer died mid-way; call at start-up, before any writer exists. */
export async function removeSnapshotTemps(dir: string): Promise<string[]> {
  const snapDir = path.join(dir, SNAPSHOT_DIR);
  const names = await snapshotDirNames(snapDir);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.endsWith('.snap.tmp')) continue;
    await unlinkIfExists(path.join(snapDir, name));
    removed.push(path.join(snapDir, name));
  }
  return removed;
}
