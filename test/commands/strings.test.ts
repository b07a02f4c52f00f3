// String commands: Redis 7's replies and error texts, SET's options, TTLs under a test
// clock, 64-bit counters, INCRBYFLOAT's formatting, binary values, RESP3 differences, and
// the deterministic log entries the writes propose.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LogCommand } from '../../src/commands/types.js';
import { formatIncrFloat } from '../../src/commands/strings.js';
import { ReplyMode } from '../../src/protocol/reply.js';
import type { Server } from '../../src/server/server.js';
import { TestClient, testServer } from '../helpers/harness.js';

const OK = '+OK\r\n';
const NIL = '$-1\r\n';
const bulk = (s: string): string => `$${s.length}\r\n${s}\r\n`;
const int = (n: number | bigint | string): string => `:${n}\r\n`;
const err = (msg: string): string => `-${msg}\r\n`;

const SYNTAX = err('ERR syntax error');
const NOT_INT = err('ERR value is not an integer or out of range');
const NOT_FLOAT = err('ERR value is not a valid float');
const OVERFLOW = err('ERR increment or decrement would overflow');
const TOO_LONG = err('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
const invalidExpire = (cmd: string): string => err(`ERR invalid expire time in '${cmd}' command`);
const arity = (cmd: string): string => err(`ERR wrong number of arguments for '${cmd}' command`);

const INT64_MAX = '9223372036854775807';
const INT64_MIN = '-9223372036854775808';

/** Records every entry proposed to `server`'s write path. */
function captureLog(server: Server): LogCommand[] {
  const log: LogCommand[] = [];
  const inner = server.writePath;
  server.writePath = {
    propose(cmd, sink) {
      log.push({ db: cmd.db, timeMs: cmd.timeMs, argv: [...cmd.argv] });
      return inner.propose(cmd, sink);
    },
  };
  return log;
}

function expireAt(server: Server, key: string, db = 0): number | undefined {
  return server.keyspace.db(db).expireAt(key);
}

const flushTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('GET and SET', () => {
  it('SET stores, GET reads, a missing key is nil, SET overwrites', () => {
    const { client } = testServer();
    assert.equal(client.run('GET', 'k'), NIL);
    assert.equal(client.run('SET', 'k', 'v'), OK);
    assert.equal(client.run('GET', 'k'), bulk('v'));
    assert.equal(client.run('set', 'k', 'other'), OK);
    assert.equal(client.run('get', 'k'), bulk('other'));
    assert.equal(client.run('SET', 'e', ''), OK);
    assert.equal(client.run('GET', 'e'), '$0\r\n\r\n');
  });

  it('arity is checked by the dispatcher with Redis text', () => {
    const { client } = testServer();
    assert.equal(client.run('GET'), arity('get'));
    assert.equal(client.run('GET', 'a', 'b'), arity('get'));
    assert.equal(client.run('SET', 'k'), arity('set'));
  });

  it('plain SET proposes its own argv and nothing else', () => {
    const { server, client } = testServer();
    const log = captureLog(server);
    client.run('SET', 'k', 'v');
    assert.deepEqual(log.map((c) => c.argv), [['set', 'k', 'v']]);
  });

  it('GET counts keyspace hits and misses', () => {
    const { server, client } = testServer();
    client.run('SET', 'k', 'v');
    client.run('GET', 'k');
    client.run('GET', 'k');
    client.run('GET', 'nope');
    assert.equal(server.stats.keyspaceHits, 2);
    assert.equal(server.stats.keyspaceMisses, 1);
  });
});

describe('SET options', () => {
  it('NX sets only a missing key, XX only an existing one', () => {
    const { client } = testServer();
    assert.equal(client.run('SET', 'k', 'a', 'XX'), NIL);
    assert.equal(client.run('GET', 'k'), NIL);
    assert.equal(client.run('SET', 'k', 'a', 'NX'), OK);
    assert.equal(client.run('SET', 'k', 'b', 'NX'), NIL);
    assert.equal(client.run('GET', 'k'), bulk('a'));
    assert.equal(client.run('SET', 'k', 'c', 'xx'), OK);
    assert.equal(client.run('GET', 'k'), bulk('c'));
  });

  it('GET returns the old value (nil when missing), also combined with NX/XX', () => {
    const { client } = testServer();
    assert.equal(client.run('SET', 'k', 'a', 'GET'), NIL);
    assert.equal(client.run('SET', 'k', 'b', 'get'), bulk('a'));
    assert.equal(client.run('GET', 'k'), bulk('b'));
    // NX GET on an existing key answers the old value and does not set.
    assert.equal(client.run('SET', 'k', 'c', 'NX', 'GET'), bulk('b'));
    assert.equal(client.run('GET', 'k'), bulk('b'));
    // XX GET on a missing key answers nil and does not set.
    assert.equal(client.run('SET', 'm', 'c', 'GET', 'XX'), NIL);
    assert.equal(client.run('GET', 'm'), NIL);
    assert.equal(client.run('SET', 'm', 'c', 'GET', 'NX'), NIL);
    assert.equal(client.run('GET', 'm'), bulk('c'));
  });

  it('EX, PX, EXAT and PXAT set an absolute expiry; options are case-insensitive and in any order', () => {
    const { server, clock, client } = testServer();
    const now = clock.nowMs;
    assert.equal(client.run('SET', 'a', 'v', 'EX', '10'), OK);
    assert.equal(expireAt(server, 'a'), now + 10_000);
    assert.equal(client.run('SET', 'b', 'v', 'px', '1500'), OK);
    assert.equal(expireAt(server, 'b'), now + 1500);
    assert.equal(client.run('SET', 'c', 'v', 'EXAT', String(now / 1000 + 100)), OK);
    assert.equal(expireAt(server, 'c'), now + 100_000);
    assert.equal(client.run('SET', 'd', 'v', 'PXAT', String(now + 42)), OK);
    assert.equal(expireAt(server, 'd'), now + 42);
    assert.equal(client.run('SET', 'e', 'v', 'Ex', '5', 'nX', 'GeT'), NIL);
    assert.equal(expireAt(server, 'e'), now + 5000);
    // The same expiry option twice is accepted; the last one wins (as Redis).
    assert.equal(client.run('SET', 'f', 'v', 'EX', '1', 'EX', '2'), OK);
    assert.equal(expireAt(server, 'f'), now + 2000);
  });

  it('relative and absolute expiries are logged as PXAT', () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    const now = clock.nowMs;
    client.run('SET', 'k', 'v', 'EX', '10');
    client.run('SET', 'k', 'v', 'NX', 'GET', 'PX', '7');
    client.run('SET', 'k', 'v', 'EXAT', '1800000000');
    client.run('SET', 'k', 'v', 'xx', 'keepttl');
    assert.deepEqual(log.map((c) => c.argv), [
      ['set', 'k', 'v', 'PXAT', String(now + 10_000)],
      ['set', 'k', 'v', 'NX', 'GET', 'PXAT', String(now + 7)],
      ['set', 'k', 'v', 'PXAT', '1800000000000'],
      ['set', 'k', 'v', 'XX', 'KEEPTTL'],
    ]);
    assert.ok(log.every((c) => c.timeMs === now));
  });

  it('conflicting, unknown or incomplete options are a syntax error', () => {
    const { client } = testServer();
    for (const opts of [
      ['NX', 'XX'],
      ['XX', 'NX'],
      ['EX', '10', 'PX', '100'],
      ['PX', '100', 'EXAT', '2000000000'],
      ['EXAT', '2000000000', 'PXAT', '2000000000000'],
      ['EX', '10', 'KEEPTTL'],
      ['KEEPTTL', 'PX', '10'],
      ['PERSIST'],
      ['EX'],
      ['NX', 'PX'],
      ['FOO'],
      ['NXX'],
      ['EX', '10', 'NX', 'XX'],
    ]) {
      assert.equal(client.run('SET', 'k', 'v', ...opts), SYNTAX, opts.join(' '));
    }
    // Syntax is judged before the expiry's value.
    assert.equal(client.run('SET', 'k', 'v', 'EX', 'abc', 'NX', 'XX'), SYNTAX);
    assert.equal(client.run('GET', 'k'), NIL);
  });

  it('bad expiry values use Redis texts', () => {
    const { client } = testServer();
    assert.equal(client.run('SET', 'k', 'v', 'EX', '0'), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'PX', '-1'), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'EXAT', '0'), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'EX', 'abc'), NOT_INT);
    assert.equal(client.run('SET', 'k', 'v', 'EX', '1.5'), NOT_INT);
    assert.equal(client.run('SET', 'k', 'v', 'EX', '+5'), NOT_INT);
    assert.equal(client.run('SET', 'k', 'v', 'EX', '99999999999999999999'), NOT_INT);
    // Seconds that overflow when turned into ms, and relative ms that overflow when added to now.
    assert.equal(client.run('SET', 'k', 'v', 'EX', INT64_MAX), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'EXAT', '9223372036854776'), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'PX', INT64_MAX), invalidExpire('set'));
    assert.equal(client.run('SET', 'k', 'v', 'EX', '9223372036854775'), invalidExpire('set'));
    assert.equal(client.run('GET', 'k'), NIL);
    // Within 64 bits an absolute time is accepted however far.
    assert.equal(client.run('SET', 'k', 'v', 'PXAT', INT64_MAX), OK);
    assert.equal(client.run('SET', 'k2', 'v', 'EXAT', '9223372036854775'), OK);
    assert.equal(client.run('GET', 'k'), bulk('v'));
  });

  it('an expiry near INT64_MAX reads back within 64 bits (stored times are doubles past 2^53 ms)', () => {
    const { client } = testServer();
    const storedMax = ':9223372036854774784\r\n';
    assert.equal(client.run('SET', 'k', 'v', 'PXAT', INT64_MAX), OK);
    assert.equal(client.run('PEXPIRETIME', 'k'), storedMax);
    assert.equal(client.run('PERSIST', 'k'), int(1));
    assert.equal(client.run('GETEX', 'k', 'PXAT', INT64_MAX), bulk('v'));
    assert.equal(client.run('PEXPIRETIME', 'k'), storedMax);
  });

  it('an absolute expiry already past stores nothing, but GET still answers the old value', () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    client.run('SET', 'k', 'old');
    assert.equal(client.run('SET', 'k', 'new', 'PXAT', String(clock.nowMs - 1), 'GET'), bulk('old'));
    assert.equal(client.run('GET', 'k'), NIL);
    assert.equal(server.keyspace.db(0).size, 0);
    assert.equal(client.run('SET', 'j', 'v', 'EXAT', '1'), OK);
    assert.equal(client.run('GET', 'j'), NIL);
    assert.equal(log[1]!.argv.join(' '), `set k new GET PXAT ${clock.nowMs - 1}`);
  });
});

