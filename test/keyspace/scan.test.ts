import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Keyspace, type Database } from '../../src/keyspace/database.js';
import { fallbackSkipPerCallMax, forgetScanCursors, parseCursor, scanCursorsMax, scanStep } from '../../src/keyspace/scan.js';

/** Runs one step and returns [next cursor, keys visited]. */
function step(ks: Keyspace, db: Database, cursor: bigint, count: number): [bigint, string[]] {
  const seen: string[] = [];
  const next = scanStep(ks, db, cursor, count, (k) => seen.push(k));
  return [next, seen];
}

/** Scans to the end with no interference; returns every key visited, in order. */
function fullScan(ks: Keyspace, db: Database, count: number): string[] {
  const all: string[] = [];
  let cursor = 0n;
  let calls = 0;
  do {
    const [next, seen] = step(ks, db, cursor, count);
    all.push(...seen);
    cursor = next;
    assert.ok(++calls < 1_000_000, 'scan did not terminate');
  } while (cursor !== 0n);
  return all;
}

function fill(db: Database, n: number, prefix = 'k'): void {
  for (let i = 0; i < n; i++) db.set(prefix + i, 'v');
}

describe('parseCursor', () => {
  test('accepts what strtoul accepts, within 64 bits', () => {
    assert.equal(parseCursor('0'), 0n);
    assert.equal(parseCursor(''), 0n);
    assert.equal(parseCursor('007'), 7n);
    assert.equal(parseCursor('+5'), 5n);
    assert.equal(parseCursor('18446744073709551615'), 18446744073709551615n);
    assert.equal(parseCursor('-1'), 18446744073709551615n);
    assert.equal(parseCursor('-0'), 0n);
  });

  test('rejects spaces, junk and values beyond 64 bits', () => {
    for (const bad of [' 1', '1 ', 'x', '1x', '+', '-', '18446744073709551616', '0x10', '1.5']) {
      assert.equal(parseCursor(bad), null, bad);
    }
  });
});

describe('scanStep', () => {
  test('an empty database ends at once', () => {
    const ks = new Keyspace(1);
    assert.deepEqual(step(ks, ks.db(0), 0n, 10), [0n, []]);
  });

  test('visits every key exactly once, COUNT keys per call', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 95);
    const [first, seen] = step(ks, db, 0n, 10);
    assert.notEqual(first, 0n);
    assert.equal(seen.length, 10);
    const all = fullScan(ks, db, 10);
    assert.equal(all.length, 95);
    assert.equal(new Set(all).size, 95);
  });

  test('cursors are unsigned 64-bit and differ between concurrent scans', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 100);
    const [a] = step(ks, db, 0n, 10);
    const [b] = step(ks, db, 0n, 10);
    assert.notEqual(a, b);
    for (const c of [a, b]) assert.ok(c > 0n && c < 1n << 64n);
    // Both scans continue independently.
    const [, fromA] = step(ks, db, a, 5);
    const [, fromB] = step(ks, db, b, 5);
    assert.deepEqual(fromA, fromB);
  });

  test('reusing a consumed cursor resumes from its position', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 50);
    const [c1] = step(ks, db, 0n, 10);
    const [, once] = step(ks, db, c1, 10);
    const [, again] = step(ks, db, c1, 10);
    assert.deepEqual(again, once);
  });

  test('an evicted cursor falls back to its position without losing keys', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 1000);
    const all: string[] = [];
    let cursor = 0n;
    do {
      const [next, seen] = step(ks, db, cursor, 37);
      all.push(...seen);
      cursor = next;
      forgetScanCursors(ks);
      db.set('new' + all.length, 'v'); // insertions never shift earlier positions
    } while (cursor !== 0n);
    for (let i = 0; i < 1000; i++) assert.ok(all.includes('k' + i), `k${i} missed`);
  });

  test('the least recently used scans are forgotten beyond the cache bound', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 100);
    const [oldest] = step(ks, db, 0n, 1);
    for (let i = 0; i < scanCursorsMax; i++) step(ks, db, 0n, 1);
    // Forgotten, yet resumes by position: key 1 comes next.
    db.delete('k0');
    const [, seen] = step(ks, db, oldest, 1);
    assert.deepEqual(seen, ['k2'], 'position 1 after deleting k0 lands on k2 (documented miss)');
  });

  test('a far fallback skips at most a bounded number of keys per call', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    const max = fallbackSkipPerCallMax;
    fill(db, 3 * max + 10);
    let cursor = 0n;
    for (let i = 0; i < 3; i++) cursor = step(ks, db, cursor, max)[0];
    forgetScanCursors(ks);
    const [c1, none1] = step(ks, db, cursor, 10);
    const [c2, none2] = step(ks, db, c1, 10);
    assert.deepEqual([none1, none2], [[], []]);
    assert.ok(c1 !== 0n && c2 !== 0n);
    const [c3, caughtUp] = step(ks, db, c2, 10);
    assert.deepEqual(caughtUp, Array.from({ length: 10 }, (_, i) => 'k' + (3 * max + i)));
    assert.equal(step(ks, db, c3, 10)[0], 0n);
  });

  test('a scan on a database emptied by a replaced Map does not see old keys', () => {
    const ks = new Keyspace(1);
    const db = ks.db(0);
    fill(db, 30);
    const [c] = step(ks, db, 0n, 10);
    db.guard = { beforeChange() {}, beforeClear() {} };
    db.clear();
    db.guard = null;
    db.set('fresh', 'v');
    const rest: string[] = [];
    let cursor = c;
    while (cursor !== 0n) {
      const [next, seen] = step(ks, db, cursor, 10);
      rest.push(...seen);
      cursor = next;
    }
    assert.ok(rest.every((k) => k === 'fresh'));
  });

  const keyArb = fc.oneof(
    fc.integer({ min: 0, max: 400 }).map((n) => 'k' + n),
    fc.string({ unit: 'binary-ascii', minLength: 0, maxLength: 6 }),
  );
  const opArb = fc.record({ insert: fc.boolean(), key: keyArb });

  test('property: keys present throughout a scan are all returned, and the scan ends', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(keyArb, { maxLength: 300 }),
        fc.array(fc.array(opArb, { maxLength: 8 }), { maxLength: 80 }),
        fc.integer({ min: 1, max: 25 }),
        fc.boolean(),
        (initial, batches, count, evict) => {
          const ks = new Keyspace(1);
          const db = ks.db(0);
          for (const k of initial) db.set(k, 'v');
          const touched = new Set<string>();
          const returned = new Set<string>();
          let cursor = 0n;
          let calls = 0;
          do {
            const [next, seen] = step(ks, db, cursor, count);
            for (const k of seen) returned.add(k);
            cursor = next;
            for (const op of batches[calls] ?? []) {
              // With a forgotten iterator only insertions are safe (documented).
              if (op.insert || evict) db.set(op.key, 'v');
              else db.delete(op.key);
              if (!op.insert && !evict) touched.add(op.key);
            }
            if (evict && calls % 3 === 1) forgetScanCursors(ks);
            calls++;
            assert.ok(calls < 2000, 'scan did not terminate');
          } while (cursor !== 0n);
          for (const k of initial) if (!touched.has(k)) assert.ok(returned.has(k), `missed ${JSON.stringify(k)}`);
        },
      ),
      { numRuns: 300 },
    );
  });
});
