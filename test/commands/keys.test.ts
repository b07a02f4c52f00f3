import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { LogCommand } from '../../src/commands/types.js';
import type { Keyspace } from '../../src/keyspace/database.js';
import { forgetScanCursors } from '../../src/keyspace/scan.js';
import { ReplyMode } from '../../src/protocol/reply.js';
import { TestClient, testServer } from '../helpers/harness.js';

type Resp = string | number | bigint | null | RespError | Resp[];

class RespError {
  constructor(readonly message: string) {}
}

/** Decodes one RESP2 reply (the whole string) for assertions. */
function decode(raw: string): Resp {
  let i = 0;
  const line = (): string => {
    const end = raw.indexOf('\r\n', i);
    const s = raw.slice(i, end);
    i = end + 2;
    return s;
  };
  const value = (): Resp => {
    const t = raw[i++];
    const head = line();
    switch (t) {
      case '+':
        return head;
      case '-':
        return new RespError(head);
      case ':': {
        const n = BigInt(head);
        return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
      }
      case '$': {
        const len = Number(head);
        if (len < 0) return null;
        const s = raw.slice(i, i + len);
        i += len + 2;
        return s;
      }
      case '*': {
        const n = Number(head);
        if (n < 0) return null;
        const out: Resp[] = [];
        for (let k = 0; k < n; k++) out.push(value());
        return out;
      }
      default:
        throw new Error(`bad reply ${JSON.stringify(raw)}`);
    }
  };
  const v = value();
  assert.equal(i, raw.length, `trailing bytes in ${JSON.stringify(raw)}`);
  return v;
}

function setup(): { c: (...argv: string[]) => Resp; client: TestClient; clock: { advance(ms: number): void; nowMs: number }; ks: Keyspace; proposals: LogCommand[] } {
  const { server, clock, client } = testServer();
  const proposals: LogCommand[] = [];
  const inner = server.writePath;
  server.writePath = {
    propose(cmd, sink) {
      proposals.push({ db: cmd.db, timeMs: cmd.timeMs, argv: [...cmd.argv] });
      return inner.propose(cmd, sink);
    },
  };
  return { c: (...argv) => decode(client.run(...argv)), client, clock, ks: server.keyspace, proposals };
}

function err(message: string): RespError {
  return new RespError(message);
}

/** Lets the expirer's setImmediate flush propose the deletions reads reported. */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs a whole SCAN, returning every key it returned (with repeats). */
function scanAll(c: (...argv: string[]) => Resp, ...opts: string[]): string[] {
  const all: string[] = [];
  let cursor = '0';
  let calls = 0;
  do {
    const r = c('SCAN', cursor, ...opts) as [string, string[]];
    assert.ok(Array.isArray(r), `SCAN replied ${String(r)}`);
    cursor = r[0];
    all.push(...r[1]);
    assert.ok(++calls < 100_000);
  } while (cursor !== '0');
  return all;
}

describe('DEL, UNLINK, EXISTS, TOUCH, TYPE', () => {
  test('DEL and UNLINK count keys removed, each once', () => {
    const { c } = setup();
    c('SET', 'a', '1');
    c('SET', 'b', '2');
    assert.equal(c('DEL', 'a', 'a', 'missing'), 1);
    assert.equal(c('UNLINK', 'b', 'b'), 1);
    assert.equal(c('EXISTS', 'a', 'b'), 0);
    assert.deepEqual(c('DEL'), err("ERR wrong number of arguments for 'del' command"));
  });

  test('an expired key counts as absent for DEL but is removed', () => {
    const { c, clock, ks } = setup();
    c('SET', 'a', '1');
    c('PEXPIRE', 'a', '5');
    clock.advance(5);
    assert.equal(c('DEL', 'a'), 0);
    assert.equal(ks.db(0).data.has('a'), false);
  });

  test('EXISTS and TOUCH count duplicates and ignore expired keys', () => {
    const { c, clock, client } = setup();
    c('SET', 'a', '1');
    c('SET', 'e', '1');
    c('PEXPIRE', 'e', '1');
    clock.advance(1);
    const stats = client.server.stats;
    const [hits, misses] = [stats.keyspaceHits, stats.keyspaceMisses];
    assert.equal(c('EXISTS', 'a', 'a', 'e', 'nope'), 2);
    assert.equal(stats.keyspaceHits - hits, 2);
    assert.equal(stats.keyspaceMisses - misses, 2);
    assert.equal(c('TOUCH', 'a', 'e', 'a'), 2);
  });

  test('TYPE is a status: string or none', () => {
    const { client, c, clock } = setup();
    c('SET', 'a', '1');
    assert.equal(client.run('TYPE', 'a'), '+string\r\n');
    assert.equal(client.run('TYPE', 'b'), '+none\r\n');
    c('PEXPIRE', 'a', '10');
    clock.advance(10);
    assert.equal(c('TYPE', 'a'), 'none');
  });

  test('reads report expired keys so the leader deletes them through the log', async () => {
    const { c, clock, ks, proposals } = setup();
    c('SET', 'a', '1');
    c('PEXPIRE', 'a', '10');
    clock.advance(10);
    assert.equal(c('EXISTS', 'a'), 0);
    assert.equal(ks.db(0).data.has('a'), true, 'a read never deletes');
    await turn();
    assert.equal(ks.db(0).data.has('a'), false);
    assert.deepEqual(proposals.at(-1)!.argv, ['expired', 'a']);
  });
});

