import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyDecoder, ReplyProtocolError, type RespValue } from '../../src/protocol/reply-decoder.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const bulk = (s: string): RespValue => ({ type: 'string', value: b(s) });

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

const cases: [string, Buffer, RespValue][] = [
  ['simple string', b('+OK\r\n'), { type: 'string', value: 'OK' }],
  ['empty simple string', b('+\r\n'), { type: 'string', value: '' }],
  ['error', b('-ERR unknown command\r\n'), { type: 'error', message: 'ERR unknown command' }],
  ['integer', b(':1000\r\n'), { type: 'int', value: 1000 }],
  ['negative integer', b(':-42\r\n'), { type: 'int', value: -42 }],
  ['64-bit integer beyond 2^53', b(':9223372036854775807\r\n'), { type: 'int', value: 9223372036854775807n }],
  ['bulk string', b('$6\r\nfoobar\r\n'), bulk('foobar')],
  ['empty bulk string', b('$0\r\n\r\n'), bulk('')],
  ['bulk string holding CRLF', b('$4\r\n\r\n\r\n\r\n'), bulk('\r\n\r\n')],
  ['binary bulk string', Buffer.concat([b('$256\r\n'), allBytes, b('\r\n')]), { type: 'string', value: allBytes }],
  ['null bulk', b('$-1\r\n'), { type: 'null' }],
  ['null array', b('*-1\r\n'), { type: 'null' }],
  ['RESP3 null', b('_\r\n'), { type: 'null' }],
  ['empty array', b('*0\r\n'), { type: 'array', items: [] }],
  [
    'array of mixed types',
    b('*3\r\n:1\r\n$3\r\nfoo\r\n+bar\r\n'),
    { type: 'array', items: [{ type: 'int', value: 1 }, bulk('foo'), { type: 'string', value: 'bar' }] },
  ],
  [
    'nested arrays with a null inside',
    b('*2\r\n*2\r\n:1\r\n:2\r\n*2\r\n$-1\r\n-ERR x\r\n'),
    {
      type: 'array',
      items: [
        { type: 'array', items: [{ type: 'int', value: 1 }, { type: 'int', value: 2 }] },
        { type: 'array', items: [{ type: 'null' }, { type: 'error', message: 'ERR x' }] },
      ],
    },
  ],
  ['double', b(',1.5\r\n'), { type: 'double', value: 1.5, text: '1.5' }],
  ['double inf', b(',inf\r\n'), { type: 'double', value: Infinity, text: 'inf' }],
  ['double -inf', b(',-inf\r\n'), { type: 'double', value: -Infinity, text: '-inf' }],
  ['double exponent', b(',1e-3\r\n'), { type: 'double', value: 0.001, text: '1e-3' }],
  ['true', b('#t\r\n'), { type: 'bool', value: true }],
  ['false', b('#f\r\n'), { type: 'bool', value: false }],
  ['blob error', b('!21\r\nSYNTAX invalid syntax\r\n'), { type: 'error', message: 'SYNTAX invalid syntax' }],
  ['verbatim string', b('=15\r\ntxt:Some string\r\n'), { type: 'verbatim', format: 'txt', value: b('Some string') }],
  ['big number', b('(3492890328409238509324850943850943825024385\r\n'), { type: 'bignum', value: 3492890328409238509324850943850943825024385n }],
  [
    'map',
    b('%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n#t\r\n'),
    {
      type: 'map',
      entries: [
        [{ type: 'string', value: 'first' }, { type: 'int', value: 1 }],
        [bulk('second'), { type: 'bool', value: true }],
      ],
    },
  ],
  ['empty map', b('%0\r\n'), { type: 'map', entries: [] }],
  ['set', b('~2\r\n+a\r\n+b\r\n'), { type: 'set', items: [{ type: 'string', value: 'a' }, { type: 'string', value: 'b' }] }],
  [
    'push',
    b('>3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n'),
    { type: 'push', items: [bulk('message'), bulk('ch'), bulk('hi')] },
  ],
  [
    'attribute before a reply',
    b('|1\r\n+ttl\r\n:3600\r\n*1\r\n:7\r\n'),
    {
      type: 'attribute',
      entries: [[{ type: 'string', value: 'ttl' }, { type: 'int', value: 3600 }]],
      value: { type: 'array', items: [{ type: 'int', value: 7 }] },
    },
  ],
  [
    'attribute inside an aggregate is not counted as an element',
    b('*2\r\n|1\r\n+k\r\n+v\r\n:1\r\n:2\r\n'),
    {
      type: 'array',
      items: [
        { type: 'attribute', entries: [[{ type: 'string', value: 'k' }, { type: 'string', value: 'v' }]], value: { type: 'int', value: 1 } },
        { type: 'int', value: 2 },
      ],
    },
  ],
];

