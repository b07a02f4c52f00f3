import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeLogCommand, decodeLogCommandAt, encodeLogCommand } from '../../src/cluster/log-codec.js';

const commands = [
  { db: 0, timeMs: 1_700_000_000_123, argv: ['SET', 'k', 'v'] },
  { db: 15, timeMs: 0, argv: ['MSET', '', 'x'.repeat(13), 'bin\x00\xff\r\n', 'y'.repeat(70_000)] },
  { db: 3, timeMs: 1.5, argv: ['FLUSHALL'] },
];

test('log commands round-trip, whole and from offsets inside a larger buffer', () => {
  for (const cmd of commands) {
    const bytes = encodeLogCommand(cmd);
    assert.deepEqual(decodeLogCommand(bytes), cmd);
    assert.deepEqual(decodeLogCommand(new Uint8Array(bytes)), cmd);
    const framed = Buffer.concat([Buffer.from('prefix'), bytes, Buffer.from('suffix')]);
    assert.deepEqual(decodeLogCommandAt(framed, 6, 6 + bytes.length), cmd);
  }
});

test('a malformed payload is refused, never misread', () => {
  const bytes = encodeLogCommand(commands[0]!);
  assert.throws(() => decodeLogCommand(bytes.subarray(0, 10)), /bad header/);
  const wrongVersion = Buffer.from(bytes);
  wrongVersion[0] = 9;
  assert.throws(() => decodeLogCommand(wrongVersion), /bad header/);
  assert.throws(() => decodeLogCommand(bytes.subarray(0, bytes.length - 1)), /truncated argument/);
  assert.throws(() => decodeLogCommand(Buffer.concat([bytes, Buffer.from([0])])), /trailing bytes/);
  // A payload cut short inside a larger buffer must not read into the bytes after it.
  const framed = Buffer.concat([bytes, Buffer.from('more')]);
  assert.throws(() => decodeLogCommandAt(framed, 0, bytes.length - 2), /truncated argument/);
});
