import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatHuman, formatRaw, formatReply, printsVerbatim, quoteBytes } from '../../src/cli/format.js';
import type { RespValue } from '../../src/protocol/reply-decoder.js';

const bulk = (s: string): RespValue => ({ type: 'string', value: Buffer.from(s, 'latin1') });
const int = (n: number): RespValue => ({ type: 'int', value: n });
const arr = (...items: RespValue[]): RespValue => ({ type: 'array', items });

// [name, reply, what redis-cli prints on a terminal, what it prints with --raw]
const table: [string, RespValue, string, string][] = [
  ['status', { type: 'string', value: 'OK' }, 'OK\n', 'OK\n'],
  ['bulk string', bulk('john'), '"john"\n', 'john\n'],
  ['bulk with escapes', bulk('a\nb\r\t"\\\x07\x08\x00\xff'), '"a\\nb\\r\\t\\"\\\\\\a\\b\\x00\\xff"\n', 'a\nb\r\t"\\\x07\x08\x00\xff\n'],
  ['utf-8 bytes are escaped on a terminal', bulk(Buffer.from('é', 'utf8').toString('latin1')), '"\\xc3\\xa9"\n', '\xc3\xa9\n'],
  ['empty bulk', bulk(''), '""\n', '\n'],
  ['nil', { type: 'null' }, '(nil)\n', '\n'],
  ['integer', int(1), '(integer) 1\n', '1\n'],
  ['big integer', { type: 'int', value: 9223372036854775807n }, '(integer) 9223372036854775807\n', '9223372036854775807\n'],
  ['error', { type: 'error', message: 'ERR syntax error' }, '(error) ERR syntax error\n', 'ERR syntax error\n\n'],
  ['empty array', arr(), '(empty array)\n', '\n'],
  ['array', arr(bulk('a'), bulk('b')), '1) "a"\n2) "b"\n', 'a\nb\n'],
  ['array with nil and integer', arr(bulk('a'), { type: 'null' }, int(3)), '1) "a"\n2) (nil)\n3) (integer) 3\n', 'a\n\n3\n'],
  [
    'nested arrays indent under their index',
    arr(arr(bulk('a'), bulk('b')), arr(int(1), arr(bulk('x'), bulk('y')))),
    '1) 1) "a"\n   2) "b"\n2) 1) (integer) 1\n   2) 1) "x"\n      2) "y"\n',
    'a\nb\n1\nx\ny\n',
  ],
  [
    'ten or more elements right-align the index',
    arr(...Array.from({ length: 10 }, (_, i) => int(i))),
    Array.from({ length: 10 }, (_, i) => `${String(i + 1).padStart(2)}) (integer) ${i}`).join('\n') + '\n',
    '0\n1\n2\n3\n4\n5\n6\n7\n8\n9\n',
  ],
  [
    'nested array inside a wide array',
    arr(...Array.from({ length: 9 }, () => int(0)), arr(bulk('a'), bulk('b'))),
    Array.from({ length: 9 }, (_, i) => ` ${i + 1}) (integer) 0`).join('\n') + '\n10) 1) "a"\n    2) "b"\n',
    '0\n0\n0\n0\n0\n0\n0\n0\n0\na\nb\n',
  ],
  [
    'map',
    { type: 'map', entries: [[bulk('key'), bulk('value')], [bulk('n'), int(2)]] },
    '1# "key" => "value"\n2# "n" => (integer) 2\n',
    'key value\nn 2\n',
  ],
  [
    // redis-cli indents a nested value by the index width alone, not under the value.
    'map with a nested array value',
    { type: 'map', entries: [[bulk('k'), arr(bulk('a'), bulk('b'))]] },
    '1# "k" => 1) "a"\n   2) "b"\n',
    'k a\nb\n',
  ],
  ['empty map', { type: 'map', entries: [] }, '(empty hash)\n', '\n'],
  ['set', { type: 'set', items: [bulk('a'), bulk('b')] }, '1~ "a"\n2~ "b"\n', 'a\nb\n'],
  ['empty set', { type: 'set', items: [] }, '(empty set)\n', '\n'],
  ['push', { type: 'push', items: [bulk('message'), bulk('ch')] }, '1) "message"\n2) "ch"\n', 'message\nch\n'],
  ['double', { type: 'double', value: 1.5, text: '1.5' }, '(double) 1.5\n', '1.5\n'],
  ['true', { type: 'bool', value: true }, '(true)\n', '(true)\n'],
  ['false', { type: 'bool', value: false }, '(false)\n', '(false)\n'],
  ['big number', { type: 'bignum', value: 12345678901234567890123n }, '(big number) 12345678901234567890123\n', '12345678901234567890123\n'],
  ['verbatim', { type: 'verbatim', format: 'txt', value: Buffer.from('a\nb') }, 'a\nb\n', 'a\nb\n'],
  ['attribute shows the reply only', { type: 'attribute', entries: [[bulk('k'), bulk('v')]], value: int(5) }, '(integer) 5\n', '5\n'],
];

for (const [name, reply, human, raw] of table) {
  test(`formats ${name} as redis-cli does`, () => {
    assert.equal(formatReply(reply, false), human);
    assert.equal(formatReply(reply, true), raw);
  });
}

test('quoteBytes escapes every non-printable byte as \\xHH in lower case', () => {
  assert.equal(quoteBytes('\x01\x7f\x80 ~'), '"\\x01\\x7f\\x80 ~"');
});

test('INFO-like replies print verbatim even on a terminal', () => {
  assert.ok(printsVerbatim(['INFO']));
  assert.ok(printsVerbatim(['client', 'LIST']));
  assert.ok(printsVerbatim(['cluster', 'nodes']));
  assert.ok(!printsVerbatim(['GET', 'info']));
  assert.equal(formatReply(bulk('# Server\r\nredis_version:7.2.0\r\n'), false, true), '# Server\r\nredis_version:7.2.0\r\n');
});

test('formatHuman and formatRaw agree with formatReply', () => {
  const v = arr(bulk('a'));
  assert.equal(formatHuman(v), formatReply(v, false));
  assert.equal(formatRaw(v) + '\n', formatReply(v, true));
});
