import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

import { ProtocolError } from '../../src/protocol/errors.js';
import {
  QueryBufferLimitError,
  RequestDecoder,
  defaultDecoderLimits,
  type DecoderLimits,
} from '../../src/protocol/decoder.js';

/** What a decoder produced from some input: each request's argv and whether it was inline. */
interface Decoded {
  requests: string[][];
  inline: boolean[];
  error: string | null;
}

interface Setup {
  limits?: Partial<DecoderLimits>;
  authenticated?: boolean;
}

function bytes(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

/** Feeds `input` cut at `cuts` (sorted offsets), draining next() after every push as a connection does. */
function decodeCut(input: string | Buffer, cuts: readonly number[], setup: Setup = {}): Decoded {
  const buf = bytes(input);
  const d = new RequestDecoder(setup.limits);
  if (setup.authenticated !== undefined) d.authenticated = setup.authenticated;
  const out: Decoded = { requests: [], inline: [], error: null };
  let from = 0;
  try {
    for (const at of [...cuts, buf.length]) {
      if (at < from) continue;
      d.push(buf.subarray(from, at));
      from = at;
      for (let argv = d.next(); argv !== null; argv = d.next()) {
        out.requests.push(argv);
        out.inline.push(d.lastWasInline);
      }
    }
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw e;
    out.error = e.message;
  }
  return out;
}

function decodeWhole(input: string | Buffer, setup?: Setup): Decoded {
  return decodeCut(input, [], setup);
}

function decodeBytewise(input: string | Buffer, setup?: Setup): Decoded {
  const n = bytes(input).length;
  return decodeCut(
    input,
    Array.from({ length: n }, (_, i) => i),
    setup,
  );
}

/** Every table case is checked fed whole and fed one byte at a time, which must agree. */
function decodeBothWays(input: string | Buffer, setup?: Setup): Decoded {
  const whole = decodeWhole(input, setup);
  assert.deepEqual(decodeBytewise(input, setup), whole, 'byte-at-a-time feeding disagrees with whole feeding');
  return whole;
}

/** RESP multibulk encoding of one request; arguments are latin1 byte strings. */
function resp(...argv: string[]): string {
  let s = '*' + argv.length + '\r\n';
  for (const a of argv) s += '$' + a.length + '\r\n' + a + '\r\n';
  return s;
}

const protocolError = (detail: string): string => `ERR Protocol error: ${detail}`;

describe('RequestDecoder: valid requests', () => {
  // `error` marks the few cases whose point is what gets accepted before a later check refuses it.
  const cases: { name: string; input: string | Buffer; want: string[][]; inline?: boolean[]; setup?: Setup; error?: string }[] = [
    { name: 'one RESP request', input: resp('GET', 'k'), want: [['GET', 'k']], inline: [false] },
    {
      name: 'pipelined RESP requests',
      input: resp('SET', 'k', 'v') + resp('GET', 'k') + resp('PING'),
      want: [['SET', 'k', 'v'], ['GET', 'k'], ['PING']],
    },
    { name: 'empty bulk', input: '*2\r\n$4\r\nECHO\r\n$0\r\n\r\n', want: [['ECHO', '']] },
    { name: 'bulk data containing CRLF', input: resp('SET', 'k', 'a\r\nb\r\n'), want: [['SET', 'k', 'a\r\nb\r\n']] },
    { name: 'bulk data that looks like RESP', input: resp('SET', '*1\r\n$4\r\nPING\r\n'), want: [['SET', '*1\r\n$4\r\nPING\r\n']] },
    { name: '*0 is skipped', input: '*0\r\n' + resp('PING'), want: [['PING']] },
    { name: '*-1 is skipped', input: '*-1\r\n' + resp('PING'), want: [['PING']] },
    { name: 'any negative count is skipped', input: '*-42\r\n*-9223372036854775808\r\n' + resp('PING'), want: [['PING']] },
    { name: 'bulk length 9 digits', input: '*1\r\n$10\r\n0123456789\r\n', want: [['0123456789']] },
    { name: 'inline with CRLF', input: 'SET k v\r\n', want: [['SET', 'k', 'v']], inline: [true] },
    { name: 'inline with bare LF', input: 'GET k\n', want: [['GET', 'k']], inline: [true] },
    { name: 'inline blank lines are skipped', input: '\r\n\n   \r\n\t\nPING\r\n', want: [['PING']], inline: [true] },
    { name: 'inline separators: runs of spaces and tabs', input: '  SET\t\tk   v  \r\n', want: [['SET', 'k', 'v']] },
    { name: 'inline \\v and \\f are skipped between tokens', input: '\x0bSET \x0ck v\r\n', want: [['SET', 'k', 'v']] },
    { name: 'inline \\f does not end a bare token', input: 'SET\x0ck v\r\n', want: [['SET\x0ck', 'v']] },
    { name: 'inline \\v inside a bare token is kept', input: 'ECHO a\x0bb\r\n', want: [['ECHO', 'a\x0bb']] },
    { name: 'inline CR inside the line ends a token', input: 'ECHO a\rb\r\n', want: [['ECHO', 'a', 'b']] },
    { name: 'inline only the last CR is the terminator', input: 'PING\r\r\n', want: [['PING']] },
    { name: 'inline double quotes keep spaces', input: 'SET "my key" "a b"\r\n', want: [['SET', 'my key', 'a b']] },
    {
      name: 'inline double-quote escapes',
      input: 'ECHO "\\n\\r\\t\\b\\a\\\\\\"\\z"\r\n',
      want: [['ECHO', '\n\r\t\b\x07\\"z']],
    },
    { name: 'inline \\xHH escapes, both cases', input: 'ECHO "\\x41\\x7a\\xFF\\x00\\xfE"\r\n', want: [['ECHO', 'Az\xff\x00\xfe']] },
    { name: 'inline \\x without two hex digits is a plain x', input: 'ECHO "\\x4g" "\\x"\r\n', want: [['ECHO', 'x4g', 'x']] },
    { name: 'inline single quotes are literal except \\\'', input: "ECHO 'a\\nb\\'c\\d'\r\n", want: [['ECHO', "a\\nb'c\\d"]] },
    // `\\'` is a backslash, then an escaped quote: the string never closes (as in redis-cli).
    { name: 'inline single quotes: backslash before the closing quote escapes it', input: "ECHO 'a\\\\'\r\n", want: [], error: 'unbalanced quotes in request' },
    { name: 'inline empty quoted tokens', input: 'ECHO "" \'\'\r\n', want: [['ECHO', '', '']] },
    { name: 'inline quote opening mid-token', input: 'ECHO foo"bar baz"\r\n', want: [['ECHO', 'foobar baz']] },
    { name: 'inline closing quote at end of line', input: 'ECHO "a"\n', want: [['ECHO', 'a']] },
    { name: 'inline closing quote followed by a tab', input: "ECHO 'a'\tb\r\n", want: [['ECHO', 'a', 'b']] },
    { name: 'inline NUL is an ordinary byte', input: 'ECHO a\x00b\r\n', want: [['ECHO', 'a\x00b']] },
    {
      name: 'inline and RESP mixed',
      input: 'PING\r\n' + resp('GET', 'k') + 'SET a b\n' + resp('DEL', 'a'),
      want: [['PING'], ['GET', 'k'], ['SET', 'a', 'b'], ['DEL', 'a']],
      inline: [true, false, true, false],
    },
    {
      name: 'a line starting with $ is inline',
      input: '$3\r\n',
      want: [['$3']],
      inline: [true],
    },
    {
      name: 'every byte value inside a bulk',
      input: resp('SET', 'k', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1')),
      want: [['SET', 'k', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('latin1')]],
    },
    {
      name: 'UTF-8 bulk comes out as its latin1 bytes',
      input: Buffer.concat([Buffer.from('*2\r\n$4\r\nECHO\r\n$9\r\n'), Buffer.from('héllo€', 'utf8'), Buffer.from('\r\n')]),
      want: [['ECHO', 'h\xc3\xa9llo\xe2\x82\xac']],
    },
    {
      name: 'UTF-8 inline comes out as its latin1 bytes',
      input: Buffer.from('SET ключ "значение"\r\n', 'utf8'),
      want: [['SET', Buffer.from('ключ', 'utf8').toString('latin1'), Buffer.from('значение', 'utf8').toString('latin1')]],
    },
    {
      name: 'unauthenticated: 10 args and a 16384-byte bulk are allowed',
      input: resp('A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'x'.repeat(16384)),
      want: [['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'x'.repeat(16384)]],
      setup: { authenticated: false },
    },
    {
      name: 'exactly maxArgs arguments',
      input: resp('a', 'b', 'c'),
      want: [['a', 'b', 'c']],
      setup: { limits: { maxArgs: 3 } },
    },
    {
      name: 'exactly maxBulkBytes',
      input: resp('abcd'),
      want: [['abcd']],
      setup: { limits: { maxBulkBytes: 4 } },
    },
    {
      name: 'inline line of exactly maxInlineBytes',
      input: 'ECHO 12345\r\n',
      want: [['ECHO', '12345']],
      setup: { limits: { maxInlineBytes: 10 } },
    },
    {
      name: 'header line of exactly maxInlineBytes',
      input: '*0001\r\n',
      // 0001 is not a valid number: the point is the length check passes and the value check runs.
      want: [],
      setup: { limits: { maxInlineBytes: 5 } },
      error: 'invalid multibulk length',
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = decodeBothWays(c.input, c.setup);
      assert.equal(got.error, c.error === undefined ? null : protocolError(c.error));
      assert.deepEqual(got.requests, c.want);
      if (c.inline) assert.deepEqual(got.inline, c.inline);
    });
  }

  test('bufferedBytes counts undecoded bytes and returns to 0', () => {
    const d = new RequestDecoder();
    assert.equal(d.bufferedBytes, 0);
    d.push(Buffer.from(resp('GET', 'k') + '*2\r\n$3\r\nGE'));
    assert.equal(d.bufferedBytes, 30);
    assert.deepEqual(d.next(), ['GET', 'k']);
    assert.equal(d.bufferedBytes, 10);
    assert.equal(d.next(), null);
    d.push(Buffer.from('T\r\n$1\r\nk\r\n'));
    assert.deepEqual(d.next(), ['GET', 'k']);
    assert.equal(d.next(), null);
    assert.equal(d.bufferedBytes, 0);
  });

  test('authenticated may change between requests', () => {
    const d = new RequestDecoder();
    d.authenticated = false;
    d.push(Buffer.from(resp('AUTH', 'secret')));
    assert.deepEqual(d.next(), ['AUTH', 'secret']);
    d.authenticated = true;
    const eleven = Array.from({ length: 11 }, (_, i) => String(i));
    d.push(Buffer.from(resp(...eleven)));
    assert.deepEqual(d.next(), eleven);
  });

  test('a request is not returned until complete, however it is cut', () => {
    const input = resp('SET', 'key', 'value');
    for (let cut = 0; cut < input.length; cut++) {
      const d = new RequestDecoder();
      d.push(Buffer.from(input.slice(0, cut), 'latin1'));
      assert.equal(d.next(), null, `cut at ${cut}`);
      d.push(Buffer.from(input.slice(cut), 'latin1'));
      assert.deepEqual(d.next(), ['SET', 'key', 'value']);
      assert.equal(d.next(), null);
    }
  });

  test('the chunk the caller pushed may be reused after next() has taken what it needs', () => {
    // Returned strings are copies, not views, so a connection can recycle its read buffers.
    const d = new RequestDecoder();
    const chunk = Buffer.from(resp('SET', 'k', 'v'));
    d.push(chunk);
    const argv = d.next();
    chunk.fill(0);
    assert.deepEqual(argv, ['SET', 'k', 'v']);
  });

  test('limits below one are refused', () => {
    assert.throws(() => new RequestDecoder({ maxArgs: 0 }), RangeError);
    assert.throws(() => new RequestDecoder({ maxInlineBytes: Number.NaN }), RangeError);
    assert.equal(defaultDecoderLimits.maxInlineBytes, 64 * 1024);
    assert.equal(defaultDecoderLimits.maxBulkBytes, 512 * 1024 * 1024);
    assert.equal(defaultDecoderLimits.maxArgs, 1024 * 1024);
    assert.equal(defaultDecoderLimits.maxQueryBufferBytes, 1024 * 1024 * 1024);
  });
});

describe('RequestDecoder: protocol errors', () => {
  const cases: { name: string; input: string; error: string; before?: string[][]; setup?: Setup }[] = [
    { name: 'non-numeric count', input: '*abc\r\n', error: 'invalid multibulk length' },
    { name: 'empty count', input: '*\r\n', error: 'invalid multibulk length' },
    { name: 'count with leading zero', input: '*01\r\n', error: 'invalid multibulk length' },
    { name: 'count with plus sign', input: '*+1\r\n', error: 'invalid multibulk length' },
    { name: 'count -0', input: '*-0\r\n', error: 'invalid multibulk length' },
    { name: 'count with trailing space', input: '*1 \r\n', error: 'invalid multibulk length' },
    { name: 'count above maxArgs (default 1024*1024)', input: '*1048577\r\n', error: 'invalid multibulk length' },
    { name: 'count above maxArgs (configured)', input: resp('a', 'b', 'c', 'd'), error: 'invalid multibulk length', setup: { limits: { maxArgs: 3 } } },
    { name: 'count of 20 digits', input: '*99999999999999999999\r\n', error: 'invalid multibulk length' },
    { name: 'count below the smallest long long', input: '*-9223372036854775809\r\n', error: 'invalid multibulk length' },
    { name: 'count CR not followed by LF', input: '*1\rx$4\r\nPING\r\n', error: 'invalid multibulk length' },
    { name: 'argument without $', input: '*1\r\nGET\r\n', error: "expected '$', got 'G'" },
    { name: 'argument that is a new multibulk', input: '*2\r\n$1\r\na\r\n*1\r\n', error: "expected '$', got '*'" },
    { name: 'argument starting with a high byte', input: '*1\r\n\xff1\r\n', error: "expected '$', got '\xff'" },
    { name: 'non-numeric bulk length', input: '*1\r\n$abc\r\n', error: 'invalid bulk length' },
    { name: 'empty bulk length', input: '*1\r\n$\r\n', error: 'invalid bulk length' },
    { name: 'negative bulk length', input: '*1\r\n$-1\r\n', error: 'invalid bulk length' },
    { name: 'bulk length with leading zero', input: '*1\r\n$03\r\nabc\r\n', error: 'invalid bulk length' },
    { name: 'bulk length above maxBulkBytes (default 512 MiB)', input: '*1\r\n$536870913\r\n', error: 'invalid bulk length' },
    { name: 'bulk length above maxBulkBytes (configured)', input: resp('abcde'), error: 'invalid bulk length', setup: { limits: { maxBulkBytes: 4 } } },
    { name: 'bulk length of 16 digits', input: '*1\r\n$1000000000000000\r\n', error: 'invalid bulk length' },
    { name: 'bulk length CR not followed by LF', input: '*1\r\n$1\rxa\r\n', error: 'invalid bulk length' },
    { name: 'bulk data not followed by CRLF', input: '*1\r\n$3\r\nabcXY', error: 'expected CRLF after bulk data' },
    { name: 'bulk data followed by LF only', input: '*1\r\n$3\r\nabc\n\n', error: 'expected CRLF after bulk data' },
    { name: 'bulk data followed by CR and not LF', input: '*1\r\n$3\r\nabc\rX', error: 'expected CRLF after bulk data' },
    { name: 'bulk data one byte longer than declared', input: '*1\r\n$3\r\nabcd\r\n', error: 'expected CRLF after bulk data' },
    {
      name: 'error after good requests',
      input: resp('PING') + 'ECHO ok\r\n' + '*1\r\n$x\r\n',
      error: 'invalid bulk length',
      before: [['PING'], ['ECHO', 'ok']],
    },
    {
      name: 'unauthenticated multibulk length',
      input: resp(...Array.from({ length: 11 }, () => 'a')),
      error: 'unauthenticated multibulk length',
      setup: { authenticated: false },
    },
    {
      name: 'unauthenticated bulk length',
      input: '*1\r\n$16385\r\n',
      error: 'unauthenticated bulk length',
      setup: { authenticated: false },
    },
    {
      name: 'invalid bulk length wins over unauthenticated',
      input: '*1\r\n$536870913\r\n',
      error: 'invalid bulk length',
      setup: { authenticated: false },
    },
    { name: 'unterminated double quote', input: 'SET "a\r\n', error: 'unbalanced quotes in request' },
    { name: 'unterminated single quote', input: "SET 'a\r\n", error: 'unbalanced quotes in request' },
    { name: 'escaped closing double quote', input: 'SET "a\\"\r\n', error: 'unbalanced quotes in request' },
    { name: 'escaped closing single quote', input: "SET 'a\\'\r\n", error: 'unbalanced quotes in request' },
    { name: 'backslash at end inside quotes', input: 'SET "a\\\r\n', error: 'unbalanced quotes in request' },
    { name: 'text right after closing double quote', input: 'SET "a"b\r\n', error: 'unbalanced quotes in request' },
    { name: 'text right after closing single quote', input: "SET 'a'b\r\n", error: 'unbalanced quotes in request' },
    { name: 'quote right after closing quote', input: 'SET "a""b"\r\n', error: 'unbalanced quotes in request' },
    {
      name: 'inline line over maxInlineBytes with its newline',
      input: 'ECHO 123456\r\n',
      error: 'too big inline request',
      setup: { limits: { maxInlineBytes: 10 } },
    },
    {
      name: 'inline line over maxInlineBytes without newline',
      input: 'ECHO 123456',
      error: 'too big inline request',
      setup: { limits: { maxInlineBytes: 10 } },
    },
    {
      name: 'count line over maxInlineBytes without CR',
      input: '*123456',
      error: 'too big mbulk count string',
      setup: { limits: { maxInlineBytes: 6 } },
    },
    {
      name: 'count line over maxInlineBytes with CR',
      input: '*123456\r\n',
      error: 'too big mbulk count string',
      setup: { limits: { maxInlineBytes: 6 } },
    },
    {
      name: 'bulk length line over maxInlineBytes without CR',
      input: '*1\r\n$123456',
      error: 'too big bulk count string',
      setup: { limits: { maxInlineBytes: 6 } },
    },
    {
      name: 'over-long argument line is judged on length before its $',
      input: '*1\r\nGETGETGET',
      error: 'too big bulk count string',
      setup: { limits: { maxInlineBytes: 6 } },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = decodeBothWays(c.input, c.setup);
      assert.equal(got.error, protocolError(c.error));
      assert.deepEqual(got.requests, c.before ?? []);
    });
  }

  test('default limits: a 64 KiB count line waits, one more byte is refused', () => {
    const d = new RequestDecoder();
    d.push(Buffer.from('*' + '1'.repeat(64 * 1024 - 1)));
    assert.equal(d.next(), null);
    d.push(Buffer.from('1'));
    assert.throws(() => d.next(), { name: 'ProtocolError', message: protocolError('too big mbulk count string') });
  });

  test('default limits: a 64 KiB bulk length line waits, one more byte is refused', () => {
    const d = new RequestDecoder();
    d.push(Buffer.from('*2\r\n$4\r\nECHO\r\n$' + '1'.repeat(64 * 1024 - 1)));
    assert.equal(d.next(), null);
    d.push(Buffer.from('1'));
    assert.throws(() => d.next(), { name: 'ProtocolError', message: protocolError('too big bulk count string') });
  });

  test('default limits: a 64 KiB inline line waits (even with its CR), one more byte is refused', () => {
    const d = new RequestDecoder();
    d.push(Buffer.from('x'.repeat(64 * 1024)));
    assert.equal(d.next(), null);
    d.push(Buffer.from('\r'));
    assert.equal(d.next(), null);
    d.push(Buffer.from('\n'));
    assert.deepEqual(d.next(), ['x'.repeat(64 * 1024)]);

    const e = new RequestDecoder();
    e.push(Buffer.from('x'.repeat(64 * 1024)));
    assert.equal(e.next(), null);
    e.push(Buffer.from('x'));
    assert.throws(() => e.next(), { name: 'ProtocolError', message: protocolError('too big inline request') });
  });

  test('the error is raised as soon as the line is too long, in one-byte chunks too', () => {
    const d = new RequestDecoder({ maxInlineBytes: 8 });
    for (const ch of 'abcdefgh') {
      d.push(Buffer.from(ch));
      assert.equal(d.next(), null);
    }
    d.push(Buffer.from('i'));
    assert.throws(() => d.next(), ProtocolError);
  });
});

describe('RequestDecoder: query buffer limit', () => {
  test('an unterminated bulk beyond the limit throws QueryBufferLimitError', () => {
    const limit = 1024 * 1024;
    const d = new RequestDecoder({ maxQueryBufferBytes: limit });
    d.push(Buffer.from('*2\r\n$3\r\nSET\r\n$10000000\r\n'));
    assert.equal(d.next(), null);
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let pushed = 0;
    assert.throws(
      () => {
        for (;;) {
          d.push(chunk);
          pushed += chunk.length;
          assert.equal(d.next(), null);
        }
      },
      (e: unknown) => e instanceof QueryBufferLimitError && e.limitBytes === limit && e.requestBytes > limit,
    );
    // Refused at the push that would cross the limit, not later; 'SET' (3 bytes) is held too.
    assert.ok(pushed + 3 <= limit && pushed + 3 + chunk.length > limit, `pushed ${pushed}`);
  });

  test('it is not a ProtocolError (Redis closes without a reply)', () => {
    const d = new RequestDecoder({ maxQueryBufferBytes: 10 });
    assert.throws(
      () => d.push(Buffer.from('x'.repeat(11))),
      (e: unknown) => e instanceof QueryBufferLimitError && !(e instanceof ProtocolError),
    );
  });

  test('arguments already decoded count towards the limit', () => {
    const d = new RequestDecoder({ maxQueryBufferBytes: 100 });
    d.push(Buffer.from('*10\r\n'));
    assert.equal(d.next(), null);
    const arg = Buffer.from(resp('x'.repeat(20)).slice(4), 'latin1'); // `$20\r\n…\r\n`, 27 bytes
    d.push(arg);
    d.push(arg);
    d.push(arg);
    assert.equal(d.next(), null);
    assert.equal(d.bufferedBytes, 0);
    // 60 decoded bytes held, 27 more would be 87: still fine; the next would be 114.
    d.push(arg);
    assert.equal(d.next(), null);
    assert.throws(() => d.push(arg), QueryBufferLimitError);
  });

  test('complete requests drained by next() do not count', () => {
    const d = new RequestDecoder({ maxQueryBufferBytes: 64 });
    for (let i = 0; i < 1000; i++) {
      d.push(Buffer.from(resp('SET', 'key:' + i, 'value')));
      assert.deepEqual(d.next(), ['SET', 'key:' + i, 'value']);
      assert.equal(d.next(), null);
    }
  });
});

describe('RequestDecoder: large values', () => {
  test('a 20 MB bulk fed in 16 KB chunks decodes, and decoding resumes after it', () => {
    const size = 20 * 1024 * 1024;
    const value = Buffer.allocUnsafe(size);
    for (let i = 0; i < size; i++) value[i] = (i * 131 + (i >>> 9)) & 0xff;
    const input = Buffer.concat([
      Buffer.from('*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$' + size + '\r\n'),
      value,
      Buffer.from('\r\n' + resp('GET', 'big')),
    ]);
    const d = new RequestDecoder();
    const got: string[][] = [];
    const chunkBytes = 16 * 1024;
    // Count what the decoder copies: joining the value's chunks on every push would copy ~1280x its size.
    const concat = Buffer.concat;
    let copiedBytes = 0;
    Buffer.concat = (list: readonly Uint8Array[], totalLength?: number): Buffer<ArrayBuffer> => {
      const joined = concat(list, totalLength);
      copiedBytes += joined.length;
      return joined;
    };
    try {
      for (let at = 0; at < input.length; at += chunkBytes) {
        d.push(input.subarray(at, at + chunkBytes));
        for (let argv = d.next(); argv !== null; argv = d.next()) got.push(argv);
      }
    } finally {
      Buffer.concat = concat;
    }
    assert.ok(copiedBytes < 2 * size, `copied ${copiedBytes} bytes for a ${size}-byte value`);
    assert.equal(got.length, 2);
    assert.deepEqual(got[0]!.slice(0, 2), ['SET', 'big']);
    assert.equal(got[0]![2]!.length, size);
    assert.ok(Buffer.from(got[0]![2]!, 'latin1').equals(value));
    assert.deepEqual(got[1], ['GET', 'big']);
    assert.equal(d.bufferedBytes, 0);
  });
});

// ---- property-based: any chunking decodes like the whole ----

const binaryString = fc
  .oneof({ weight: 4, arbitrary: fc.uint8Array({ maxLength: 24 }) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) })
  .map((u) => Buffer.from(u).toString('latin1'));

const argvArb = fc.array(binaryString, { minLength: 1, maxLength: 8 });

/** Bytes that can stand in an unquoted inline token without changing its meaning. */
const bareByte = fc.integer({ min: 0x21, max: 0x7e }).filter((c) => c !== 0x22 && c !== 0x27 && c !== 0x2a);

type Quoting = 'bare' | 'double' | 'single';

/** Quotes one token so the inline tokenizer reads it back as exactly `token`. */
function quoteToken(token: string, style: Quoting, escapeChoice: number): string {
  const bareOk = token.length > 0 && [...token].every((ch) => {
    const c = ch.charCodeAt(0);
    return c >= 0x21 && c <= 0x7e && c !== 0x22 && c !== 0x27 && c !== 0x2a;
  });
  if (style === 'bare' && bareOk) return token;
  const singleOk = !token.endsWith('\\') && !token.includes('\n');
  if (style === 'single' && singleOk) return "'" + token.replaceAll("'", "\\'") + "'";
  const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\x07': '\\a' };
  let out = '"';
  for (const ch of token) {
    const c = ch.charCodeAt(0);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (named[ch] !== undefined && escapeChoice % 2 === 0) out += named[ch];
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else {
      const hex = c.toString(16).padStart(2, '0');
      out += '\\x' + (escapeChoice % 3 === 0 ? hex.toUpperCase() : hex);
    }
  }
  return out + '"';
}

const inlineToken = fc.oneof(
  fc.array(bareByte, { minLength: 1, maxLength: 12 }).map((cs) => String.fromCharCode(...cs)),
  binaryString.filter((s) => s.length <= 40),
);

const separator = fc.constantFrom(' ', '  ', '\t', ' \t ');

const inlineRequest = fc
  .record({
    tokens: fc.array(fc.tuple(inlineToken, fc.constantFrom<Quoting>('bare', 'double', 'single'), fc.nat(5)), { maxLength: 6 }),
    seps: fc.array(separator, { minLength: 7, maxLength: 7 }),
    lead: fc.constantFrom('', ' ', '\t'),
    trail: fc.constantFrom('', ' ', '\t '),
    eol: fc.constantFrom('\r\n', '\n'),
  })
  .map(({ tokens, seps, lead, trail, eol }) => {
    const line = tokens.map(([t, style, e]) => quoteToken(t, style, e));
    let text = line.length === 0 ? '' : lead;
    line.forEach((t, i) => {
      text += (i === 0 ? '' : seps[i]!) + t;
    });
    return { wire: text + trail + eol, argv: tokens.map(([t]) => t), inline: true };
  });

const respRequest = argvArb.map((argv) => ({ wire: resp(...argv), argv, inline: false }));

const pipeline = fc.array(fc.oneof(respRequest, inlineRequest), { minLength: 1, maxLength: 25 }).map((reqs) => ({
  wire: reqs.map((r) => r.wire).join(''),
  // Blank inline lines produce nothing.
  expected: reqs.filter((r) => r.argv.length > 0),
}));

function cutsFrom(raw: number[], length: number): number[] {
  return [...new Set(raw.map((n) => n % (length + 1)))].sort((a, b) => a - b);
}

describe('RequestDecoder: properties', () => {
  test('RESP pipelines decode the same whole, byte by byte and at random cuts', () => {
    fc.assert(
      fc.property(fc.array(argvArb, { minLength: 1, maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (reqs, rawCuts) => {
        const wire = reqs.map((a) => resp(...a)).join('');
        const whole = decodeWhole(wire);
        assert.equal(whole.error, null);
        assert.deepEqual(whole.requests, reqs);
        assert.deepEqual(decodeBytewise(wire), whole);
        assert.deepEqual(decodeCut(wire, cutsFrom(rawCuts, wire.length)), whole);
      }),
      { numRuns: 200 },
    );
  });

  test('inline lines built from quoted random tokens decode to those tokens, however cut', () => {
    fc.assert(
      fc.property(fc.array(inlineRequest, { minLength: 1, maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (reqs, rawCuts) => {
        const wire = reqs.map((r) => r.wire).join('');
        const expected = reqs.filter((r) => r.argv.length > 0).map((r) => r.argv);
        const whole = decodeWhole(wire);
        assert.equal(whole.error, null, JSON.stringify(wire));
        assert.deepEqual(whole.requests, expected);
        assert.ok(whole.inline.every((x) => x));
        assert.deepEqual(decodeBytewise(wire), whole);
        assert.deepEqual(decodeCut(wire, cutsFrom(rawCuts, wire.length)), whole);
      }),
      { numRuns: 200 },
    );
  });

  test('mixed RESP and inline pipelines, however cut', () => {
    fc.assert(
      fc.property(pipeline, fc.array(fc.nat(), { maxLength: 40 }), ({ wire, expected }, rawCuts) => {
        const whole = decodeWhole(wire);
        assert.equal(whole.error, null);
        assert.deepEqual(whole.requests, expected.map((r) => r.argv));
        assert.deepEqual(whole.inline, expected.map((r) => r.inline));
        assert.deepEqual(decodeBytewise(wire), whole);
        assert.deepEqual(decodeCut(wire, cutsFrom(rawCuts, wire.length)), whole);
      }),
      { numRuns: 200 },
    );
  });

  test('garbage never escapes as anything but ProtocolError, and agrees across cuts', () => {
    const noisy = fc.array(
      fc.oneof(
        fc.constantFrom('*', '$', '\r', '\n', '\r\n', '"', "'", '\\', ' ', '-', '0', '1', '3', 'x', 'PING'),
        fc.uint8Array({ maxLength: 4 }).map((u) => Buffer.from(u).toString('latin1')),
      ),
      { maxLength: 40 },
    );
    fc.assert(
      fc.property(noisy, fc.array(fc.nat(), { maxLength: 20 }), (parts, rawCuts) => {
        const wire = parts.join('');
        const setup: Setup = { limits: { maxInlineBytes: 16, maxBulkBytes: 64, maxArgs: 8 } };
        const whole = decodeWhole(wire, setup);
        assert.deepEqual(decodeBytewise(wire, setup), whole);
        assert.deepEqual(decodeCut(wire, cutsFrom(rawCuts, wire.length), setup), whole);
      }),
      { numRuns: 500 },
    );
  });
});

describe('RequestDecoder: argument counts', () => {
  for (const n of [1, 2, 3, 1023, 1024, 1025, 3000]) {
    test(`a request of ${n} arguments, whole and in 7-byte pieces, then a small one`, () => {
      const args = Array.from({ length: n }, (_, i) => (i === 0 ? 'MSET' : 'a' + i));
      const input = resp(...args) + resp('GET', 'k');
      const pieces: number[] = [];
      for (let at = 7; at < input.length; at += 7) pieces.push(at);
      for (const got of [decodeCut(input, []), decodeCut(input, pieces)]) {
        assert.equal(got.error, null);
        assert.equal(got.requests.length, 2);
        assert.deepEqual(got.requests[0], args);
        assert.deepEqual(got.requests[1], ['GET', 'k']);
      }
    });
  }
});
