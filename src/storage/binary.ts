import assert from 'node:assert';

const TWO_32 = 0x1_0000_0000;

// Indexes and terms are JS numbers; on disk they take 64 bits so the format
// outlives the 2^53 limit of this implementation. Values above MAX_SAFE_INTEGER
// are refused on write and reported as corrupt on read.

export function writeU64(buf: Buffer, value: number, offset: number): void {
  // Hot path: the message is built only on failure.
  if (!(Number.isSafeInteger(value) && value >= 0)) assert.fail(`u64 out of range: ${value}`);
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Returns -1 when the stored value is not a safe integer (only possible on corruption). */
export function readU64(buf: Buffer, offset: number): number {
  const lo = buf.readUInt32LE(offset);
  const hi = buf.readUInt32LE(offset + 4);
  if (hi > 0x1f_ffff) return -1;
  return hi * TWO_32 + lo;
}
