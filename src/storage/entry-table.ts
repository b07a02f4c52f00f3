// The log's entries in memory, held compactly: per entry its term, its record's offset in
// its segment, and where its payload lies (backing buffer, start, length), instead of an
// object and a Buffer view per entry. LogEntry objects are made only when asked for.
//
// The numbers live in fixed-size chunks of typed arrays. A log holds hundreds of thousands
// of entries between compactions; in growable JS arrays every growth copied all of them
// into a new array of half as much again, megabytes of old-generation garbage each time,
// and each compaction spliced them: on a busy cluster node that kept V8's mark-compact
// collector running about once a second, pausing the node 3-18 ms each time. Chunks are
// never copied: appends fill the last one, compaction drops whole ones from the front, and
// the typed arrays hold no pointers for the collector to trace.
//
// Position k holds the entry at index (compaction point + 1 + k); the Wal keeps that
// offset, the table only positions.

import type { LogEntry } from './wal.js';

/** Entries per chunk (a power of two: positions split by shift and mask). */
const CHUNK_SHIFT = 12;
const CHUNK = 1 << CHUNK_SHIFT;
const MASK = CHUNK - 1;

class Chunk {
  // Float64: terms, offsets and buffer positions are integers that may pass 2^31.
  readonly terms = new Float64Array(CHUNK);
  readonly offsets = new Float64Array(CHUNK);
  readonly starts = new Float64Array(CHUNK);
  readonly lens = new Float64Array(CHUNK);
  readonly bufs: (Buffer | undefined)[] = new Array<Buffer | undefined>(CHUNK).fill(undefined);
}

export class EntryTable {
  private chunks: Chunk[] = [];
  /** Slot of position 0 in chunks[0]. */
  private head = 0;
  private count = 0;
  /** One emptied chunk kept for the next to fill, so a log that compacts as it grows allocates none. */
  private spare: Chunk | null = null;

  get length(): number {
    return this.count;
  }

  /** Appends an entry whose payload is `buf[start, start + len)` (kept by reference, not copied) and whose record starts at `offset` in its segment. */
  push(term: number, buf: Buffer, start: number, len: number, offset: number): void {
    const slot = this.head + this.count;
    const ci = slot >>> CHUNK_SHIFT;
    if (ci === this.chunks.length) this.chunks.push(this.newChunk());
    const c = this.chunks[ci]!;
    const i = slot & MASK;
    c.terms[i] = term;
    c.offsets[i] = offset;
    c.starts[i] = start;
    c.lens[i] = len;
    c.bufs[i] = buf;
    this.count++;
  }

  term(k: number): number {
    const s = this.slot(k);
    return this.chunks[s >>> CHUNK_SHIFT]!.terms[s & MASK]!;
  }

  /** Byte offset of entry k's record inside its segment. */
  offset(k: number): number {
    const s = this.slot(k);
    return this.chunks[s >>> CHUNK_SHIFT]!.offsets[s & MASK]!;
  }

  payloadBytes(k: number): number {
    const s = this.slot(k);
    return this.chunks[s >>> CHUNK_SHIFT]!.lens[s & MASK]!;
  }

  /** The entry at position k, as an object (`index` is supplied by the caller). */
  entry(k: number, index: number): LogEntry {
    const s = this.slot(k);
    const c = this.chunks[s >>> CHUNK_SHIFT]!;
    const i = s & MASK;
    const start = c.starts[i]!;
    return { index, term: c.terms[i]!, data: c.bufs[i]!.subarray(start, start + c.lens[i]!) };
  }

  /** Calls `fn` with the payload of each position in [from, to) as bytes of its backing buffer. */
  forEachPayload(from: number, to: number, fn: (buf: Buffer, start: number, end: number) => void): void {
    for (let k = from; k < to; k++) {
      const s = this.slot(k);
      const c = this.chunks[s >>> CHUNK_SHIFT]!;
      const i = s & MASK;
      const start = c.starts[i]!;
      fn(c.bufs[i]!, start, start + c.lens[i]!);
    }
  }

  /** Keeps the first `n` entries. */
  truncate(n: number): void {
    if (n >= this.count) return;
    const cut = this.head + n;
    const keepChunks = n === 0 ? 0 : ((cut - 1) >>> CHUNK_SHIFT) + 1;
    // Let go of the payload buffers the cut entries held in the chunk that stays (its
    // slots past the old end are empty already).
    if (keepChunks > 0 && (cut & MASK) !== 0) this.chunks[keepChunks - 1]!.bufs.fill(undefined, cut & MASK);
    for (let ci = keepChunks; ci < this.chunks.length; ci++) this.recycle(this.chunks[ci]!);
    this.chunks.length = keepChunks;
    this.count = n;
    if (n === 0) this.head = 0;
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    if (n >= this.count) {
      this.clear();
      return;
    }
    const newHead = this.head + n;
    const dropChunks = newHead >>> CHUNK_SHIFT;
    for (let ci = 0; ci < dropChunks; ci++) this.recycle(this.chunks[ci]!);
    if (dropChunks > 0) this.chunks.splice(0, dropChunks);
    this.head = newHead & MASK;
    this.chunks[0]!.bufs.fill(undefined, 0, this.head);
    this.count -= n;
  }

  clear(): void {
    for (const c of this.chunks) this.recycle(c);
    this.chunks = [];
    this.head = 0;
    this.count = 0;
  }

  private slot(k: number): number {
    if (!(k >= 0 && k < this.count)) throw new RangeError(`entry position ${k} outside 0..${this.count - 1}`);
    return this.head + k;
  }

  private newChunk(): Chunk {
    const c = this.spare;
    if (c === null) return new Chunk();
    this.spare = null;
    return c;
  }

  private recycle(c: Chunk): void {
    c.bufs.fill(undefined);
    this.spare = c;
  }
}