describe('TTL behaviour with the test clock', () => {
  it('SET EX expires exactly at its time', () => {
    const { clock, client } = testServer();
    client.run('SET', 'k', 'v', 'EX', '10');
    clock.advance(9_999);
    assert.equal(client.run('GET', 'k'), bulk('v'));
    clock.advance(1);
    assert.equal(client.run('GET', 'k'), NIL);
  });

  it('a read that meets an expired key has the leader log its deletion', async () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    client.run('SET', 'k', 'v', 'PX', '5');
    clock.advance(5);
    assert.equal(client.run('GET', 'k'), NIL);
    assert.equal(server.keyspace.db(0).data.has('k'), true);
    await flushTurn();
    assert.deepEqual(log[1]!.argv, ['expired', 'k']);
    assert.equal(server.keyspace.db(0).data.has('k'), false);
  });

  it('plain SET clears a TTL, KEEPTTL keeps it', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'v', 'EX', '100');
    const at = clock.nowMs + 100_000;
    assert.equal(client.run('SET', 'k', 'v2', 'KEEPTTL'), OK);
    assert.equal(expireAt(server, 'k'), at);
    assert.equal(client.run('GET', 'k'), bulk('v2'));
    assert.equal(client.run('SET', 'k', 'v3'), OK);
    assert.equal(expireAt(server, 'k'), undefined);
    clock.advance(200_000);
    assert.equal(client.run('GET', 'k'), bulk('v3'));
  });

  it('an expired key counts as missing for NX, XX, GET and SETNX', () => {
    const { clock, client } = testServer();
    client.run('SET', 'k', 'v', 'PX', '10');
    clock.advance(10);
    assert.equal(client.run('SET', 'k', 'x', 'XX'), NIL);
    assert.equal(client.run('SET', 'k', 'a', 'NX', 'GET'), NIL);
    assert.equal(client.run('GET', 'k'), bulk('a'));
    client.run('SET', 'j', 'v', 'PX', '10');
    clock.advance(10);
    assert.equal(client.run('SETNX', 'j', 'new'), int(1));
  });

  it('KEEPTTL on an expired key does not revive its TTL', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'v', 'PX', '10');
    clock.advance(20);
    assert.equal(client.run('SET', 'k', 'v2', 'KEEPTTL'), OK);
    assert.equal(expireAt(server, 'k'), undefined);
    assert.equal(client.run('GET', 'k'), bulk('v2'));
  });
});

