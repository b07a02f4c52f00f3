import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { test } from 'node:test';
import fc from 'fast-check';
import { crc32Fallback, crc32Range } from '../../src/storage/crc32.js';
import { payload } from './helpers.js';

// The checksums are the on-disk format: every implementation must agree with zlib's
// CRC-32 byte for byte, at every length (the 8-byte loop and its tail) and offset.

const zlibCrc32 = (zlib as unknown as { crc32: (b: Uint8Array, v?: number) => number }).crc32;

test('known answer: CRC-32 of "123456789" is 0xcbf43926', () => {
  const b = Buffer.from('123456789', 'latin1');
  assert.equal(crc32Fallback(b), 0xcbf43926);
  assert.equal(crc32Range(b, 0, b.length), 0xcbf43926);
});

test('crc32Range equals zlib on the same bytes, for every length up to 2 KiB and odd offsets', () => {
  const big = payload(7, 4096);
  for (let len = 0; len <= 2048; len++) {
    const start = len % 13;
    assert.equal(crc32Range(big, start, start + len), zlibCrc32(big.subarray(start, start + len)), `length ${len} at ${start}`);
  }
});

test('crc32Range and the fallback agree with zlib on random ranges; chaining works as in zlib', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 3000 }), fc.nat(), fc.nat(), (bytes, a, b) => {
      const buf = Buffer.from(bytes);
      const lo = buf.length === 0 ? 0 : a % (buf.length + 1);
      const hi = lo + (buf.length - lo === 0 ? 0 : b % (buf.length - lo + 1));
      const expected = zlibCrc32(buf.subarray(lo, hi));
      assert.equal(crc32Range(buf, lo, hi), expected);
      assert.equal(crc32Fallback(buf.subarray(lo, hi)), expected);
      assert.equal(crc32Fallback(buf.subarray(hi), crc32Fallback(buf.subarray(0, hi))), zlibCrc32(buf));
    }),
    { numRuns: 500 },
  );
});
