// One keyspace record inside a snapshot file:
//
//   u8 kind (1 = string) | u8 flags (bit 0: has TTL) | u16 db | f64 expireAt | u32 keyLen | key | value
//
// Little-endian; key and value bytes are the latin1 strings' bytes, copied 1:1.

import assert from 'node:assert/strict';
import type { Keyspace, Value } from './database.js';
import { latin1 } from '../protocol/latin1.js';

const KIND_STRING = 1;
const FLAG_TTL = 1;
const HEADER_BYTES = 16;

/**
 * Encodes records into one reusable buffer: a snapshot of a million keys allocates no
 * buffer per key (the snapshot writer copies each record into its block at once).
 */
export class RecordEncoder {
  private scratch = Buffer.allocUnsafe(64 * 1024);

  /** The record as a view of the scratch buffer, valid until the next call. */
  encode(db: number, key: string, value: Value, expireAt: number | undefined): Buffer {
    const size = HEADER_BYTES + key.length + value.length;
    if (size > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2));
    return encodeInto(this.scratch.subarray(0, size), db, key, value, expireAt);
  }
}

export function encodeRecord(db: number, key: string, value: Value, expireAt: number | undefined): Buffer {
  return encodeInto(Buffer.allocUnsafe(HEADER_BYTES + key.length + value.length), db, key, value, expireAt);
}

function encodeInto(buf: Buffer, db: number, key: string, value: Value, expireAt: number | undefined): Buffer {
  buf[0] = KIND_STRING;
  buf[1] = expireAt === undefined ? 0 : FLAG_TTL;
  buf.writeUInt16LE(db, 2);
  buf.writeDoubleLE(expireAt ?? 0, 4);
  buf.writeUInt32LE(key.length, 12);
  buf.write(key, HEADER_BYTES, key.length, 'latin1');
  buf.write(value, HEADER_BYTES + key.length, value.length, 'latin1');
  return buf;
}

/**
 * Stores the record in bytes `[start, end)` of `b` into the keyspace. A later record for
 * the same key replaces an earlier one (see snapshot-view.ts for why duplicates are
 * possible and harmless). Called a million times for a million keys at start-up: it reads
 * from offsets (no view per record), makes no string of the value, and builds no message
 * unless a check fails. `b` must never change afterwards: values refer to its bytes.
 */
export function loadRecord(keyspace: Keyspace, b: Buffer, start: number, end: number): void {
  if (end - start < HEADER_BYTES || b[start] !== KIND_STRING) {
    assert.fail(`snapshot record: unknown kind ${b[start]} or ${end - start} bytes`);
  }
  const db = b[start + 2]! | (b[start + 3]! << 8);
  const keyStart = start + HEADER_BYTES;
  const keyEnd = keyStart + b.readUInt32LE(start + 12);
  if (keyEnd > end) assert.fail('snapshot record: key overruns the record');
  const key = latin1(b, keyStart, keyEnd);
  const expireAt = (b[start + 1]! & FLAG_TTL) !== 0 ? b.readDoubleLE(start + 4) : undefined;
  // The value stays in `b` until first used (lazy-values.ts): the reader never reuses it.
  keyspace.loadLazy(db, key, b, keyEnd, end, expireAt);
}