describe('SETNX, SETEX, PSETEX, GETSET', () => {
  it('SETNX answers 1 when it set and 0 when the key existed', () => {
    const { client } = testServer();
    assert.equal(client.run('SETNX', 'k', 'a'), int(1));
    assert.equal(client.run('SETNX', 'k', 'b'), int(0));
    assert.equal(client.run('GET', 'k'), bulk('a'));
  });

  it('SETEX and PSETEX set a value with a TTL and are logged as SET PXAT', () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    const now = clock.nowMs;
    assert.equal(client.run('SETEX', 'a', '10', 'v'), OK);
    assert.equal(client.run('PSETEX', 'b', '250', 'w'), OK);
    assert.equal(expireAt(server, 'a'), now + 10_000);
    assert.equal(expireAt(server, 'b'), now + 250);
    assert.deepEqual(log.map((c) => c.argv), [
      ['set', 'a', 'v', 'PXAT', String(now + 10_000)],
      ['set', 'b', 'w', 'PXAT', String(now + 250)],
    ]);
    clock.advance(250);
    assert.equal(client.run('GET', 'b'), NIL);
    assert.equal(client.run('GET', 'a'), bulk('v'));
  });

  it('SETEX and PSETEX name themselves in the expiry error', () => {
    const { client } = testServer();
    assert.equal(client.run('SETEX', 'k', '0', 'v'), invalidExpire('setex'));
    assert.equal(client.run('SETEX', 'k', '-10', 'v'), invalidExpire('setex'));
    assert.equal(client.run('PSETEX', 'k', '0', 'v'), invalidExpire('psetex'));
    assert.equal(client.run('PSETEX', 'k', INT64_MAX, 'v'), invalidExpire('psetex'));
    assert.equal(client.run('SETEX', 'k', 'ten', 'v'), NOT_INT);
    assert.equal(client.run('SETEX', 'k', '10'), arity('setex'));
    assert.equal(client.run('GET', 'k'), NIL);
  });

  it('GETSET answers the old value, sets the new one and clears the TTL', () => {
    const { server, client } = testServer();
    assert.equal(client.run('GETSET', 'k', 'a'), NIL);
    client.run('SET', 'k', 'b', 'EX', '100');
    assert.equal(client.run('GETSET', 'k', 'c'), bulk('b'));
    assert.equal(client.run('GET', 'k'), bulk('c'));
    assert.equal(expireAt(server, 'k'), undefined);
  });
});

