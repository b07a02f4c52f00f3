// Values loaded from a snapshot by reference (keyspace/lazy-values.ts): reads make them
// strings, the background pass makes the rest, and nothing a map or a snapshot view
// holds ever points at bytes the keyspace has let go.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Keyspace, type Database } from '../../src/keyspace/database.js';
import { LazyValues } from '../../src/keyspace/lazy-values.js';
import { KeyspaceSnapshot } from '../../src/keyspace/snapshot-view.js';
import { encodeRecord, loadRecord } from '../../src/keyspace/snapshot-codec.js';

const now = 1_000_000;

interface Loaded {
  db: number;
  key: string;
  value: string;
  expireAt?: number;
}

/** Loads records the way a snapshot load does: one buffer, values referred to in place. */
function load(ks: Keyspace, records: readonly Loaded[]): void {
  const encoded = records.map((r) => encodeRecord(r.db, r.key, r.value, r.expireAt));
  const buf = Buffer.concat(encoded);
  let off = 0;
  for (const e of encoded) {
    loadRecord(ks, buf, off, off + e.length);
    off += e.length;
  }
}

/** Every value with a byte 0–255 somewhere, of lengths around the short-string cut-over. */
function records(db: number, n: number, prefix = 'k'): Loaded[] {
  const out: Loaded[] = [];
  for (let i = 0; i < n; i++) {
    let value = '';
    for (let j = 0; j < i % 40; j++) value += String.fromCharCode((i * 7 + j * 31) & 0xff);
    out.push({ db, key: `${prefix}${i}`, value });
  }
  return out;
}

/** Raw map contents: anything not a string is a reference still held. */
function refsLeft(ks: Keyspace): number {
  let n = 0;
  for (const db of ks.dbs) for (const v of db.data.values()) if (typeof v !== 'string') n++;
  return n;
}

function materializeAll(ks: Keyspace, perStep: number): number {
  let steps = 1;
  while (!ks.materializeSome(perStep)) steps++;
  return steps;
}

function contents(db: Database): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of db.data) out.set(k, db.resolve(v));
  return out;
}