/** Feeds `input` in pieces of `step` bytes, collecting every value produced. */
function decodeAll(input: Buffer, step: number): RespValue[] {
  const d = new ReplyDecoder();
  const out: RespValue[] = [];
  for (let i = 0; i < input.length; i += step) {
    d.push(input.subarray(i, i + step));
    for (let v = d.next(); v !== undefined; v = d.next()) out.push(v);
  }
  assert.equal(d.bufferedBytes, 0, 'no bytes left over');
  return out;
}

for (const [name, input, expected] of cases) {
  test(`decodes ${name}, whole`, () => {
    assert.deepEqual(decodeAll(input, input.length), [expected]);
  });
  test(`decodes ${name}, byte by byte`, () => {
    assert.deepEqual(decodeAll(input, 1), [expected]);
  });
}

test('decodes many pipelined replies in one chunk, in order', () => {
  const input = Buffer.concat(cases.map((c) => c[1]));
  assert.deepEqual(decodeAll(input, input.length), cases.map((c) => c[2]));
  assert.deepEqual(decodeAll(input, 7), cases.map((c) => c[2]));
});

test('a large bulk string arriving in many chunks is returned whole and exact', () => {
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
  const input = Buffer.concat([b(`$${payload.length}\r\n`), payload, b('\r\n+after\r\n')]);
  const values = decodeAll(input, 4096);
  assert.equal(values.length, 2);
  const first = values[0]!;
  assert.equal(first.type, 'string');
  assert.ok(Buffer.isBuffer(first.type === 'string' ? first.value : null));
  assert.ok(payload.equals(first.value as Buffer));
  assert.deepEqual(values[1], { type: 'string', value: 'after' });
});

test('returns undefined until a reply is complete', () => {
  const d = new ReplyDecoder();
  d.push(b('*2\r\n$3\r\nfo'));
  assert.equal(d.next(), undefined);
  d.push(b('o\r\n'));
  assert.equal(d.next(), undefined);
  d.push(b(':5\r\n'));
  assert.deepEqual(d.next(), { type: 'array', items: [bulk('foo'), { type: 'int', value: 5 }] });
  assert.equal(d.next(), undefined);
});

for (const [name, input] of [
  ['an unknown type byte', '@foo\r\n'],
  ['a bad integer', ':12a\r\n'],
  ['a bad length', '$abc\r\n'],
  ['a negative length other than -1', '*-2\r\n'],
  ['a bulk string without its CRLF', '$3\r\nfooXY'],
  ['a line ended by LF alone', '+OK\n'],
  ['a bad boolean', '#x\r\n'],
  ['a verbatim string without a format', '=2\r\nab\r\n'],
] as const) {
  test(`rejects ${name}`, () => {
    const d = new ReplyDecoder();
    d.push(b(input));
    assert.throws(() => d.next(), ReplyProtocolError);
  });
}

test('rejects a bulk length over the limit before allocating', () => {
  const d = new ReplyDecoder({ maxBulkBytes: 10 });
  d.push(b('$11\r\n'));
  assert.throws(() => d.next(), /over the limit/);
});
