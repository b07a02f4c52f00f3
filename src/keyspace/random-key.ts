// RANDOMKEY without an O(n) pick: a JS Map has no random access, so each database keeps
// one persistent key iterator that every pick advances by a random 1..`stepMax` keys,
// wrapping at the end.
//
// Not uniform per call, unlike Redis's fair random bucket: over many calls every key is
// about equally likely (a random walk around a cycle), but consecutive picks are
// correlated — the next key lies at most `stepMax` places after the previous one in
// insertion order. Clients use RANDOMKEY to sample, not to draw lots, so we take O(1).
//
// Expired keys are skipped (and reported, so the leader reclaims them). Like Redis we
// first try a bounded number of picks; if every one had expired, we walk one full pass
// for a live key. That pass is O(n), as Redis's own loop is when nearly every key has
// expired unreclaimed, and it answers nil only when no live key exists.

import type { Database } from './database.js';

/** Most keys one pick advances over. */
const stepMax = 64;
/** Random picks before walking the database in order. */
const picksMax = 100;
/** Expired keys reported per call, bounding the deletion entry it causes. */
const expiredReportsMax = 10_000;

interface Walker {
  /** The Map walked: FLUSHDB during a snapshot gives the database a new one. */
  map: Map<string, unknown>;
  it: IterableIterator<string>;
}

const walkers = new WeakMap<Database, Walker>();

/**
 * A random live key of `db` at `now`, or null if none. `onExpired` hears of expired keys
 * passed over; `random` returns [0, 1) (injectable for tests).
 */
export function randomKey(
  db: Database,
  now: number,
  onExpired: (key: string) => void,
  random: () => number = Math.random,
): string | null {
  const size = db.data.size;
  if (size === 0) return null;
  const reach = Math.min(size, stepMax);
  let reported = 0;
  for (let pick = 0; pick < picksMax; pick++) {
    const key = advance(db, 1 + Math.floor(random() * reach));
    if (key === undefined) return null;
    if (!db.isExpired(key, now)) return key;
    if (reported++ < expiredReportsMax) onExpired(key);
  }
  for (let n = 0; n < size; n++) {
    const key = advance(db, 1);
    if (key === undefined) return null;
    if (!db.isExpired(key, now)) return key;
    if (reported++ < expiredReportsMax) onExpired(key);
  }
  return null;
}

/** Moves `db`'s walker `steps` keys on, wrapping; undefined once `db` is empty. */
function advance(db: Database, steps: number): string | undefined {
  let w = walkers.get(db);
  if (w === undefined || w.map !== db.data) walkers.set(db, (w = { map: db.data, it: db.data.keys() }));
  let key: string | undefined;
  while (steps > 0) {
    const r = w.it.next();
    if (r.done === true) {
      // onExpired may have emptied the database; never spin on an empty Map.
      if (db.data.size === 0) return undefined;
      w.map = db.data;
      w.it = db.data.keys();
      continue;
    }
    key = r.value;
    steps--;
  }
  return key;
}
