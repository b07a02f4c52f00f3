import * as zlib from 'node:zlib';

// zlib.crc32 arrived in Node 20.15; older 20.x runtimes get a table-driven
// fallback with the same polynomial and chaining semantics, so files written
// by either are interchangeable.

type Crc32Fn = (data: Uint8Array, value?: number) => number;

function buildTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

let fallbackTable: Uint32Array | null = null;

export function crc32Fallback(data: Uint8Array, value = 0): number {
  if (fallbackTable === null) fallbackTable = buildTable();
  const table = fallbackTable;
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < data.length; i++) c = table[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const native: unknown = (zlib as { crc32?: unknown }).crc32;

/** CRC-32 (IEEE, as zlib). `value` chains a previous result so a record can be checksummed in pieces. */
export const crc32: Crc32Fn =
  typeof native === 'function' ? (native as Crc32Fn) : crc32Fallback;
