// Active expiry: keys nobody reads again are still reclaimed, in bounded cycles, only by
// the leader, and only through logged deletions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Keyspace } from '../../src/keyspace/database.js';
import { ActiveExpirer, activeExpireOptions } from '../../src/keyspace/active-expire.js';
import { testServer } from '../helpers/harness.js';

test('repeated cycles reclaim every expired key and leave the rest alone', () => {
  const { server, clock } = testServer();
  const db = server.keyspace.db(0);
  for (let i = 0; i < 5000; i++) db.set(`k${i}`, 'v', clock.nowMs + (i % 3 === 0 ? 10 : 60_000));
  for (let i = 0; i < 1000; i++) db.set(`forever${i}`, 'v');
  clock.advance(100);
  let cycles = 0;
  while (db.size > 4333 && cycles < 1000) {
    server.expirer.cycle(25, 1);
    cycles++;
  }
  // 1667 keys (every third of 5000) had expired; every one is gone, no live key touched.
  assert.equal(db.size, 5000 - 1667 + 1000);
  assert.equal(server.keyspace.expiredKeys, 1667);
  for (let i = 0; i < 5000; i++) assert.equal(db.data.has(`k${i}`), i % 3 !== 0, `k${i}`);
});

test('one cycle reports no more than maxKeysPerCycle keys', () => {
  const ks = new Keyspace(1);
  const db = ks.db(0);
  for (let i = 0; i < 30_000; i++) db.set(`k${i}`, 'v', 1);
  const expirer = new ActiveExpirer(ks);
  const opts = activeExpireOptions(1);
  const found = expirer.cycle(100, 1_000_000, opts, () => 0);
  const n = [...found.values()].reduce((a, keys) => a + keys.length, 0);
  assert(n > 0 && n <= opts.maxKeysPerCycle, `found ${n}`);
});

test('a cycle stops when its time budget is spent', () => {
  const ks = new Keyspace(1);
  const db = ks.db(0);
  for (let i = 0; i < 10_000; i++) db.set(`k${i}`, 'v', 1);
  const expirer = new ActiveExpirer(ks);
  let fakeMs = 0;
  // Each clock read costs 1 ms of fake time: a 3 ms budget allows only a few sampling loops.
  const found = expirer.cycle(100, 3, activeExpireOptions(1), () => fakeMs++);
  const n = [...found.values()].reduce((a, keys) => a + keys.length, 0);
  assert(n > 0 && n <= 5 * activeExpireOptions(1).keysPerLoop, `found ${n}`);
});

test('higher effort samples more keys per loop and tolerates fewer stale keys', () => {
  const low = activeExpireOptions(1);
  const high = activeExpireOptions(10);
  assert(high.keysPerLoop > low.keysPerLoop);
  assert(high.acceptableStalePercent < low.acceptableStalePercent);
});

test('a follower neither runs the cycle nor turns lazily found keys into deletions', async () => {
  const { server, clock, client } = testServer();
  const db = server.keyspace.db(0);
  db.set('gone', 'v', clock.nowMs + 10);
  clock.advance(100);
  server.expirer.leader = false;
  assert.equal(server.expirer.cycle(25, 1), 0);
  assert.equal(client.run('GET', 'gone'), '$-1\r\n');
  await new Promise((r) => setImmediate(r));
  assert(db.data.has('gone'), 'a follower answers an expired key as missing but keeps it');
  server.expirer.leader = true;
  assert.equal(client.run('GET', 'gone'), '$-1\r\n');
  await new Promise((r) => setImmediate(r));
  assert(!db.data.has('gone'), 'the leader turned the lazy find into a deletion');
});