describe('GETDEL and GETEX', () => {
  it('GETDEL answers the value and removes the key; nil when missing', () => {
    const { server, client } = testServer();
    client.run('SET', 'k', 'v');
    assert.equal(client.run('GETDEL', 'k'), bulk('v'));
    assert.equal(client.run('GETDEL', 'k'), NIL);
    assert.equal(server.keyspace.db(0).size, 0);
  });

  it('GETDEL of an expired key is nil', () => {
    const { clock, client } = testServer();
    client.run('SET', 'k', 'v', 'PX', '1');
    clock.advance(1);
    assert.equal(client.run('GETDEL', 'k'), NIL);
  });

  it('GETEX without options is a read: no entry, TTL untouched', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'v', 'EX', '10');
    const log = captureLog(server);
    assert.equal(client.run('GETEX', 'k'), bulk('v'));
    assert.equal(client.run('GETEX', 'missing'), NIL);
    assert.equal(log.length, 0);
    assert.equal(expireAt(server, 'k'), clock.nowMs + 10_000);
  });

  it('GETEX EX/PX/EXAT/PXAT set the TTL and are logged as PXAT', () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    const now = clock.nowMs;
    client.run('SET', 'k', 'v');
    assert.equal(client.run('GETEX', 'k', 'EX', '10'), bulk('v'));
    assert.equal(expireAt(server, 'k'), now + 10_000);
    assert.equal(client.run('GETEX', 'k', 'px', '20'), bulk('v'));
    assert.equal(expireAt(server, 'k'), now + 20);
    assert.equal(client.run('GETEX', 'k', 'EXAT', '2000000000'), bulk('v'));
    assert.equal(expireAt(server, 'k'), 2_000_000_000_000);
    assert.equal(client.run('GETEX', 'k', 'PXAT', String(now + 5)), bulk('v'));
    assert.equal(expireAt(server, 'k'), now + 5);
    assert.deepEqual(log.slice(1).map((c) => c.argv), [
      ['getex', 'k', 'PXAT', String(now + 10_000)],
      ['getex', 'k', 'PXAT', String(now + 20)],
      ['getex', 'k', 'PXAT', '2000000000000'],
      ['getex', 'k', 'PXAT', String(now + 5)],
    ]);
    assert.equal(client.run('GETEX', 'nope', 'EX', '10'), NIL);
    assert.equal(server.keyspace.db(0).data.has('nope'), false);
  });

  it('GETEX PERSIST removes the TTL', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'v', 'EX', '10');
    assert.equal(client.run('GETEX', 'k', 'PERSIST'), bulk('v'));
    assert.equal(expireAt(server, 'k'), undefined);
    clock.advance(20_000);
    assert.equal(client.run('GET', 'k'), bulk('v'));
  });

  it('GETEX with a past absolute time answers the value and removes the key', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'v');
    assert.equal(client.run('GETEX', 'k', 'PXAT', String(clock.nowMs - 1000)), bulk('v'));
    assert.equal(server.keyspace.db(0).data.has('k'), false);
    assert.equal(client.run('GET', 'k'), NIL);
  });

  it('GETEX option errors: syntax first, then the key, then the expiry value', () => {
    const { client } = testServer();
    client.run('SET', 'k', 'v');
    for (const opts of [['NX'], ['KEEPTTL'], ['GET'], ['EX', '1', 'PERSIST'], ['PERSIST', 'PX', '1'], ['EX'], ['EX', '1', 'PX', '1']]) {
      assert.equal(client.run('GETEX', 'k', ...opts), SYNTAX, opts.join(' '));
    }
    assert.equal(client.run('GETEX', 'k', 'EX', '0'), invalidExpire('getex'));
    assert.equal(client.run('GETEX', 'k', 'PXAT', '-5'), invalidExpire('getex'));
    assert.equal(client.run('GETEX', 'k', 'EX', INT64_MAX), invalidExpire('getex'));
    assert.equal(client.run('GETEX', 'k', 'EX', 'x'), NOT_INT);
    // Redis looks the key up first: a missing key is nil whatever the value.
    assert.equal(client.run('GETEX', 'missing', 'EX', '0'), NIL);
    assert.equal(client.run('GETEX', 'missing', 'EX', 'x'), NIL);
    assert.equal(client.run('GETEX', 'missing', 'EX'), SYNTAX);
  });
});

