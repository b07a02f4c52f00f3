// Determinism of the string family's log entries (DESIGN.md): a random sequence of string
// commands runs on server A; every entry A proposes is captured and re-applied to a fresh
// server B whose clock is far away. B must reach A's keyspace exactly (values, expiries,
// iteration order) and each applied entry must write the reply A's client received.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LogCommand } from '../../src/commands/types.js';
import type { Keyspace } from '../../src/keyspace/database.js';
import { Reply } from '../../src/protocol/reply.js';
import type { Server } from '../../src/server/server.js';
import { testServer } from '../helpers/harness.js';
import { SeededRandom } from '../../src/raft/rand.js';

/** A small seeded generator (mulberry32) so a failing seed can be replayed. */
function rng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

interface Captured {
  cmd: LogCommand;
  /** What the apply wrote for this entry on A. */
  reply: string;
}

function capture(server: Server): Captured[] {
  const out: Captured[] = [];
  const inner = server.writePath;
  server.writePath = {
    propose(cmd, sink) {
      const before = sink.reply.out.length;
      const entry: Captured = { cmd: { db: cmd.db, timeMs: cmd.timeMs, argv: [...cmd.argv] }, reply: '' };
      const sync = inner.propose(cmd, sink);
      entry.reply = sink.reply.out.slice(before);
      out.push(entry);
      return sync;
    },
  };
  return out;
}

function snapshot(ks: Keyspace): unknown {
  return ks.dbs.map((d) => ({ data: [...d.data], expires: [...d.expires] }));
}

/** One random string command; values and expiries are chosen to hit edge cases often. */
function randomCommand(r: () => number, now: number): string[] {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const key = pick(['a', 'b', 'c', 'n', 'f', 'bin\r\n\0']);
  const value = pick(['x', '', '10', '-3', '9223372036854775806', '2.5', '1e3', 'abc', '\xff\x00\r\n']);
  const ttl = pick(['1', '2', '500', '3', '0', '-1', 'zz']);
  const expireOpt = (): string[] =>
    pick([
      [],
      ['EX', ttl],
      ['PX', String(Number(ttl) * 700)],
      ['EXAT', String(Math.floor(now / 1000) + pick([-5, 0, 1, 3]))],
      ['PXAT', String(now + pick([-100, 0, 1, 1500]))],
      ['KEEPTTL'],
    ]);
  switch (Math.floor(r() * 20)) {
    case 0:
      return ['SET', key, value, ...expireOpt()];
    case 1:
      return ['SET', key, value, ...expireOpt(), ...pick([[], ['NX'], ['XX']]), ...pick([[], ['GET']])];
    case 2:
      return ['SETNX', key, value];
    case 3:
      return ['SETEX', key, ttl, value];
    case 4:
      return ['PSETEX', key, String(Number(ttl) * 900), value];
    case 5:
      return ['GETSET', key, value];
    case 6:
      return ['GETDEL', key];
    case 7:
      return ['GETEX', key, ...pick([[], ['PERSIST'], ['EX', ttl], ['PXAT', String(now + pick([-1, 0, 2000]))]])];
    case 8:
      return ['MSET', key, value, pick(['a', 'b']), value];
    case 9:
      return ['MSETNX', key, value, pick(['c', 'n']), value];
    case 10:
      return ['APPEND', key, value];
    case 11:
      return ['INCR', key];
    case 12:
      return ['DECRBY', key, pick(['1', '-9223372036854775807', '5', 'x'])];
    case 13:
      return ['INCRBY', key, pick(['9223372036854775807', '-2', '100'])];
    case 14:
      return ['INCRBYFLOAT', key, pick(['0.1', '-1.5', '1e3', '3.0e-5', 'inf', 'bad'])];
    case 15:
      return ['SETRANGE', key, pick(['0', '3', '20', '-1']), value];
    case 16:
      return ['MGET', key, 'a', 'b'];
    case 17:
      return ['GET', key];
    case 18:
      return ['DECR', key];
    default:
      return ['STRLEN', key];
  }
}

/** Entry names and reply kinds seen across seeds, to check the generator reaches every path. */
const seen = new Set<string>();

async function runSeed(seed: number, steps: number): Promise<void> {
  const r = rng(seed);
  const a = testServer();
  const log = capture(a.server);
  for (let i = 0; i < steps; i++) {
    a.client.client.db = r() < 0.8 ? 0 : 1;
    const before = log.length;
    const argv = randomCommand(r, a.clock.nowMs);
    const reply = a.client.run(...argv);
    // A client's write proposes at most one entry, and the entry's reply is the client's reply.
    assert.ok(log.length - before <= 1, `seed ${seed}: ${argv.join(' ')} proposed ${log.length - before} entries`);
    if (log.length > before) assert.equal(log[before]!.reply, reply, `seed ${seed}: ${argv.join(' ')}`);
    a.clock.advance(Math.floor(r() * 1200));
    // Let the leader turn keys that reads found expired into logged deletions.
    if (r() < 0.2) await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setImmediate(resolve));

  const b = testServer();
  b.clock.nowMs = a.clock.nowMs + 123_456_789;
  for (const { cmd, reply } of log) {
    assert.equal(cmd.argv[0], cmd.argv[0]!.toLowerCase());
    assert.ok(b.server.commands.get(cmd.argv[0]!)?.apply !== undefined, `no apply for ${cmd.argv[0]}`);
    // Relative expiries never reach the log.
    const options = cmd.argv[0] === 'set' ? cmd.argv.slice(3) : cmd.argv[0] === 'getex' ? cmd.argv.slice(2) : [];
    assert.ok(!options.some((x) => /^(EX|PX|EXAT)$/i.test(x)), cmd.argv.join(' '));
    seen.add(cmd.argv[0]!);
    if (reply.startsWith('-')) seen.add(reply.trim());
    const out = new Reply();
    b.server.stateMachine.apply(cmd, out);
    assert.equal(out.out, reply, `seed ${seed}: reply of ${cmd.argv.join(' ')}`);
  }
  assert.deepEqual(snapshot(b.server.keyspace), snapshot(a.server.keyspace), `seed ${seed}`);
  assert.equal(b.server.keyspace.expiredKeys, a.server.keyspace.expiredKeys);
}

describe('determinism of string writes', () => {
  it('replaying the captured log on another node with another clock gives the same keyspace', async () => {
    for (let seed = 1; seed <= 40; seed++) await runSeed(seed, 300);
    for (const name of ['set', 'setnx', 'getex', 'getdel', 'mset', 'msetnx', 'append', 'incrby', 'incrbyfloat', 'setrange', 'expired']) {
      assert.ok(seen.has(name), `the generator never produced a ${name} entry`);
    }
    for (const error of [
      '-ERR value is not an integer or out of range',
      '-ERR increment or decrement would overflow',
      '-ERR value is not a valid float',
      '-ERR increment would produce NaN or Infinity',
    ]) {
      assert.ok(seen.has(error), `no applied entry answered ${error}`);
    }
  });
});