describe('RENAME, RENAMENX', () => {
  test('a missing or expired source is an error', () => {
    const { c, clock } = setup();
    assert.deepEqual(c('RENAME', 'nope', 'x'), err('ERR no such key'));
    assert.deepEqual(c('RENAMENX', 'nope', 'x'), err('ERR no such key'));
    c('SET', 'a', '1');
    c('PEXPIRE', 'a', '1');
    clock.advance(1);
    assert.deepEqual(c('RENAME', 'a', 'a'), err('ERR no such key'));
  });

  test('the value moves with its TTL; the destination loses its own', () => {
    const { c } = setup();
    c('SET', 'a', 'va');
    c('EXPIRE', 'a', '100');
    c('SET', 'b', 'vb');
    c('EXPIRE', 'b', '50');
    assert.equal(c('RENAME', 'a', 'b'), 'OK');
    assert.equal(c('GET', 'b'), 'va');
    assert.equal(c('PTTL', 'b'), 100_000);
    assert.equal(c('EXISTS', 'a'), 0);
    c('SET', 'c', 'vc');
    c('EXPIRE', 'c', '50');
    c('SET', 'd', 'vd');
    assert.equal(c('RENAME', 'd', 'c'), 'OK');
    assert.equal(c('TTL', 'c'), -1);
  });

  test('renaming a key to itself keeps it', () => {
    const { c } = setup();
    c('SET', 'a', '1');
    c('EXPIRE', 'a', '100');
    assert.equal(c('RENAME', 'a', 'a'), 'OK');
    assert.equal(c('RENAMENX', 'a', 'a'), 0);
    assert.equal(c('GET', 'a'), '1');
    assert.equal(c('TTL', 'a'), 100);
  });

  test('RENAMENX refuses a live destination, accepts an expired one', () => {
    const { c, clock } = setup();
    c('SET', 'a', '1');
    c('SET', 'b', '2');
    assert.equal(c('RENAMENX', 'a', 'b'), 0);
    assert.equal(c('GET', 'a'), '1');
    c('PEXPIRE', 'b', '1');
    clock.advance(1);
    assert.equal(c('RENAMENX', 'a', 'b'), 1);
    assert.equal(c('GET', 'b'), '1');
    assert.equal(c('EXISTS', 'a'), 0);
  });
});