describe('MGET, MSET, MSETNX', () => {
  it('MGET answers every key in order, nil for missing and expired ones', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'a', '1');
    client.run('SET', 'b', '2', 'PX', '5');
    clock.advance(5);
    assert.equal(client.run('MGET', 'a', 'b', 'c', 'a'), '*4\r\n' + bulk('1') + NIL + NIL + bulk('1'));
    assert.equal(server.stats.keyspaceHits, 2);
    assert.equal(server.stats.keyspaceMisses, 2);
    assert.equal(client.run('MGET'), arity('mget'));
  });

  it('MSET sets every pair, the last of a repeated key wins, TTLs are cleared', () => {
    const { server, client } = testServer();
    client.run('SET', 'a', 'old', 'EX', '100');
    assert.equal(client.run('MSET', 'a', '1', 'b', '2', 'a', '3'), OK);
    assert.equal(client.run('MGET', 'a', 'b'), '*2\r\n' + bulk('3') + bulk('2'));
    assert.equal(expireAt(server, 'a'), undefined);
  });

  it('MSET and MSETNX need key/value pairs', () => {
    const { client } = testServer();
    assert.equal(client.run('MSET', 'a'), arity('mset'));
    assert.equal(client.run('MSET', 'a', '1', 'b'), arity('mset'));
    assert.equal(client.run('MSETNX', 'a', '1', 'b'), arity('msetnx'));
    assert.equal(client.run('MGET', 'a', 'b'), '*2\r\n' + NIL + NIL);
  });

  it('MSETNX sets all keys or none', () => {
    const { client } = testServer();
    assert.equal(client.run('MSETNX', 'a', '1', 'b', '2'), int(1));
    assert.equal(client.run('MSETNX', 'c', '3', 'b', 'x'), int(0));
    assert.equal(client.run('MGET', 'a', 'b', 'c'), '*3\r\n' + bulk('1') + bulk('2') + NIL);
  });

  it('key positions in the command table', () => {
    const { server } = testServer();
    const spec = (name: string): [number, number, number] => {
      const s = server.commands.get(name)!;
      return [s.firstKey, s.lastKey, s.keyStep];
    };
    assert.deepEqual(spec('mset'), [1, -1, 2]);
    assert.deepEqual(spec('msetnx'), [1, -1, 2]);
    assert.deepEqual(spec('mget'), [1, -1, 1]);
    for (const name of ['get', 'set', 'setnx', 'setex', 'psetex', 'getset', 'getdel', 'getex', 'append', 'strlen', 'incr', 'decr', 'incrby', 'decrby', 'incrbyfloat', 'getrange', 'substr', 'setrange']) {
      assert.deepEqual(spec(name), [1, 1, 1], name);
    }
  });
});

describe('APPEND and STRLEN', () => {
  it('APPEND creates or extends and answers the new length; STRLEN reads it', () => {
    const { client } = testServer();
    assert.equal(client.run('STRLEN', 'k'), int(0));
    assert.equal(client.run('APPEND', 'k', 'Hello'), int(5));
    assert.equal(client.run('APPEND', 'k', ' World'), int(11));
    assert.equal(client.run('GET', 'k'), bulk('Hello World'));
    assert.equal(client.run('STRLEN', 'k'), int(11));
    assert.equal(client.run('APPEND', 'k', ''), int(11));
  });

  it('APPEND keeps the TTL', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'a', 'EX', '10');
    client.run('APPEND', 'k', 'b');
    assert.equal(expireAt(server, 'k'), clock.nowMs + 10_000);
  });

  it('APPEND past proto-max-bulk-len is refused and changes nothing', () => {
    const mib = 1024 * 1024;
    const { client } = testServer({ 'proto-max-bulk-len': mib });
    client.run('SET', 'k', 'x'.repeat(mib - 1));
    assert.equal(client.run('APPEND', 'k', 'yz'), TOO_LONG);
    assert.equal(client.run('STRLEN', 'k'), int(mib - 1));
    assert.equal(client.run('APPEND', 'k', 'y'), int(mib));
  });
});

describe('INCR, DECR, INCRBY, DECRBY', () => {
  it('count from 0 on a missing key and answer the new value', () => {
    const { client } = testServer();
    assert.equal(client.run('INCR', 'n'), int(1));
    assert.equal(client.run('INCR', 'n'), int(2));
    assert.equal(client.run('DECR', 'n'), int(1));
    assert.equal(client.run('INCRBY', 'n', '100'), int(101));
    assert.equal(client.run('DECRBY', 'n', '200'), int(-99));
    assert.equal(client.run('INCRBY', 'n', '-1'), int(-100));
    assert.equal(client.run('DECR', 'm'), int(-1));
    assert.equal(client.run('GET', 'n'), bulk('-100'));
  });

  it('all four are logged as incrby with a signed delta', () => {
    const { server, client } = testServer();
    const log = captureLog(server);
    client.run('INCR', 'n');
    client.run('DECR', 'n');
    client.run('INCRBY', 'n', '5');
    client.run('DECRBY', 'n', '5');
    client.run('DECRBY', 'n', '-7');
    assert.deepEqual(log.map((c) => c.argv), [
      ['incrby', 'n', '1'],
      ['incrby', 'n', '-1'],
      ['incrby', 'n', '5'],
      ['incrby', 'n', '-5'],
      ['incrby', 'n', '7'],
    ]);
  });

  it('a stored value must be a strict 64-bit integer', () => {
    const { client } = testServer();
    for (const bad of ['abc', '1.5', ' 1', '1 ', '+1', '01', '-0', '', '-', '1e3', '9223372036854775808', '-9223372036854775809', '12345678901234567890123']) {
      client.run('SET', 'n', bad);
      assert.equal(client.run('INCR', 'n'), NOT_INT, JSON.stringify(bad));
      assert.equal(client.run('GET', 'n'), bulk(bad));
    }
    client.run('SET', 'n', '0');
    assert.equal(client.run('INCR', 'n'), int(1));
  });

  it('increments must be strict 64-bit integers', () => {
    const { client } = testServer();
    for (const bad of ['x', '1.0', '+1', '', '9223372036854775808']) {
      assert.equal(client.run('INCRBY', 'n', bad), NOT_INT, bad);
      assert.equal(client.run('DECRBY', 'n', bad), NOT_INT, bad);
    }
    assert.equal(client.run('GET', 'n'), NIL);
  });

  it('exact at the int64 boundaries, overflow refused', () => {
    const { client } = testServer();
    client.run('SET', 'n', '9223372036854775806');
    assert.equal(client.run('INCR', 'n'), int(INT64_MAX));
    assert.equal(client.run('INCR', 'n'), OVERFLOW);
    assert.equal(client.run('GET', 'n'), bulk(INT64_MAX));
    assert.equal(client.run('INCRBY', 'n', INT64_MIN), int(-1));
    client.run('SET', 'n', '-9223372036854775807');
    assert.equal(client.run('DECR', 'n'), int(INT64_MIN));
    assert.equal(client.run('DECR', 'n'), OVERFLOW);
    assert.equal(client.run('INCRBY', 'n', INT64_MAX), int(-1));
    client.run('SET', 'n', '1');
    assert.equal(client.run('INCRBY', 'n', INT64_MAX), OVERFLOW);
    client.run('SET', 'n', '-1');
    assert.equal(client.run('DECRBY', 'n', INT64_MAX), int(INT64_MIN));
    assert.equal(client.run('DECRBY', 'n', INT64_MIN), err('ERR decrement would overflow'));
    client.run('SET', 'n', '0');
    assert.equal(client.run('DECRBY', 'n', INT64_MIN), err('ERR decrement would overflow'));
  });

  it('exact beyond 2^53', () => {
    const { client } = testServer();
    client.run('SET', 'n', '9007199254740992');
    assert.equal(client.run('INCR', 'n'), int('9007199254740993'));
    assert.equal(client.run('INCRBY', 'n', '9007199254740993'), int('18014398509481986'));
    assert.equal(client.run('GET', 'n'), bulk('18014398509481986'));
    assert.equal(client.run('DECRBY', 'n', '18014398509481987'), int(-1));
  });

  it('keep the TTL', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'n', '5', 'EX', '10');
    client.run('INCR', 'n');
    client.run('DECRBY', 'n', '3');
    assert.equal(expireAt(server, 'n'), clock.nowMs + 10_000);
    assert.equal(client.run('GET', 'n'), bulk('3'));
  });
});

