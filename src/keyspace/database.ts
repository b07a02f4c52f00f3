// One logical database (Redis's SELECT 0..15): keys to values, plus absolute expiry times.
//
// Keys and values are latin1 strings (one char per byte, binary-safe, and a fast Map key);
// a value loaded from a snapshot may be held as a reference to its bytes until first read
// (lazy-values.ts), which get/getForWrite hide.
// Expiry times live in a second map, as in Redis's `expires` dict, so keys without a TTL
// cost nothing extra.
//
// Time is always passed in. Two views of expiry exist on purpose (DESIGN.md, Determinism):
// - `get`/`has` answer a logically expired key as missing but never remove it. Reads use
//   them with the local clock; only the leader may turn what it sees into a deletion.
// - `getForWrite` removes a key that is expired at `now`. It is called only while applying
//   a log entry, with the entry's own timestamp, so every replica removes the same keys at
//   the same point of the log.

import { latin1 } from '../protocol/latin1.js';
import { LazyValues, resolveStored, type LazyRef } from './lazy-values.js';

/** A stored value. Strings only for now; other types will widen this union. */
export type Value = string;

/** What a database's map holds: a value, or a value of a loaded snapshot not yet read (lazy-values.ts). */
export type StoredValue = Value | LazyRef;

/**
 * Told before a key's value or TTL changes, and before a database is emptied, while a
 * snapshot is being taken incrementally (copy-on-write: see snapshot-view.ts).
 */
export interface ChangeGuard {
  beforeChange(db: Database, key: string): void;
  /** The database is about to get new, empty maps; the old ones are never mutated again. */
  beforeClear(db: Database): void;
}

export class Database {
  /** Index in the keyspace; changes when SWAPDB exchanges two databases. */
  id: number;
  /**
   * Replaced (not cleared) by `clear` while a snapshot guard holds the old contents.
   * Read values through get/getForWrite or `resolve`: a number here is a LazyRef.
   */
  data = new Map<string, StoredValue>();
  /** Absolute expiry, Unix milliseconds, for keys that have one. */
  expires = new Map<string, number>();
  /** Set while a snapshot is taken; every mutator calls it first. */
  guard: ChangeGuard | null = null;
  /** Where this map's LazyRefs point; the Keyspace sets it on every database alike. */
  lazy: LazyValues | null = null;

  constructor(id: number) {
    this.id = id;
  }

  /** Number of keys stored, including expired ones not yet reclaimed (as Redis's DBSIZE). */
  get size(): number {
    return this.data.size;
  }

  isExpired(key: string, now: number): boolean {
    const at = this.expires.get(key);
    return at !== undefined && at <= now;
  }

  /**
   * Read view: the value, or undefined if absent or expired at `now`. Never changes what is
   * stored (a value loaded by reference is kept as the string made for this read).
   */
  get(key: string, now: number): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) return undefined;
    return typeof v === 'number' ? this.materialize(key, v) : v;
  }

  has(key: string, now: number): boolean {
    return this.get(key, now) !== undefined;
  }

  /** Apply view: like `get`, but physically removes a key that is expired at `now`. */
  getForWrite(key: string, now: number): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) {
      this.delete(key);
      return undefined;
    }
    return typeof v === 'number' ? this.materialize(key, v) : v;
  }

  /**
   * Apply view of existence: like getForWrite (an expired key is removed), without
   * reading the value, so a value loaded by reference is not made a string for nothing.
   */
  liveForWrite(key: string, now: number): boolean {
    if (!this.data.has(key)) return false;
    if (this.expires.size !== 0 && this.isExpired(key, now)) {
      this.delete(key);
      return false;
    }
    return true;
  }

  /** A value as read from `data` (or a snapshot's copy of it), made a string if it is a LazyRef. */
  resolve(v: StoredValue): Value {
    return resolveStored(this.lazy, v);
  }

  /**
   * Replaces a LazyRef by its string. Not a change of the key's value, so no guard call:
   * a snapshot reading this key sees the same bytes either way.
   */
  materialize(key: string, ref: LazyRef): Value {
    const s = this.resolve(ref);
    this.data.set(key, s);
    return s;
  }

  /** Stores a value of a snapshot being loaded, by reference when the keyspace allows (loadLazy). */
  setLoaded(key: string, value: StoredValue, expireAt: number | undefined): void {
    if (this.guard !== null) this.guard.beforeChange(this, key);
    this.data.set(key, value);
    if (expireAt !== undefined) this.expires.set(key, expireAt);
    else if (this.expires.size !== 0) this.expires.delete(key);
  }

  /**
   * Stores a value. `expireAt` undefined clears any TTL unless `keepTtl` is set; a number
   * sets it. Callers have already removed an expired previous value via getForWrite.
   */
  set(key: string, value: Value, expireAt?: number, keepTtl = false): void {
    if (this.guard !== null) this.guard.beforeChange(this, key);
    this.data.set(key, value);
    if (expireAt !== undefined) this.expires.set(key, expireAt);
    else if (!keepTtl && this.expires.size !== 0) this.expires.delete(key);
  }

  /** Removes a key (expired or not); true if it was stored. */
  delete(key: string): boolean {
    if (this.guard !== null) this.guard.beforeChange(this, key);
    if (!this.data.delete(key)) return false;
    if (this.expires.size !== 0) this.expires.delete(key);
    return true;
  }

  /** The absolute expiry of a stored key, or undefined if it has none. */
  expireAt(key: string): number | undefined {
    return this.expires.size === 0 ? undefined : this.expires.get(key);
  }

  setExpire(key: string, at: number): void {
    if (this.guard !== null) this.guard.beforeChange(this, key);
    this.expires.set(key, at);
  }

  /** Removes a TTL; true if there was one. */
  persist(key: string): boolean {
    if (this.guard !== null) this.guard.beforeChange(this, key);
    return this.expires.delete(key);
  }

  clear(): void {
    if (this.guard !== null) {
      // O(1) for a snapshot in progress: it keeps reading the old maps.
      this.guard.beforeClear(this);
      this.data = new Map();
      this.expires = new Map();
      return;
    }
    this.data.clear();
    this.expires.clear();
  }

}