describe('KEYS, SCAN, RANDOMKEY', () => {
  test('KEYS matches globs and skips expired keys', () => {
    const { c, clock } = setup();
    for (const k of ['hello', 'hallo', 'hxllo', 'world', '']) c('SET', k, 'v');
    c('PEXPIRE', 'hxllo', '1');
    clock.advance(1);
    assert.deepEqual((c('KEYS', '*') as string[]).sort(), ['', 'hallo', 'hello', 'world']);
    assert.deepEqual((c('KEYS', 'h?llo') as string[]).sort(), ['hallo', 'hello']);
    assert.deepEqual(c('KEYS', 'h[^a]llo'), ['hello']);
    assert.deepEqual(c('KEYS', 'nothing*'), []);
    // A star never matches the empty key outside the exact pattern "*", as in Redis.
    assert.equal((c('KEYS', '**') as string[]).includes(''), false);
  });

  test('KEYS with a pathological pattern on long keys stays fast', () => {
    const { c } = setup();
    for (let i = 0; i < 50; i++) c('SET', 'a'.repeat(2000) + i, 'v');
    const t0 = performance.now();
    assert.deepEqual(c('KEYS', '*a*a*a*a*a*a*a*a*a*b'), []);
    assert.ok(performance.now() - t0 < 1000);
  });

  test('SCAN returns every key once, COUNT at a time', () => {
    const { c } = setup();
    for (let i = 0; i < 100; i++) c('SET', 'k' + i, 'v');
    const first = c('SCAN', '0') as [string, string[]];
    assert.equal(first[1].length, 10);
    assert.notEqual(first[0], '0');
    const big = c('SCAN', '0', 'COUNT', '1000') as [string, string[]];
    assert.equal(big[0], '0');
    assert.equal(big[1].length, 100);
    const all = scanAll(c, 'COUNT', '7');
    assert.equal(all.length, 100);
    assert.equal(new Set(all).size, 100);
  });

  test('SCAN MATCH and TYPE filter; expired keys are skipped', () => {
    const { c, clock } = setup();
    for (let i = 0; i < 30; i++) c('SET', (i % 2 === 0 ? 'even:' : 'odd:') + i, 'v');
    c('PEXPIRE', 'even:0', '1');
    clock.advance(1);
    assert.equal(scanAll(c, 'MATCH', 'even:*').length, 14);
    assert.equal(scanAll(c, 'MATCH', 'odd:*', 'COUNT', '3').length, 15);
    assert.equal(scanAll(c, 'TYPE', 'string').length, 29);
    assert.equal(scanAll(c, 'TYPE', 'STRING', 'MATCH', 'odd:1*').length, 6);
    assert.equal(scanAll(c, 'TYPE', 'hash').length, 0);
    assert.equal(scanAll(c, 'TYPE', 'nosuchtype').length, 0);
    assert.equal(scanAll(c).includes('even:0'), false);
  });

  test('SCAN argument errors', () => {
    const { c } = setup();
    c('SET', 'a', '1');
    assert.deepEqual(c('SCAN', 'abc'), err('ERR invalid cursor'));
    assert.deepEqual(c('SCAN', ' 1'), err('ERR invalid cursor'));
    assert.deepEqual(c('SCAN', '18446744073709551616'), err('ERR invalid cursor'));
    assert.deepEqual(c('SCAN', '0', 'COUNT', '0'), err('ERR syntax error'));
    assert.deepEqual(c('SCAN', '0', 'COUNT', '-1'), err('ERR syntax error'));
    assert.deepEqual(c('SCAN', '0', 'COUNT', 'x'), err('ERR value is not an integer or out of range'));
    assert.deepEqual(c('SCAN', '0', 'COUNT'), err('ERR syntax error'));
    assert.deepEqual(c('SCAN', '0', 'MATCH'), err('ERR syntax error'));
    assert.deepEqual(c('SCAN', '0', 'FOO', 'bar'), err('ERR syntax error'));
    assert.deepEqual(c('SCAN', 'abc', 'COUNT', '0'), err('ERR invalid cursor'), 'the cursor is checked first');
    assert.deepEqual(c('SCAN', '18446744073709551615'), ['0', []]);
  });

  test('SCAN keeps going after its cursors are forgotten', () => {
    const { c, ks } = setup();
    for (let i = 0; i < 200; i++) c('SET', 'k' + i, 'v');
    const all: string[] = [];
    let cursor = '0';
    do {
      const r = c('SCAN', cursor, 'COUNT', '9') as [string, string[]];
      cursor = r[0];
      all.push(...r[1]);
      forgetScanCursors(ks);
    } while (cursor !== '0');
    assert.equal(new Set(all).size, 200);
  });

  test('RANDOMKEY: nil when empty or all expired, else a live key', () => {
    const { c, clock } = setup();
    assert.equal(c('RANDOMKEY'), null);
    for (let i = 0; i < 20; i++) c('SET', 'k' + i, 'v');
    for (let i = 0; i < 15; i++) c('PEXPIRE', 'k' + i, '1');
    clock.advance(1);
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) seen.add(c('RANDOMKEY') as string);
    assert.deepEqual([...seen].sort(), ['k15', 'k16', 'k17', 'k18', 'k19']);
    for (let i = 15; i < 20; i++) c('PEXPIRE', 'k' + i, '1');
    clock.advance(1);
    assert.equal(c('RANDOMKEY'), null);
  });
});