describe('INCRBYFLOAT', () => {
  it('formats results as Redis does: fixed notation, no trailing zeros', () => {
    const { client } = testServer();
    client.run('SET', 'f', '10.5');
    assert.equal(client.run('INCRBYFLOAT', 'f', '0.1'), bulk('10.6'));
    client.run('SET', 'f', '3.0e3');
    assert.equal(client.run('INCRBYFLOAT', 'f', '200'), bulk('3200'));
    assert.equal(client.run('INCRBYFLOAT', 'g', '5.0e3'), bulk('5000'));
    assert.equal(client.run('INCRBYFLOAT', 'g', '-5000'), bulk('0'));
    assert.equal(client.run('INCRBYFLOAT', 'g', '-1.5'), bulk('-1.5'));
    assert.equal(client.run('INCRBYFLOAT', 'h', '1e21'), bulk('1000000000000000000000'));
    assert.equal(client.run('INCRBYFLOAT', 'i', '1.5e-7'), bulk('0.00000015'));
    assert.equal(client.run('GET', 'f'), bulk('3200'));
    client.run('SET', 'j', '17');
    assert.equal(client.run('INCRBYFLOAT', 'j', '.5'), bulk('17.5'));
    assert.equal(client.run('INCRBYFLOAT', 'j', '+2.'), bulk('19.5'));
  });

  it('formatIncrFloat: at most 17 decimals, never an exponent, no negative zero', () => {
    const cases: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [1, '1'],
      [-2.25, '-2.25'],
      [123.456, '123.456'],
      [0.1 + 0.2, '0.30000000000000004'],
      [1e-20, '0'],
      [-1e-20, '0'],
      [1.234567e-15, '0.00000000000000123'],
      [5e-18, '0.00000000000000001'],
      [9.99999999999999999e-18, '0.00000000000000001'],
      [1e-17, '0.00000000000000001'],
      [1.5e300, '15' + '0'.repeat(299)],
      [Number.MAX_SAFE_INTEGER, '9007199254740991'],
      [2 ** 70, '1180591620717411300000'],
    ];
    for (const [x, want] of cases) assert.equal(formatIncrFloat(x), want, String(x));
  });

  it('keeps the TTL and is logged as sent', () => {
    const { server, clock, client } = testServer();
    const log = captureLog(server);
    client.run('SET', 'f', '1', 'EX', '10');
    client.run('INCRBYFLOAT', 'f', '0.5');
    assert.equal(expireAt(server, 'f'), clock.nowMs + 10_000);
    assert.deepEqual(log[1]!.argv, ['incrbyfloat', 'f', '0.5']);
  });

  it('errors: invalid stored value or increment, NaN or infinity', () => {
    const { client } = testServer();
    for (const bad of ['abc', '', ' 1', '1 ', '0x', 'nan', '1,5', '1\x00']) {
      client.run('SET', 'f', bad);
      assert.equal(client.run('INCRBYFLOAT', 'f', '1'), NOT_FLOAT, JSON.stringify(bad));
    }
    client.run('SET', 'f', '1');
    for (const bad of ['abc', '', 'nan', '1.2.3', ' 2']) {
      assert.equal(client.run('INCRBYFLOAT', 'f', bad), NOT_FLOAT, JSON.stringify(bad));
    }
    assert.equal(client.run('INCRBYFLOAT', 'f', 'inf'), err('ERR increment would produce NaN or Infinity'));
    client.run('SET', 'f', '1e308');
    assert.equal(client.run('INCRBYFLOAT', 'f', '1e308'), err('ERR increment would produce NaN or Infinity'));
    assert.equal(client.run('GET', 'f'), bulk('1e308'));
    client.run('SET', 'f', 'inf');
    assert.equal(client.run('INCRBYFLOAT', 'f', '-inf'), err('ERR increment would produce NaN or Infinity'));
  });
});