/** The 16 databases of a node (Redis's default `databases 16`). */
export class Keyspace {
  readonly dbs: Database[];
  /** Keys removed because their TTL passed (INFO expired_keys); changed only by applying entries. */
  expiredKeys = 0;
  /** Values of loaded snapshots not yet all made strings; null once none are left. */
  private lazyValues: LazyValues | null = null;
  private pass: MaterializePass | null = null;

  constructor(count = 16) {
    this.dbs = [];
    for (let i = 0; i < count; i++) this.dbs.push(new Database(i));
  }

  db(index: number): Database {
    const d = this.dbs[index];
    if (d === undefined) throw new RangeError(`no database ${index}`);
    return d;
  }

  /** Total keys across databases. */
  get size(): number {
    let n = 0;
    for (const d of this.dbs) n += d.size;
    return n;
  }

  /** SWAPDB: O(1), clients address databases by index and look them up per command. */
  swap(a: number, b: number): void {
    const da = this.db(a);
    const dbb = this.db(b);
    this.dbs[a] = dbb;
    this.dbs[b] = da;
    dbb.id = a;
    da.id = b;
  }

  flushAll(): void {
    for (const d of this.dbs) d.clear();
    // No map holds a LazyRef now; a snapshot being written keeps its own LazyValues.
    this.setLazy(null);
  }

  /** The LazyValues loaded values refer to, while some may be left (a snapshot view keeps it). */
  get lazy(): LazyValues | null {
    return this.lazyValues;
  }

  /**
   * Stores a value of a snapshot being loaded: `buf[start, end)` by reference (its bytes
   * must never change), read into a string on first use or by materializeSome.
   */
  loadLazy(db: number, key: string, buf: Buffer, start: number, end: number, expireAt: number | undefined): void {
    let lazy = this.lazyValues;
    if (lazy === null) this.setLazy((lazy = new LazyValues()));
    const d = this.db(db);
    d.setLoaded(key, lazy.full ? latin1(buf, start, end) : lazy.add(buf, start, end), expireAt);
  }

  /**
   * Makes strings of up to `max` loaded values (the caller spreads this over event-loop
   * turns). True when none are left, and the loaded buffers have been let go.
   *
   * A pass visits every database object (by identity: SWAPDB may move them meanwhile) and
   * every key of its current map. A pass during which nothing was loaded and that found
   * every value a string proves that no map holds a LazyRef: only loading makes them.
   */
  materializeSome(max: number): boolean {
    const lazy = this.lazyValues;
    if (lazy === null) return true;
    let pass = this.pass;
    if (pass === null || pass.slots !== lazy.count) pass = this.pass = new MaterializePass(lazy.count);
    let n = 0;
    while (n < max) {
      if (pass.db === null || pass.map !== pass.db.data) {
        const next = pass.db ?? this.dbs.find((d) => !pass!.visited.has(d));
        if (next === undefined) {
          this.setLazy(null);
          return true;
        }
        pass.begin(next);
      }
      const db = pass.db!;
      const r = pass.it!.next();
      if (r.done === true) {
        pass.visited.add(db);
        pass.db = null;
        continue;
      }
      if (typeof r.value[1] === 'number') db.materialize(r.value[0], r.value[1]);
      n++;
    }
    return false;
  }

  private setLazy(lazy: LazyValues | null): void {
    this.lazyValues = lazy;
    this.pass = null;
    for (const d of this.dbs) d.lazy = lazy;
  }
}

/** Where Keyspace.materializeSome is: databases done, and the one being walked. */
class MaterializePass {
  readonly visited = new Set<Database>();
  db: Database | null = null;
  map: Map<string, StoredValue> | null = null;
  it: IterableIterator<[string, StoredValue]> | null = null;

  /** `slots`: the LazyValues' count when the pass began. */
  constructor(readonly slots: number) {}

  begin(db: Database): void {
    this.db = db;
    this.map = db.data;
    this.it = db.data.entries();
  }
}
