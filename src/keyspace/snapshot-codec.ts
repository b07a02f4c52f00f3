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
 * Stores one record into the keyspace. A later record for the same key replaces an
 * earlier one (see snapshot-view.ts for why duplicates are possible and harmless).
 */
export function loadRecord(keyspace: Keyspace, rec: Uint8Array): void {
  const b = Buffer.isBuffer(rec) ? rec : Buffer.from(rec.buffer, rec.byteOffset, rec.byteLength);
  assert(b.length >= HEADER_BYTES && b[0] === KIND_STRING, `snapshot record: unknown kind ${b[0]}`);
  const db = b.readUInt16LE(2);
  const keyLen = b.readUInt32LE(12);
  assert(HEADER_BYTES + keyLen <= b.length, 'snapshot record: key overruns the record');
  const key = latin1(b, HEADER_BYTES, HEADER_BYTES + keyLen);
  const value = b.toString('latin1', HEADER_BYTES + keyLen);
  const expireAt = (b[1]! & FLAG_TTL) !== 0 ? b.readDoubleLE(4) : undefined;
  keyspace.db(db).set(key, value, expireAt);
}
