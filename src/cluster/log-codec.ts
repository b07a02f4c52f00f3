// Binary form of a LogCommand inside a log entry's payload.
//
//   u8 version (1) | u8 flags (0) | u16 db | f64 timeMs | u32 argc | argc × (u32 len | bytes)
//
// Little-endian. Arguments are latin1 strings, so their bytes are written 1:1 with no
// re-encoding, and length is the string's length.

import assert from 'node:assert/strict';
import type { LogCommand } from '../commands/types.js';
import { latin1 } from '../protocol/latin1.js';

const VERSION = 1;
const HEADER_BYTES = 16;

export function encodeLogCommand(cmd: LogCommand): Buffer {
  const argv = cmd.argv;
  let size = HEADER_BYTES;
  for (let i = 0; i < argv.length; i++) size += 4 + argv[i]!.length;
  const buf = Buffer.allocUnsafe(size);
  buf[0] = VERSION;
  buf[1] = 0;
  buf.writeUInt16LE(cmd.db, 2);
  buf.writeDoubleLE(cmd.timeMs, 4);
  buf.writeUInt32LE(argv.length, 12);
  let off = HEADER_BYTES;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    buf.writeUInt32LE(a.length, off);
    off += 4;
    off += buf.write(a, off, a.length, 'latin1');
  }
  assert.equal(off, size);
  return buf;
}

/** Decodes a payload; throws on a malformed one (the log's CRC makes that a bug, not bad luck). */
export function decodeLogCommand(buf: Uint8Array): LogCommand {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  return decodeLogCommandAt(b, 0, b.length);
}

/** Decodes the payload in bytes `[start, end)` of `b` (replay reads the log this way: no view per entry). */
export function decodeLogCommandAt(b: Buffer, start: number, end: number): LogCommand {
  if (end - start < HEADER_BYTES || b[start] !== VERSION) assert.fail(`log command: bad header (${end - start} bytes, version ${b[start]})`);
  const db = b.readUInt16LE(start + 2);
  const timeMs = b.readDoubleLE(start + 4);
  const argc = b.readUInt32LE(start + 12);
  const argv: string[] = new Array<string>(argc);
  let off = start + HEADER_BYTES;
  for (let i = 0; i < argc; i++) {
    assert(off + 4 <= end, 'log command: truncated argument length');
    const len = b.readUInt32LE(off);
    off += 4;
    assert(off + len <= end, 'log command: truncated argument');
    argv[i] = latin1(b, off, off + len);
    off += len;
  }
  assert(off === end, 'log command: trailing bytes');
  return { db, timeMs, argv };
}