describe('EXPIRE family', () => {
  test('relative times become absolute PEXPIREAT entries', () => {
    const { c, clock, proposals } = setup();
    c('SET', 'k', 'v');
    const now = clock.nowMs;
    c('EXPIRE', 'k', '10');
    c('PEXPIRE', 'k', '1500', 'xx', 'gt');
    c('EXPIREAT', 'k', '2000000000');
    c('PEXPIREAT', 'k', '2000000000123', 'LT');
    assert.deepEqual(
      proposals.slice(-4).map((p) => p.argv),
      [
        ['pexpireat', 'k', String(now + 10_000)],
        ['pexpireat', 'k', String(now + 1500), 'XX', 'GT'],
        ['pexpireat', 'k', '2000000000000'],
        ['pexpireat', 'k', '2000000000123', 'LT'],
      ],
    );
  });

  test('TTL math at millisecond precision, rounding seconds to nearest', () => {
    const { c, clock } = setup();
    c('SET', 'k', 'v');
    assert.equal(c('EXPIRE', 'k', '10'), 1);
    const at = clock.nowMs + 10_000;
    assert.equal(c('PTTL', 'k'), 10_000);
    assert.equal(c('TTL', 'k'), 10);
    assert.equal(c('PEXPIRETIME', 'k'), at);
    assert.equal(c('EXPIRETIME', 'k'), Math.floor(at / 1000));
    clock.advance(1);
    assert.equal(c('PTTL', 'k'), 9999);
    assert.equal(c('TTL', 'k'), 10);
    clock.advance(499);
    assert.equal(c('PTTL', 'k'), 9500);
    assert.equal(c('TTL', 'k'), 10);
    clock.advance(1);
    assert.equal(c('TTL', 'k'), 9);
    clock.advance(9498);
    assert.equal(c('PTTL', 'k'), 1);
    assert.equal(c('TTL', 'k'), 0);
    clock.advance(1);
    assert.equal(c('PTTL', 'k'), -2);
    assert.equal(c('TTL', 'k'), -2);
    assert.equal(c('EXPIRETIME', 'k'), -2);
    assert.equal(c('PEXPIRETIME', 'k'), -2);
  });

  test('-1 without a TTL, -2 without the key', () => {
    const { c } = setup();
    c('SET', 'k', 'v');
    for (const cmd of ['TTL', 'PTTL', 'EXPIRETIME', 'PEXPIRETIME']) {
      assert.equal(c(cmd, 'k'), -1, cmd);
      assert.equal(c(cmd, 'nope'), -2, cmd);
    }
  });

  test('GT and LT compare times as stored: the same far time again is not greater', () => {
    const { c } = setup();
    c('SET', 'k', 'v');
    const int64Max = '9223372036854775807';
    assert.equal(c('PEXPIREAT', 'k', int64Max), 1);
    assert.equal(c('PEXPIREAT', 'k', int64Max, 'GT'), 0);
    assert.equal(c('PEXPIREAT', 'k', int64Max, 'LT'), 0);
    assert.equal(c('PEXPIREAT', 'k', '9223372036854000000', 'LT'), 1);
  });

  test('absolute forms and PEXPIRE', () => {
    const { c, clock } = setup();
    c('SET', 'k', 'v');
    assert.equal(c('PEXPIRE', 'k', '1234'), 1);
    assert.equal(c('PTTL', 'k'), 1234);
    const atS = Math.floor(clock.nowMs / 1000) + 100;
    assert.equal(c('EXPIREAT', 'k', String(atS)), 1);
    assert.equal(c('PEXPIRETIME', 'k'), atS * 1000);
    assert.equal(c('PEXPIREAT', 'k', String(clock.nowMs + 77)), 1);
    assert.equal(c('PTTL', 'k'), 77);
  });

  test('a time not in the future deletes the key and replies 1', () => {
    const { c, clock, ks } = setup();
    for (const [cmd, arg] of [
      ['EXPIRE', '0'],
      ['EXPIRE', '-5'],
      ['PEXPIRE', '0'],
      ['EXPIREAT', '1'],
      ['PEXPIREAT', String(clock.nowMs)],
    ] as const) {
      c('SET', 'k', 'v');
      assert.equal(c(cmd, 'k', arg), 1, `${cmd} ${arg}`);
      assert.equal(ks.db(0).data.has('k'), false, `${cmd} ${arg}`);
    }
    assert.equal(c('EXPIRE', 'k', '10'), 0, 'no key');
    c('SET', 'k', 'v');
    c('PEXPIRE', 'k', '1');
    clock.advance(1);
    assert.equal(c('EXPIRE', 'k', '10'), 0, 'expired key');
  });

  test('NX XX GT LT, with no TTL counting as infinite', () => {
    const { c } = setup();
    // [current TTL in s or null, new TTL in s, flags, expected reply]
    const rows: [number | null, number, string[], number][] = [
      [null, 50, ['NX'], 1],
      [null, 50, ['XX'], 0],
      [null, 50, ['GT'], 0],
      [null, 50, ['LT'], 1],
      [null, 50, ['XX', 'GT'], 0],
      [null, 50, ['XX', 'LT'], 0],
      [100, 50, ['NX'], 0],
      [100, 50, ['XX'], 1],
      [100, 50, ['GT'], 0],
      [100, 50, ['LT'], 1],
      [100, 150, ['GT'], 1],
      [100, 150, ['LT'], 0],
      [100, 100, ['GT'], 0],
      [100, 100, ['LT'], 0],
      [100, 150, ['XX', 'GT'], 1],
      [100, 50, ['xx', 'lt'], 1],
      [100, 150, ['NX', 'NX'], 0],
      [null, 150, ['nx', 'nx'], 1],
    ];
    for (const [current, next, flags, expected] of rows) {
      c('DEL', 'k');
      c('SET', 'k', 'v');
      if (current !== null) c('EXPIRE', 'k', String(current));
      const label = `current ${current}, EXPIRE ${next} ${flags.join(' ')}`;
      assert.equal(c('EXPIRE', 'k', String(next), ...flags), expected, label);
      assert.equal(c('TTL', 'k'), expected === 1 ? next : (current ?? -1), label);
    }
  });

  test('LT with a past time on a key without TTL deletes it', () => {
    const { c } = setup();
    c('SET', 'k', 'v');
    assert.equal(c('EXPIRE', 'k', '-1', 'LT'), 1);
    assert.equal(c('EXISTS', 'k'), 0);
  });

  test('option and number errors, in Redis order', () => {
    const { c } = setup();
    c('SET', 'k', 'v');
    const nx = err('ERR NX and XX, GT or LT options at the same time are not compatible');
    const gtlt = err('ERR GT and LT options at the same time are not compatible');
    assert.deepEqual(c('EXPIRE', 'k', '10', 'NX', 'XX'), nx);
    assert.deepEqual(c('EXPIRE', 'k', '10', 'NX', 'GT'), nx);
    assert.deepEqual(c('PEXPIRE', 'k', '10', 'LT', 'NX'), nx);
    assert.deepEqual(c('EXPIREAT', 'k', '10', 'GT', 'LT'), gtlt);
    assert.deepEqual(c('PEXPIREAT', 'k', '10', 'nx', 'gt', 'lt'), nx);
    assert.deepEqual(c('EXPIRE', 'k', '10', 'FOO'), err('ERR Unsupported option FOO'));
    assert.deepEqual(c('EXPIRE', 'k', 'abc', 'NX', 'XX'), nx, 'options are checked before the time');
    for (const bad of ['abc', '1.5', '+1', ' 1', '01', '-0', '', '9223372036854775808']) {
      assert.deepEqual(c('EXPIRE', 'k', bad), err('ERR value is not an integer or out of range'), bad);
    }
    assert.deepEqual(c('EXPIRE', 'k'), err("ERR wrong number of arguments for 'expire' command"));
    assert.equal(c('TTL', 'k'), -1, 'no error changed anything');
  });

  test('overflow converting to absolute milliseconds names the command', () => {
    const { c } = setup();
    c('SET', 'k', 'v');
    assert.deepEqual(c('EXPIRE', 'k', '9223372036854775807'), err("ERR invalid expire time in 'expire' command"));
    assert.deepEqual(c('EXPIRE', 'k', '-9223372036854776'), err("ERR invalid expire time in 'expire' command"));
    assert.deepEqual(c('EXPIREAT', 'k', '9223372036854776'), err("ERR invalid expire time in 'expireat' command"));
    assert.deepEqual(c('PEXPIRE', 'k', '9223372036854775807'), err("ERR invalid expire time in 'pexpire' command"));
    // The largest times that fit are accepted.
    assert.equal(c('PEXPIREAT', 'k', '9223372036854775807'), 1);
    assert.equal(c('EXPIREAT', 'k', '9223372036854775'), 1);
    const t = c('PEXPIRETIME', 'k');
    assert.equal(typeof t, 'bigint');
    assert.ok((t as bigint) <= 9223372036854775807n && (t as bigint) > 9223372036854770000n);
    assert.equal(typeof c('TTL', 'k'), 'bigint');
    assert.equal(c('EXPIRE', 'k', '-9223372036854775'), 1, 'the most negative seconds still fit');
  });

  test('PERSIST removes a TTL', () => {
    const { c, clock } = setup();
    c('SET', 'k', 'v');
    assert.equal(c('PERSIST', 'k'), 0);
    c('EXPIRE', 'k', '10');
    assert.equal(c('PERSIST', 'k'), 1);
    assert.equal(c('TTL', 'k'), -1);
    assert.equal(c('PERSIST', 'nope'), 0);
    c('PEXPIRE', 'k', '5');
    clock.advance(5);
    assert.equal(c('PERSIST', 'k'), 0);
    assert.equal(c('EXISTS', 'k'), 0);
  });
});

