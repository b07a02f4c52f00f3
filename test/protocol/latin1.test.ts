import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { latin1 } from '../../src/protocol/latin1.js';
import { splitInlineArgs } from '../../src/protocol/inline.js';

describe('latin1', () => {
  test('every length around the short-string cut-over, every byte value', () => {
    const all = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) & 0xff));
    for (let len = 0; len <= 40; len++) {
      for (const start of [0, 1, 255, 400]) {
        const want = all.toString('latin1', start, start + len);
        assert.equal(latin1(all, start, start + len), want, `len ${len} at ${start}`);
      }
    }
  });

  test('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(8), (bytes, pad) => {
        const buf = Buffer.concat([Buffer.alloc(pad, 0x7f), Buffer.from(bytes), Buffer.alloc(pad, 0x7f)]);
        const s = latin1(buf, pad, pad + bytes.length);
        assert.equal(s.length, bytes.length);
        assert.ok(Buffer.from(s, 'latin1').equals(Buffer.from(bytes)));
      }),
    );
  });
});

describe('splitInlineArgs', () => {
  test('reads only the given range of a larger buffer', () => {
    const buf = Buffer.from('xx"SET" k \'v\'yy', 'latin1');
    assert.deepEqual(splitInlineArgs(buf, 2, 13), ['SET', 'k', 'v']);
  });

  test('a closing quote at the end of the range is accepted even if a byte follows it in the buffer', () => {
    const buf = Buffer.from('"a"b', 'latin1');
    assert.deepEqual(splitInlineArgs(buf, 0, 3), ['a']);
    assert.equal(splitInlineArgs(buf, 0, 4), null);
  });

  test('an escape cut by the end of the range is not read past it', () => {
    const buf = Buffer.from('"\\x41"', 'latin1');
    // Range ends after `\x4`: the escape cannot complete and the quote never closes.
    assert.equal(splitInlineArgs(buf, 0, 4), null);
  });

  test('empty and blank ranges give no arguments', () => {
    const buf = Buffer.from(' \t\x0b\x0c ', 'latin1');
    assert.deepEqual(splitInlineArgs(buf, 0, 0), []);
    assert.deepEqual(splitInlineArgs(buf, 0, buf.length), []);
  });
});
