// The log's entries in memory, held compactly: four parallel arrays (term, backing
// buffer, start, length) instead of an object and a Buffer view per entry. A log of a
// million entries then costs ~32 bytes of bookkeeping per entry rather than ~150, and
// recovery allocates nothing per record. LogEntry objects are made only when asked for.
//
// Position k holds the entry at index (compaction point + 1 + k); the Wal keeps that
// offset, the table only positions.

import type { LogEntry } from './wal.js';

export class EntryTable {
  private terms: number[] = [];
  private bufs: Buffer[] = [];
  private starts: number[] = [];
  private lens: number[] = [];

  get length(): number {
    return this.terms.length;
  }

  /** Appends an entry whose payload is `buf[start, start + len)` (kept by reference, not copied). */
  push(term: number, buf: Buffer, start: number, len: number): void {
    this.terms.push(term);
    this.bufs.push(buf);
    this.starts.push(start);
    this.lens.push(len);
  }

  term(k: number): number {
    return this.terms[k]!;
  }

  payloadBytes(k: number): number {
    return this.lens[k]!;
  }

  /** The entry at position k, as an object (`index` is supplied by the caller). */
  entry(k: number, index: number): LogEntry {
    const start = this.starts[k]!;
    return { index, term: this.terms[k]!, data: this.bufs[k]!.subarray(start, start + this.lens[k]!) };
  }

  /** Calls `fn` with the payload of each position in [from, to) as bytes of its backing buffer. */
  forEachPayload(from: number, to: number, fn: (buf: Buffer, start: number, end: number) => void): void {
    for (let k = from; k < to; k++) {
      const start = this.starts[k]!;
      fn(this.bufs[k]!, start, start + this.lens[k]!);
    }
  }

  /** Keeps the first `n` entries. */
  truncate(n: number): void {
    this.terms.length = n;
    this.bufs.length = n;
    this.starts.length = n;
    this.lens.length = n;
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    this.terms.splice(0, n);
    this.bufs.splice(0, n);
    this.starts.splice(0, n);
    this.lens.splice(0, n);
  }

  clear(): void {
    this.truncate(0);
  }
}