describe('INCRBYFLOAT argument parsing (Redis\'s string2ld over strtold)', () => {
  it('accepts C99 hex floats, infinity in any case, and a long double\'s tiny values', () => {
    const { client } = testServer();
    assert.equal(client.run('INCRBYFLOAT', 'f', '0x10'), bulk('16'));
    assert.equal(client.run('INCRBYFLOAT', 'f', '-0X1.8p1'), bulk('13'));
    assert.equal(client.run('INCRBYFLOAT', 'f', '0x.8'), bulk('13.5'));
    assert.equal(client.run('INCRBYFLOAT', 'f', '0x1P-2'), bulk('13.75'));
    client.run('SET', 'h', '0x1p3');
    assert.equal(client.run('INCRBYFLOAT', 'h', '1'), bulk('9'));
    // Within a long double's range though below a double's: it adds (about) nothing.
    assert.equal(client.run('INCRBYFLOAT', 'h', '1e-400'), bulk('9'));
    assert.equal(client.run('INCRBYFLOAT', 'h', '1.9e-4951'), bulk('9'));
    assert.equal(client.run('INCRBYFLOAT', 'h', 'INFINITY'), err('ERR increment would produce NaN or Infinity'));
  });

  it('refuses NUL bytes, malformed hex, and what overflows or underflows a long double', () => {
    const { client } = testServer();
    client.run('SET', 'f', '1');
    for (const bad of ['\x00', '1\x00x', '0x', '0x1p', '0xp1', '0x1.8q', 'infinit', '1e', '5e-5000', '1.8e-4951', '1e5000', '1.2e4932', '0x1p16384', '0x1p-16446', '1'.repeat(5120)]) {
      assert.equal(client.run('INCRBYFLOAT', 'f', bad), NOT_FLOAT, JSON.stringify(bad.slice(0, 20)));
    }
    assert.equal(client.run('GET', 'f'), bulk('1'));
  });
});

describe('GETRANGE, SUBSTR, SETRANGE', () => {
  it('GETRANGE follows Redis index rules', () => {
    const { client } = testServer();
    client.run('SET', 'k', 'Hello World');
    const cases: [string, string, string][] = [
      ['0', '3', 'Hell'],
      ['0', '-1', 'Hello World'],
      ['-3', '-1', 'rld'],
      ['5', '3', ''],
      ['-1', '-5', ''],
      ['10', '100', 'd'],
      ['11', '100', ''],
      ['-100', '2', 'Hel'],
      ['-100', '-50', 'H'],
      ['0', INT64_MAX, 'Hello World'],
      [INT64_MIN, '-9223372036854775807', 'H'],
      ['-9223372036854775807', INT64_MIN, ''],
    ];
    for (const [start, end, want] of cases) {
      assert.equal(client.run('GETRANGE', 'k', start, end), bulk(want), `${start} ${end}`);
    }
    assert.equal(client.run('SUBSTR', 'k', '6', '-1'), bulk('World'));
  });

  it('GETRANGE of a missing key or an empty string is an empty string; bad indexes are errors', () => {
    const { client } = testServer();
    assert.equal(client.run('GETRANGE', 'k', '0', '-1'), bulk(''));
    client.run('SET', 'e', '');
    assert.equal(client.run('GETRANGE', 'e', '0', '-1'), bulk(''));
    assert.equal(client.run('GETRANGE', 'k', 'a', '1'), NOT_INT);
    assert.equal(client.run('GETRANGE', 'k', '0', '1.5'), NOT_INT);
    assert.equal(client.run('GETRANGE', 'k', '0', '9223372036854775808'), NOT_INT);
    assert.equal(client.run('GETRANGE', 'k', '0'), arity('getrange'));
  });

  it('SETRANGE overwrites, extends and zero-pads; answers the new length', () => {
    const { client } = testServer();
    assert.equal(client.run('SETRANGE', 'k', '0', 'Hello World'), int(11));
    assert.equal(client.run('SETRANGE', 'k', '6', 'Redis'), int(11));
    assert.equal(client.run('GET', 'k'), bulk('Hello Redis'));
    assert.equal(client.run('SETRANGE', 'k', '9', 'xxxx'), int(13));
    assert.equal(client.run('GET', 'k'), bulk('Hello Redxxxx'));
    assert.equal(client.run('SETRANGE', 'p', '3', 'ab'), int(5));
    assert.equal(client.run('GET', 'p'), bulk('\0\0\0ab'));
    assert.equal(client.run('SETRANGE', 'k', '15', '!'), int(16));
    assert.equal(client.run('GET', 'k'), bulk('Hello Redxxxx\0\0!'));
  });

  it('SETRANGE with an empty value changes nothing and creates no key', () => {
    const { server, client } = testServer();
    assert.equal(client.run('SETRANGE', 'k', '5', ''), int(0));
    assert.equal(server.keyspace.db(0).data.has('k'), false);
    client.run('SET', 'k', 'abc');
    assert.equal(client.run('SETRANGE', 'k', '100', ''), int(3));
    // Writing nothing is never too long, however far the offset.
    assert.equal(client.run('SETRANGE', 'k', '9223372036854775807', ''), int(3));
    assert.equal(client.run('GET', 'k'), bulk('abc'));
  });

  it('SETRANGE errors and limits', () => {
    const { client } = testServer({ 'proto-max-bulk-len': 1024 * 1024 });
    assert.equal(client.run('SETRANGE', 'k', '-1', 'x'), err('ERR offset is out of range'));
    assert.equal(client.run('SETRANGE', 'k', 'one', 'x'), NOT_INT);
    assert.equal(client.run('SETRANGE', 'k', String(1024 * 1024), 'x'), TOO_LONG);
    assert.equal(client.run('SETRANGE', 'k', INT64_MAX, 'x'), TOO_LONG);
    assert.equal(client.run('GET', 'k'), NIL);
    assert.equal(client.run('SETRANGE', 'k', String(1024 * 1024 - 1), 'x'), int(1024 * 1024));
  });

  it('SETRANGE keeps the TTL', () => {
    const { server, clock, client } = testServer();
    client.run('SET', 'k', 'abc', 'PX', '500');
    client.run('SETRANGE', 'k', '1', 'Z');
    assert.equal(expireAt(server, 'k'), clock.nowMs + 500);
    assert.equal(client.run('GET', 'k'), bulk('aZc'));
  });
});

