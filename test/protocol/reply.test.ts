import { describe, test } from 'node:test';
import assert from 'node:assert/strict';

import { Reply, ReplyMode, formatDouble } from '../../src/protocol/reply.js';

/** Runs `write` against a fresh Reply in `mode` and returns what it wrote. */
function wire(mode: ReplyMode, write: (r: Reply) => void): string {
  const r = new Reply(mode);
  write(r);
  return r.take();
}

type Case = { name: string; write: (r: Reply) => void; resp2: string; resp3: string; plain: string };

const binary = Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3, 0xa9]).toString('latin1');
const utf8Latin1 = Buffer.from('héllo', 'utf8').toString('latin1');

const cases: Case[] = [
  { name: 'ok', write: (r) => r.ok(), resp2: '+OK\r\n', resp3: '+OK\r\n', plain: 'OK\n' },
  { name: 'status', write: (r) => r.status('PONG'), resp2: '+PONG\r\n', resp3: '+PONG\r\n', plain: 'PONG\n' },
  { name: 'status with CR/LF stripped', write: (r) => r.status('a\r\nb'), resp2: '+a  b\r\n', resp3: '+a  b\r\n', plain: 'a  b\n' },
  {
    name: 'error',
    write: (r) => r.error('ERR unknown command'),
    resp2: '-ERR unknown command\r\n',
    resp3: '-ERR unknown command\r\n',
    plain: 'ERR unknown command\n',
  },
  {
    // As Redis's addReplyErrorFormat: trimmed at the ends, one space per CR or LF inside.
    name: 'error with CR/LF stripped',
    write: (r) => r.error('ERR bad\r\nthing\nhere\r\n'),
    resp2: '-ERR bad  thing here\r\n',
    resp3: '-ERR bad  thing here\r\n',
    plain: 'ERR bad  thing here\n',
  },
  {
    name: 'unknown-command error quoting a name with a newline',
    write: (r) => r.error("ERR unknown command 'a\nb', with args beginning with: "),
    resp2: "-ERR unknown command 'a b', with args beginning with: \r\n",
    resp3: "-ERR unknown command 'a b', with args beginning with: \r\n",
    plain: "ERR unknown command 'a b', with args beginning with: \n",
  },
  { name: 'nil', write: (r) => r.nil(), resp2: '$-1\r\n', resp3: '_\r\n', plain: '(nil)\n' },
  { name: 'bulk(null) is nil', write: (r) => r.bulk(null), resp2: '$-1\r\n', resp3: '_\r\n', plain: '(nil)\n' },
  { name: 'bulk(undefined) is nil', write: (r) => r.bulk(undefined), resp2: '$-1\r\n', resp3: '_\r\n', plain: '(nil)\n' },
  { name: 'nil array', write: (r) => r.nilArray(), resp2: '*-1\r\n', resp3: '_\r\n', plain: '(nil)\n' },
  { name: 'bulk', write: (r) => r.bulk('john'), resp2: '$4\r\njohn\r\n', resp3: '$4\r\njohn\r\n', plain: 'john\n' },
  { name: 'empty bulk', write: (r) => r.bulk(''), resp2: '$0\r\n\r\n', resp3: '$0\r\n\r\n', plain: '\n' },
  {
    name: 'binary bulk is counted in bytes',
    write: (r) => r.bulk(binary),
    resp2: '$6\r\n' + binary + '\r\n',
    resp3: '$6\r\n' + binary + '\r\n',
    plain: binary + '\n',
  },
  {
    name: 'UTF-8 value (as latin1 bytes) is counted in bytes',
    write: (r) => r.bulk(utf8Latin1),
    resp2: '$6\r\n' + utf8Latin1 + '\r\n',
    resp3: '$6\r\n' + utf8Latin1 + '\r\n',
    plain: utf8Latin1 + '\n',
  },
  { name: 'int', write: (r) => r.int(42), resp2: ':42\r\n', resp3: ':42\r\n', plain: '42\n' },
  { name: 'negative int', write: (r) => r.int(-7), resp2: ':-7\r\n', resp3: ':-7\r\n', plain: '-7\n' },
  { name: 'zero', write: (r) => r.int(0), resp2: ':0\r\n', resp3: ':0\r\n', plain: '0\n' },
  {
    name: 'bigint beyond 2^53',
    write: (r) => r.int(9223372036854775807n),
    resp2: ':9223372036854775807\r\n',
    resp3: ':9223372036854775807\r\n',
    plain: '9223372036854775807\n',
  },
  { name: 'empty array', write: (r) => r.array(0), resp2: '*0\r\n', resp3: '*0\r\n', plain: '(empty array)\n' },
  {
    name: 'array of bulks with a nil',
    write: (r) => r.bulks(['a', null, 'bc']),
    resp2: '*3\r\n$1\r\na\r\n$-1\r\n$2\r\nbc\r\n',
    resp3: '*3\r\n$1\r\na\r\n_\r\n$2\r\nbc\r\n',
    plain: 'a\n(nil)\nbc\n',
  },
  { name: 'empty bulks()', write: (r) => r.bulks([]), resp2: '*0\r\n', resp3: '*0\r\n', plain: '(empty array)\n' },
  {
    name: 'nested array',
    write: (r) => {
      r.array(2);
      r.int(1);
      r.array(1);
      r.bulk('x');
    },
    resp2: '*2\r\n:1\r\n*1\r\n$1\r\nx\r\n',
    resp3: '*2\r\n:1\r\n*1\r\n$1\r\nx\r\n',
    plain: '1\nx\n',
  },
  {
    name: 'map falls back to a flat array outside RESP3',
    write: (r) => {
      r.map(2);
      r.bulk('k1');
      r.int(1);
      r.bulk('k2');
      r.bulk('v2');
    },
    resp2: '*4\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$2\r\nv2\r\n',
    resp3: '%2\r\n$2\r\nk1\r\n:1\r\n$2\r\nk2\r\n$2\r\nv2\r\n',
    plain: 'k1\n1\nk2\nv2\n',
  },
  { name: 'empty map', write: (r) => r.map(0), resp2: '*0\r\n', resp3: '%0\r\n', plain: '(empty array)\n' },
  {
    name: 'set falls back to an array outside RESP3',
    write: (r) => {
      r.set(2);
      r.bulk('a');
      r.bulk('b');
    },
    resp2: '*2\r\n$1\r\na\r\n$1\r\nb\r\n',
    resp3: '~2\r\n$1\r\na\r\n$1\r\nb\r\n',
    plain: 'a\nb\n',
  },
  { name: 'empty set', write: (r) => r.set(0), resp2: '*0\r\n', resp3: '~0\r\n', plain: '(empty array)\n' },
  { name: 'double', write: (r) => r.double(3.5), resp2: '$3\r\n3.5\r\n', resp3: ',3.5\r\n', plain: '3.5\n' },
  { name: 'integral double', write: (r) => r.double(10), resp2: '$2\r\n10\r\n', resp3: ',10\r\n', plain: '10\n' },
  { name: 'infinite double', write: (r) => r.double(-Infinity), resp2: '$4\r\n-inf\r\n', resp3: ',-inf\r\n', plain: '-inf\n' },
  { name: 'NaN double', write: (r) => r.double(Number.NaN), resp2: '$3\r\nnan\r\n', resp3: ',nan\r\n', plain: 'nan\n' },
  { name: 'bool true', write: (r) => r.bool(true), resp2: ':1\r\n', resp3: '#t\r\n', plain: '1\n' },
  { name: 'bool false', write: (r) => r.bool(false), resp2: ':0\r\n', resp3: '#f\r\n', plain: '0\n' },
  {
    name: 'verbatim',
    write: (r) => r.verbatim('a:b'),
    resp2: '$3\r\na:b\r\n',
    resp3: '=7\r\ntxt:a:b\r\n',
    plain: 'a:b\n',
  },
  { name: 'raw passes through', write: (r) => r.raw('+FWD\r\n'), resp2: '+FWD\r\n', resp3: '+FWD\r\n', plain: '+FWD\r\n' },
];