describe('values loaded by reference', () => {
  test('read back byte for byte, with their TTLs; a read keeps the string it made', () => {
    const ks = new Keyspace();
    const recs = [...records(0, 100), { db: 0, key: 'ttl', value: 'x'.repeat(300), expireAt: now + 5 }, { db: 7, key: 'empty', value: '' }];
    load(ks, recs);
    assert.notEqual(ks.lazy, null);
    assert.equal(refsLeft(ks), recs.length, 'nothing was made a string while loading');
    for (const r of recs) {
      const db = ks.db(r.db);
      assert.equal(db.get(r.key, now), r.value, r.key);
      assert.equal(typeof db.data.get(r.key), 'string', `${r.key} is a string after its first read`);
      assert.equal(db.expireAt(r.key), r.expireAt);
    }
    assert.equal(refsLeft(ks), 0);
  });

  test('getForWrite reads them too, and still removes an expired one', () => {
    const ks = new Keyspace();
    load(ks, [
      { db: 0, key: 'live', value: 'value-of-live' },
      { db: 0, key: 'dead', value: 'value-of-dead', expireAt: now - 1 },
    ]);
    const db = ks.db(0);
    assert.equal(db.getForWrite('live', now), 'value-of-live');
    assert.equal(db.getForWrite('dead', now), undefined);
    assert.equal(db.data.has('dead'), false);
  });

  test('liveForWrite tests existence without making the string, and removes an expired key', () => {
    const ks = new Keyspace();
    load(ks, [
      { db: 0, key: 'live', value: 'value-of-live', expireAt: now + 5 },
      { db: 0, key: 'dead', value: 'value-of-dead', expireAt: now - 1 },
    ]);
    const db = ks.db(0);
    assert.equal(db.liveForWrite('live', now), true);
    assert.equal(typeof db.data.get('live'), 'number', 'still a reference');
    assert.equal(db.liveForWrite('dead', now), false);
    assert.equal(db.data.has('dead'), false);
    assert.equal(db.liveForWrite('never', now), false);
    assert.equal(db.get('live', now), 'value-of-live');
  });

  test('a later record for the same key replaces the earlier one', () => {
    const ks = new Keyspace();
    load(ks, [
      { db: 0, key: 'k', value: 'first', expireAt: now + 100 },
      { db: 0, key: 'k', value: 'second' },
    ]);
    assert.equal(ks.db(0).get('k', now), 'second');
    assert.equal(ks.db(0).expireAt('k'), undefined);
  });

  test('the background pass makes every value a string in bounded steps, then lets the buffers go', () => {
    const ks = new Keyspace();
    const recs = [...records(0, 3000), ...records(3, 2000), ...records(15, 1000)];
    load(ks, recs);
    const steps = materializeAll(ks, 500);
    assert.ok(steps >= 12, `${recs.length} values at 500 per step took ${steps} steps`);
    assert.equal(ks.lazy, null);
    for (const db of ks.dbs) assert.equal(db.lazy, null);
    assert.equal(refsLeft(ks), 0);
    for (const r of recs) assert.equal(ks.db(r.db).get(r.key, now), r.value);
    assert.equal(ks.materializeSome(10), true, 'nothing left to do');
  });

  test('a pass finishes correctly across SWAPDB, FLUSHDB, overwrites and deletions between its steps', () => {
    const ks = new Keyspace();
    load(ks, [...records(0, 400), ...records(1, 400), ...records(5, 400), ...records(9, 400)]);
    const expected = ks.dbs.map((db) => contents(db));
    assert.equal(ks.materializeSome(300), false);
    ks.swap(0, 5);
    [expected[0], expected[5]] = [expected[5]!, expected[0]!];
    assert.equal(ks.materializeSome(300), false);
    ks.db(1).set('k1', 'overwritten');
    expected[1]!.set('k1', 'overwritten');
    ks.db(9).delete('k2');
    expected[9]!.delete('k2');
    ks.swap(9, 1);
    [expected[9], expected[1]] = [expected[1]!, expected[9]!];
    ks.db(5).clear();
    expected[5]!.clear();
    materializeAll(ks, 97);
    assert.equal(ks.lazy, null);
    assert.equal(refsLeft(ks), 0);
    ks.dbs.forEach((db, i) => assert.deepEqual(contents(db), expected[i], `database ${i}`));
  });

  test('a load during a pass starts the pass over, so databases it already walked are walked again', () => {
    const ks = new Keyspace();
    load(ks, records(0, 100));
    load(ks, records(2, 2000));
    // Past database 0, into database 2.
    assert.equal(ks.materializeSome(500), false);
    load(ks, records(0, 100, 'late'));
    materializeAll(ks, 500);
    assert.equal(refsLeft(ks), 0);
    assert.equal(ks.db(0).get('late7', now), records(0, 100, 'late')[7]!.value);
  });

  test('FLUSHALL lets the loaded values go at once', () => {
    const ks = new Keyspace();
    load(ks, records(4, 100));
    ks.flushAll();
    assert.equal(ks.lazy, null);
    assert.equal(ks.materializeSome(1), true);
  });

  test('a snapshot view opened before they were made strings writes them, even after the keyspace let them go', () => {
    const ks = new Keyspace();
    const recs = [...records(0, 1500), ...records(2, 500)];
    load(ks, recs);
    const view = new KeyspaceSnapshot(ks);
    const seen = new Map<string, string>();
    const emit = (db: number, key: string, value: string): void => {
      seen.set(`${db}|${key}`, value);
    };
    assert.equal(view.read(200, emit), false);
    // Preimages taken while values are references; then every map is emptied, the
    // keyspace drops its LazyValues, and the view goes on over the old maps.
    ks.db(0).set('k1000', 'changed after the view opened');
    ks.db(0).delete('k1001');
    ks.db(2).get('k3', now);
    ks.flushAll();
    assert.equal(ks.lazy, null);
    load(ks, records(0, 50, 'new'));
    materializeAll(ks, 10);
    while (!view.read(100, emit));
    view.release();
    assert.equal(seen.size, recs.length);
    for (const r of recs) assert.equal(seen.get(`${r.db}|${r.key}`), r.value, r.key);
  });
});

describe('LazyValues', () => {
  test('refuses a slot it never handed out', () => {
    const lv = new LazyValues();
    const slot = lv.add(Buffer.from('abc'), 0, 3);
    assert.equal(lv.string(slot), 'abc');
    assert.throws(() => lv.string(slot + 1), RangeError);
    assert.throws(() => lv.string(-1), RangeError);
  });

  test('grows past its first tables and keeps every slot', () => {
    const lv = new LazyValues();
    const buf = Buffer.from('0123456789');
    const slots: number[] = [];
    for (let i = 0; i < 5000; i++) slots.push(lv.add(i % 2 === 0 ? buf : Buffer.from(buf), i % 10, 10));
    assert.equal(lv.count, 5000);
    slots.forEach((s, i) => assert.equal(lv.string(s), '0123456789'.slice(i % 10)));
  });
});