describe('binary values', () => {
  const allBytes = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');

  it('every byte 0x00-0xFF round-trips, lengths are byte lengths', () => {
    const { client } = testServer();
    assert.equal(client.run('SET', allBytes, allBytes), OK);
    assert.equal(client.run('GET', allBytes), '$256\r\n' + allBytes + '\r\n');
    assert.equal(client.run('STRLEN', allBytes), int(256));
    assert.equal(client.run('GETRANGE', allBytes, '10', '13'), bulk('\n\x0b\x0c\r'));
    assert.equal(client.run('APPEND', allBytes, '\xff\x00'), int(258));
    assert.equal(client.run('GETRANGE', allBytes, '-3', '-1'), bulk('\xff\xff\x00'));
  });

  it('"\\r\\n" inside keys and values does not break framing', () => {
    const { client } = testServer();
    client.run('MSET', 'a\r\nb', 'x\r\n$3\r\ny', 'c', '\r\n');
    assert.equal(client.run('MGET', 'a\r\nb', 'c'), '*2\r\n$8\r\nx\r\n$3\r\ny\r\n$2\r\n\r\n\r\n');
    assert.equal(client.run('GETSET', 'c', '\0'), bulk('\r\n'));
    assert.equal(client.run('GETDEL', 'c'), '$1\r\n\0\r\n');
  });

  it('multi-byte text is stored as its bytes', () => {
    const { client } = testServer();
    const euro = Buffer.from('€', 'utf8').toString('latin1');
    client.run('SET', 'k', euro);
    assert.equal(client.run('STRLEN', 'k'), int(3));
    assert.equal(client.run('SETRANGE', 'k', '1', 'ab'), int(3));
    assert.equal(client.run('GET', 'k'), bulk(euro[0] + 'ab'));
  });
});

describe('RESP3', () => {
  it('nil is "_" where RESP2 has $-1; bulk and integer replies are unchanged', () => {
    const { server } = testServer();
    const c = new TestClient(server, ReplyMode.Resp3);
    assert.equal(c.run('GET', 'k'), '_\r\n');
    assert.equal(c.run('SET', 'k', '1', 'XX'), '_\r\n');
    assert.equal(c.run('SET', 'k', '1', 'GET'), '_\r\n');
    assert.equal(c.run('SET', 'k', '2', 'NX'), '_\r\n');
    assert.equal(c.run('MGET', 'k', 'x'), '*2\r\n$1\r\n1\r\n_\r\n');
    assert.equal(c.run('GETDEL', 'x'), '_\r\n');
    assert.equal(c.run('GETEX', 'x', 'PERSIST'), '_\r\n');
    assert.equal(c.run('INCR', 'k'), ':2\r\n');
    // INCRBYFLOAT answers a bulk string in RESP3 too, as Redis.
    assert.equal(c.run('INCRBYFLOAT', 'k', '0.5'), '$3\r\n2.5\r\n');
    assert.equal(c.run('GETRANGE', 'x', '0', '-1'), '$0\r\n\r\n');
  });

  it('plain text for inline clients', () => {
    const { server } = testServer();
    const c = new TestClient(server, ReplyMode.Plain);
    assert.equal(c.run('SET', 'name', 'john'), 'OK\n');
    assert.equal(c.run('GET', 'name'), 'john\n');
    assert.equal(c.run('GET', 'missing'), '(nil)\n');
    assert.equal(c.run('INCR', 'n'), '1\n');
  });
});
