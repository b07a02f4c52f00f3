// The WAL's record format (see the layout at the top of wal.ts) and the check of an
// intact record, shared by recovery on the main thread and the prescan worker.

import { crc32Range } from './crc32.js';

/** A segment file's name: the index of its first record, 20 digits. */
export const SEGMENT_NAME = /^(\d{20})\.seg$/;

export const RECORD_HEADER_BYTES = 24;
export const RECORD_LEN_MIN = 16;
/** Largest payload accepted; matches Redis's default proto-max-bulk-len. */
export const ENTRY_BYTES_MAX = 512 * 1024 * 1024;

/**
 * The size of the record at `off` when it is intact, is entry `expectedIndex` and keeps
 * the terms in order (as recovery's full check would accept it), else -1. The fast path:
 * no union result, no message, indexes and terms below 2^32 compared directly.
 */
export function intactRecordSize(buf: Buffer, off: number, expectedIndex: number, prevTerm: number): number {
  if (off + RECORD_HEADER_BYTES > buf.length) return -1;
  const len = buf.readUInt32LE(off);
  const size = 8 + len;
  if (len < RECORD_LEN_MIN || len > RECORD_LEN_MIN + ENTRY_BYTES_MAX || off + size > buf.length) return -1;
  if (buf.readUInt32LE(off + 12) !== 0 || buf.readUInt32LE(off + 8) !== expectedIndex) return -1;
  const term = buf.readUInt32LE(off + 16);
  if (buf.readUInt32LE(off + 20) !== 0 || term < prevTerm || term < 1) return -1;
  if (crc32Range(buf, off + 8, off + size) !== buf.readUInt32LE(off + 4)) return -1;
  return size;
}

/** The run of intact records at the start of a segment, as intactRecordSize sees them. */
export interface IntactRun {
  /** Records in the run. */
  readonly count: number;
  /** Size of each record of the run, in order. */
  readonly sizes: Uint32Array;
  /** Term of each record of the run, in order. */
  readonly terms: Float64Array;
}

/**
 * Scans `buf` (a whole segment whose first record should be entry `firstIndex`, the
 * previous entry having term `prevTerm`) for intact records from its start, stopping at
 * the first one that is not (damage, a torn tail, zeros, or simply the end).
 */
export function scanIntactRun(buf: Buffer, firstIndex: number, prevTerm: number): IntactRun {
  // Records are at least 24 bytes: this bounds the count without a second pass.
  const cap = Math.floor(buf.length / RECORD_HEADER_BYTES);
  const sizes = new Uint32Array(cap);
  const terms = new Float64Array(cap);
  let count = 0;
  let off = 0;
  let term = prevTerm;
  for (;;) {
    const size = intactRecordSize(buf, off, firstIndex + count, term);
    if (size < 0) break;
    term = buf.readUInt32LE(off + 16);
    sizes[count] = size;
    terms[count] = term;
    count++;
    off += size;
  }
  return { count, sizes: sizes.slice(0, count), terms: terms.slice(0, count) };
}
