// Active expiry: reclaims keys whose TTL passed even if nobody reads them again.
//
// Modelled on Redis's activeExpireCycle: each cycle walks the `expires` map of each
// database with a cursor that persists across cycles, checks a bounded number of keys,
// and keeps going in the same database while more than a tenth of the sampled keys were
// expired — all within a time budget. It only *finds* expired keys; the caller (the
// leader) turns them into logged deletions, so replicas stay identical.

import type { Database, Keyspace } from './database.js';

export interface ActiveExpireOptions {
  /** Keys checked per sampling loop (Redis: 20 × effort scaling). */
  keysPerLoop: number;
  /** Stop sampling a database when fewer than this percentage of samples were expired. */
  acceptableStalePercent: number;
  /** Most keys reported per cycle, bounding the size of one deletion proposal. */
  maxKeysPerCycle: number;
}

export function activeExpireOptions(effort: number): ActiveExpireOptions {
  const e = Math.min(Math.max(effort, 1), 10) - 1;
  return {
    keysPerLoop: 20 + 5 * e,
    acceptableStalePercent: 10 - e,
    maxKeysPerCycle: 10_000,
  };
}

export class ActiveExpirer {
  /** One live iterator per database object; Map iterators survive insertions and deletions. */
  private readonly cursors = new Map<Database, { map: Map<string, number>; it: IterableIterator<[string, number]> }>();
  private nextDb = 0;

  constructor(private readonly keyspace: Keyspace) {}

  /**
   * Runs one cycle: returns expired keys found, per database, within `budgetMs` of
   * `clockMs()` time. `now` is the expiry reference time.
   */
  cycle(now: number, budgetMs: number, opts: ActiveExpireOptions, clockMs: () => number): Map<Database, string[]> {
    const found = new Map<Database, string[]>();
    const start = clockMs();
    const dbs = this.keyspace.dbs;
    let total = 0;
    for (let n = 0; n < dbs.length; n++) {
      const db = dbs[(this.nextDb + n) % dbs.length]!;
      if (db.expires.size === 0) continue;
      for (;;) {
        let sampled = 0;
        let expired = 0;
        const batch = this.sample(db, now, opts.keysPerLoop);
        sampled = batch.sampled;
        if (batch.keys.length > 0) {
          expired = batch.keys.length;
          let list = found.get(db);
          if (list === undefined) found.set(db, (list = []));
          for (const k of batch.keys) list.push(k);
          total += expired;
        }
        if (total >= opts.maxKeysPerCycle) {
          this.nextDb = (this.nextDb + n) % dbs.length;
          return found;
        }
        if (sampled === 0 || (expired * 100) / sampled <= opts.acceptableStalePercent) break;
        if (clockMs() - start >= budgetMs) {
          this.nextDb = (this.nextDb + n) % dbs.length;
          return found;
        }
      }
    }
    this.nextDb = (this.nextDb + 1) % dbs.length;
    return found;
  }

  private sample(db: Database, now: number, count: number): { sampled: number; keys: string[] } {
    let cursor = this.cursors.get(db);
    // A database emptied during a snapshot gets new maps (database.ts): start over on those.
    if (cursor === undefined || cursor.map !== db.expires) {
      cursor = { map: db.expires, it: db.expires.entries() };
      this.cursors.set(db, cursor);
    }
    let it = cursor.it;
    const keys: string[] = [];
    let sampled = 0;
    let wrapped = false;
    // Never more than the map holds, so one sample cannot visit a key twice.
    count = Math.min(count, db.expires.size);
    while (sampled < count) {
      const r = it.next();
      if (r.done === true) {
        // End of the map: start a new pass next time, and never loop twice in one sample.
        it = db.expires.entries();
        cursor.it = it;
        if (wrapped || db.expires.size === 0) break;
        wrapped = true;
        continue;
      }
      sampled++;
      if (r.value[1] <= now) keys.push(r.value[0]);
    }
    return { sampled, keys };
  }

  /** Forgets cursors (after FLUSHALL or a snapshot load replaced contents). */
  reset(): void {
    this.cursors.clear();
  }
}
