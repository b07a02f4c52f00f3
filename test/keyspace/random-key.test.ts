import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Database } from '../../src/keyspace/database.js';
import { randomKey } from '../../src/keyspace/random-key.js';

const now = 1_000_000;
const none = (): void => {};

describe('randomKey', () => {
  test('null on an empty database, the key on a one-key database', () => {
    const db = new Database(0);
    assert.equal(randomKey(db, now, none), null);
    db.set('only', 'v');
    for (let i = 0; i < 5; i++) assert.equal(randomKey(db, now, none), 'only');
  });

  test('never returns an expired key, and reports those it passes', () => {
    const db = new Database(0);
    for (let i = 0; i < 1000; i++) db.set('k' + i, 'v', i < 990 ? now - 1 : undefined);
    const reported = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = randomKey(db, now, (key) => reported.add(key));
      assert.ok(k !== null && Number(k.slice(1)) >= 990, `got ${k}`);
    }
    assert.ok(reported.size > 0);
    for (const k of reported) assert.ok(db.isExpired(k, now));
  });

  test('null when every key has expired', () => {
    const db = new Database(0);
    for (let i = 0; i < 500; i++) db.set('k' + i, 'v', now);
    let reports = 0;
    assert.equal(randomKey(db, now, () => reports++), null);
    assert.ok(reports >= 500);
    assert.equal(randomKey(db, now - 1, none)?.startsWith('k'), true);
  });

  test('over many calls every key comes up about equally often', () => {
    const db = new Database(0);
    const n = 200;
    for (let i = 0; i < n; i++) db.set('k' + i, 'v');
    const counts = new Map<string, number>();
    const calls = 100_000;
    for (let i = 0; i < calls; i++) {
      const k = randomKey(db, now, none)!;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    assert.equal(counts.size, n);
    const mean = calls / n;
    for (const [k, c] of counts) assert.ok(c > mean * 0.6 && c < mean * 1.4, `${k}: ${c} vs mean ${mean}`);
  });

  test('cost per call does not grow with the database', () => {
    const db = new Database(0);
    for (let i = 0; i < 300_000; i++) db.set('k' + i, 'v');
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) randomKey(db, now, none);
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
  });

  test('follows a database emptied by a replaced Map', () => {
    const db = new Database(0);
    db.set('old', 'v');
    randomKey(db, now, none);
    db.guard = { beforeChange() {}, beforeClear() {} };
    db.clear();
    db.guard = null;
    assert.equal(randomKey(db, now, none), null);
    db.set('new', 'v');
    assert.equal(randomKey(db, now, none), 'new');
  });
});
