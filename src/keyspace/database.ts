// One logical database (Redis's SELECT 0..15): keys to values, plus absolute expiry times.
//
// Keys and values are latin1 strings (one char per byte, binary-safe, and a fast Map key).
// Expiry times live in a second map, as in Redis's `expires` dict, so keys without a TTL
// cost nothing extra.
//
// Time is always passed in. Two views of expiry exist on purpose (DESIGN.md, Determinism):
// - `get`/`has` answer a logically expired key as missing but never remove it. Reads use
//   them with the local clock; only the leader may turn what it sees into a deletion.
// - `getForWrite` removes a key that is expired at `now`. It is called only while applying
//   a log entry, with the entry's own timestamp, so every replica removes the same keys at
//   the same point of the log.

/** A stored value. Strings only for now; other types will widen this union. */
export type Value = string;

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
  /** Replaced (not cleared) by `clear` while a snapshot guard holds the old contents. */
  data = new Map<string, Value>();
  /** Absolute expiry, Unix milliseconds, for keys that have one. */
  expires = new Map<string, number>();
  /** Set while a snapshot is taken; every mutator calls it first. */
  guard: ChangeGuard | null = null;

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

  /** Read view: the value, or undefined if absent or expired at `now`. Never mutates. */
  get(key: string, now: number): Value | undefined {
    const v = this.data.get(key);
    if (v === undefined) return undefined;
    if (this.expires.size !== 0 && this.isExpired(key, now)) return undefined;
    return v;
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
    return v;
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
  }
}
