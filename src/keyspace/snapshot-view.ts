// A point-in-time view of the whole keyspace that can be read a little at a time while
// writes go on (Node has no fork(): this is our copy-on-write).
//
// While the view is open every Database calls `beforeChange` before it changes a key, and
// the view records the key's value and TTL from before the first change (its preimage).
// Reading walks each database's map with a live iterator and emits, for every key, the
// preimage if one was recorded, else the current value; keys created after the view
// opened have an "absent" preimage and are skipped; keys deleted before being reached
// are emitted from their preimage at the end. A key may be emitted twice (reached, then
// changed and deleted), always with the same value and TTL, so a loader that lets a later
// record win rebuilds exactly the state at the moment the view opened.

import assert from 'node:assert/strict';
import type { ChangeGuard, Database, Keyspace, StoredValue, Value } from './database.js';
import { resolveStored, type LazyValues } from './lazy-values.js';

/** A key's state when the view opened; null: it did not exist then. */
type Preimage = { readonly value: StoredValue; readonly expireAt: number | undefined } | null;

class DatabaseView {
  readonly pre = new Map<string, Preimage>();
  /** The maps as they were when the view opened (replaced, not mutated, by a later clear). */
  data: Map<string, StoredValue>;
  expires: Map<string, number>;
  /** The database was emptied: its old maps are immutable now, no more preimages needed. */
  frozen = false;
  it: IterableIterator<[string, StoredValue]>;
  /** Walking `pre` for keys deleted before being reached, after `it` is exhausted. */
  tail: IterableIterator<[string, Preimage]> | null = null;

  constructor(
    readonly index: number,
    readonly db: Database,
  ) {
    this.data = db.data;
    this.expires = db.expires;
    this.it = this.data.entries();
  }
}

/** Receives one record: database index (as of the moment the view opened), key, value, TTL. */
export type RecordSink = (db: number, key: string, value: Value, expireAt: number | undefined) => void;

export class KeyspaceSnapshot implements ChangeGuard {
  private readonly views: DatabaseView[] = [];
  private readonly byDb = new Map<Database, DatabaseView>();
  private current = 0;
  private released = false;
  /** Keys in the keyspace when the view opened (for progress reports). */
  readonly keysAtStart: number;
  /**
   * What LazyRefs in the maps and preimages refer to. Kept by the view: the keyspace may
   * drop it once its own maps hold none, while the view still reads old maps.
   */
  private readonly lazy: LazyValues | null;

  constructor(keyspace: Keyspace) {
    this.lazy = keyspace.lazy;
    let keys = 0;
    keyspace.dbs.forEach((db, i) => {
      assert.equal(db.guard, null, 'one snapshot at a time');
      const v = new DatabaseView(i, db);
      this.views.push(v);
      this.byDb.set(db, v);
      db.guard = this;
      keys += db.size;
    });
    this.keysAtStart = keys;
  }

  beforeChange(db: Database, key: string): void {
    const v = this.byDb.get(db)!;
    if (v.frozen || v.pre.has(key)) return;
    const value = v.data.get(key);
    v.pre.set(key, value === undefined ? null : { value, expireAt: v.expires.get(key) });
  }

  beforeClear(db: Database): void {
    this.byDb.get(db)!.frozen = true;
  }

  /** Emits up to `max` records; returns true when the whole keyspace has been emitted. */
  read(max: number, emit: RecordSink): boolean {
    assert(!this.released, 'snapshot view already released');
    let n = 0;
    while (this.current < this.views.length) {
      const v = this.views[this.current]!;
      if (v.tail === null) {
        while (n < max) {
          const r = v.it.next();
          if (r.done === true) {
            v.tail = v.pre.entries();
            break;
          }
          const key = r.value[0];
          const p = v.pre.get(key);
          if (p === undefined) emit(v.index, key, this.resolve(r.value[1]), v.expires.get(key));
          else if (p !== null) emit(v.index, key, this.resolve(p.value), p.expireAt);
          n++;
        }
        if (v.tail === null) return false;
      }
      while (n < max) {
        const r = v.tail.next();
        if (r.done === true) break;
        const [key, p] = r.value;
        if (p !== null && !v.data.has(key)) {
          emit(v.index, key, this.resolve(p.value), p.expireAt);
          n++;
        }
      }
      if (n >= max) return false;
      this.current++;
    }
    return true;
  }

  private resolve(v: StoredValue): Value {
    return resolveStored(this.lazy, v);
  }

  /** Stops recording preimages; must be called when done or abandoned. */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const v of this.views) if (v.db.guard === this) v.db.guard = null;
  }
}