describe('databases', () => {
  test('DBSIZE counts keys, expired ones until reclaimed', () => {
    const { c, clock } = setup();
    assert.equal(c('DBSIZE'), 0);
    c('SET', 'a', '1');
    c('SET', 'b', '1');
    c('PEXPIRE', 'b', '1');
    clock.advance(1);
    assert.equal(c('DBSIZE'), 2);
  });

  test('SELECT isolates databases and is not logged', () => {
    const { c, client, proposals } = setup();
    c('SET', 'k', 'zero');
    const before = proposals.length;
    assert.equal(c('SELECT', '1'), 'OK');
    assert.equal(proposals.length, before);
    assert.equal(client.client.db, 1);
    assert.equal(c('EXISTS', 'k'), 0);
    c('SET', 'k', 'one');
    assert.equal(proposals.at(-1)!.db, 1);
    c('SELECT', '0');
    assert.equal(c('GET', 'k'), 'zero');
  });

  test('SELECT errors', () => {
    const { c, client } = setup();
    assert.deepEqual(c('SELECT', '16'), err('ERR DB index is out of range'));
    assert.deepEqual(c('SELECT', '-1'), err('ERR DB index is out of range'));
    assert.deepEqual(c('SELECT', 'x'), err('ERR value is not an integer or out of range'));
    assert.deepEqual(c('SELECT', '2147483648'), err('ERR value is out of range, value must between -2147483648 and 2147483647'));
    assert.equal(client.client.db, 0);
  });

  test('SWAPDB exchanges contents, TTLs included, for every client', () => {
    const { c, client, proposals } = setup();
    const other = new TestClient(client.server);
    c('SET', 'k', 'zero');
    c('EXPIRE', 'k', '100');
    other.run('SELECT', '3');
    other.run('SET', 'k', 'three');
    assert.equal(c('SWAPDB', '0', '3'), 'OK');
    assert.deepEqual(proposals.at(-1)!.argv, ['swapdb', '0', '3']);
    assert.equal(c('GET', 'k'), 'three');
    assert.equal(c('TTL', 'k'), -1);
    assert.equal(decode(other.run('GET', 'k')), 'zero');
    assert.equal(decode(other.run('TTL', 'k')), 100);
    assert.equal(c('SWAPDB', '5', '5'), 'OK');
  });

  test('SWAPDB errors', () => {
    const { c } = setup();
    assert.deepEqual(c('SWAPDB', 'x', '1'), err('ERR invalid first DB index'));
    assert.deepEqual(c('SWAPDB', 'x', 'y'), err('ERR invalid first DB index'));
    assert.deepEqual(c('SWAPDB', '0', 'y'), err('ERR invalid second DB index'));
    assert.deepEqual(c('SWAPDB', '99', 'y'), err('ERR invalid second DB index'), 'both parsed before range checks');
    assert.deepEqual(c('SWAPDB', '0', '4294967296'), err('ERR invalid second DB index'));
    assert.deepEqual(c('SWAPDB', '0', '16'), err('ERR DB index is out of range'));
    assert.deepEqual(c('SWAPDB', '-1', '0'), err('ERR DB index is out of range'));
  });

  test('FLUSHDB empties only the selected database; FLUSHALL all of them', () => {
    const { c } = setup();
    c('SET', 'a', '1');
    c('SELECT', '1');
    c('SET', 'b', '1');
    assert.equal(c('FLUSHDB'), 'OK');
    assert.equal(c('DBSIZE'), 0);
    c('SELECT', '0');
    assert.equal(c('DBSIZE'), 1);
    c('SELECT', '2');
    c('SET', 'c', '1');
    assert.equal(c('FLUSHALL', 'SYNC'), 'OK');
    assert.equal(c('DBSIZE'), 0);
    c('SELECT', '0');
    assert.equal(c('DBSIZE'), 0);
    assert.equal(c('FLUSHDB', 'async'), 'OK');
  });

  test('FLUSH option errors', () => {
    const { c } = setup();
    for (const cmd of ['FLUSHDB', 'FLUSHALL']) {
      assert.deepEqual(c(cmd, 'now'), err('ERR syntax error'), cmd);
      assert.deepEqual(c(cmd, 'ASYNC', 'SYNC'), err('ERR syntax error'), cmd);
    }
  });
});