describe('Reply', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(wire(ReplyMode.Resp2, c.write), c.resp2, 'RESP2');
      assert.equal(wire(ReplyMode.Resp3, c.write), c.resp3, 'RESP3');
      assert.equal(wire(ReplyMode.Plain, c.write), c.plain, 'Plain');
    });
  }

  test('defaults to RESP2', () => {
    assert.equal(new Reply().mode, ReplyMode.Resp2);
  });

  test('take() empties the buffer', () => {
    const r = new Reply();
    r.ok();
    assert.equal(r.take(), '+OK\r\n');
    assert.equal(r.take(), '');
    assert.equal(r.out, '');
  });

  test('written counts every reply, nested ones included', () => {
    const r = new Reply();
    r.bulks(['a', 'b', null]);
    r.ok();
    assert.equal(r.written, 5);
  });

  test('mode may change between replies', () => {
    const r = new Reply(ReplyMode.Resp2);
    r.nil();
    r.mode = ReplyMode.Plain;
    r.nil();
    r.mode = ReplyMode.Resp3;
    r.nil();
    assert.equal(r.take(), '$-1\r\n(nil)\n_\r\n');
  });

  test('bytes on the wire match the declared bulk length', () => {
    const r = new Reply(ReplyMode.Resp2);
    r.bulk(binary);
    const bytes = Buffer.from(r.take(), 'latin1');
    const header = '$6\r\n'.length;
    assert.equal(bytes.length, header + 6 + 2);
    assert.ok(bytes.subarray(header, header + 6).equals(Buffer.from(binary, 'latin1')));
  });
});

describe('formatDouble', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1.5, '1.5'],
    [-2.25, '-2.25'],
    [0.1, '0.1'],
    [Infinity, 'inf'],
    [-Infinity, '-inf'],
    [Number.NaN, 'nan'],
  ];
  for (const [x, want] of cases) {
    test(`${x} → ${want}`, () => assert.equal(formatDouble(x), want));
  }
});