describe('plain-text replies', () => {
  test('KEYS and SCAN print one element per line', () => {
    const { server } = testServer();
    const plain = new TestClient(server, ReplyMode.Plain);
    assert.equal(plain.run('KEYS', '*'), '(empty array)\n');
    plain.run('SET', 'a', '1');
    assert.equal(plain.run('KEYS', '*'), 'a\n');
    assert.equal(plain.run('SCAN', '0'), '0\na\n');
    assert.equal(plain.run('TTL', 'a'), '-1\n');
  });
});

describe('determinism', () => {
  const keyArb = fc.constantFrom('a', 'b', 'c', 'd', 'e');
  const cmdArb = fc.oneof(
    fc.tuple(fc.constant('SET'), keyArb, fc.string({ maxLength: 3 })),
    fc.tuple(fc.constant('DEL'), keyArb, keyArb),
    fc.tuple(fc.constant('EXPIRE'), keyArb, fc.integer({ min: -2, max: 5 }).map(String)),
    fc.tuple(fc.constant('PEXPIRE'), keyArb, fc.integer({ min: -10, max: 3000 }).map(String), fc.constantFrom('NX', 'XX', 'GT', 'LT')),
    fc.tuple(fc.constant('EXPIREAT'), keyArb, fc.integer({ min: 1_699_999_999, max: 1_700_000_010 }).map(String)),
    fc.tuple(fc.constant('PERSIST'), keyArb),
    fc.tuple(fc.constant('RENAME'), keyArb, keyArb),
    fc.tuple(fc.constant('RENAMENX'), keyArb, keyArb),
    fc.tuple(fc.constant('EXISTS'), keyArb),
    fc.tuple(fc.constant('SELECT'), fc.integer({ min: 0, max: 2 }).map(String)),
    fc.tuple(fc.constant('SWAPDB'), fc.integer({ min: 0, max: 2 }).map(String), fc.integer({ min: 0, max: 2 }).map(String)),
    fc.tuple(fc.constant('FLUSHDB')),
    fc.constant(['FLUSHALL']),
  );

  function snapshot(ks: Keyspace): unknown {
    return ks.dbs.map((db) => [[...db.data], [...db.expires]]);
  }

  test('replaying the proposed entries on another node with another clock gives the same keyspace', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(cmdArb, fc.integer({ min: 0, max: 1500 })), { maxLength: 60 }), async (script) => {
        const a = setup();
        const b = testServer();
        b.clock.advance(-3_600_000);
        for (const [argv, waitMs] of script) {
          a.c(...(argv as string[]));
          a.clock.advance(waitMs);
          if (waitMs % 3 === 0) await turn();
        }
        await turn();
        for (const cmd of a.proposals) b.server.stateMachine.apply(cmd, null);
        assert.deepEqual(snapshot(b.server.keyspace), snapshot(a.ks));
      }),
      { numRuns: 150 },
    );
  });
});
