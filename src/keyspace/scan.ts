// SCAN's cursor over a database's Map, with Redis's guarantee: a key present for the
// whole scan is returned at least once, and each call costs O(COUNT).
//
// A JS Map iterator is live: it skips entries deleted before it reaches them, visits
// entries added during the scan (they go to the end), and never visits an entry twice.
// So a scan keeps its iterator between calls, in a bounded LRU keyed by the cursor it
// handed out; with the iterator found, every key present throughout is returned exactly
// once (a key deleted and re-added moves to the end and may be returned again).
//
// A cursor is an unsigned 64-bit number: the scan's position (keys examined so far) in
// the high bits, a random tag in the low `tagBits` so concurrent scans at the same
// position get different cursors. 0 starts and ends a scan. When the iterator is gone
// (evicted, the node restarted, or the client moved to another node), the scan resumes
// by skipping `position` keys from the start, at most `fallbackSkipPerCallMax` per call
// (a call that has not caught up returns no keys and a cursor further on). Keys are
// inserted at the end of the Map, so insertions never shift earlier positions; only keys
// deleted (including expired ones reclaimed) before the position meanwhile make the skip
// land too far, and only then may keys be missed. Replicas apply the same log, so their
// Maps share one order and a cursor carries over between nodes on the same terms.
//
// Cost of the cache: a cached iterator keeps its Map's storage reachable as of its last
// step (V8 moves it to the new table lazily), so the cache is bounded by count.

import assert from 'node:assert/strict';
import type { Database, Keyspace } from './database.js';

/** Live scans remembered per keyspace; the least recently used is forgotten first. */
export const scanCursorsMax = 1024;
/** Keys skipped per call when resuming a forgotten scan by position. */
export const fallbackSkipPerCallMax = 65_536;

const tagBits = 24n;
const tagMask = (1n << tagBits) - 1n;
/** Positions must leave room for the tag in 64 bits. */
const positionMax = 2 ** (64 - Number(tagBits)) - 1;
const cursorMax = (1n << 64n) - 1n;

interface ScanState {
  readonly db: Database;
  /** The Map iterated: FLUSHDB during a snapshot gives the database a new one. */
  readonly map: Map<string, unknown>;
  readonly it: IterableIterator<string>;
  /** Keys this iterator has yielded. */
  pos: number;
  /** Position the scan resumes at; above `pos` only while catching up after a lost iterator. */
  target: number;
}

class ScanCursors {
  /** Insertion order is recency order: a used state is removed, then re-added. */
  private readonly live = new Map<bigint, ScanState>();

  take(cursor: bigint, db: Database): ScanState | undefined {
    const state = this.live.get(cursor);
    if (state === undefined) return undefined;
    this.live.delete(cursor);
    // After SWAPDB, or on a replaced Map, the iterator walks other data: keep the position only.
    return state.db === db && state.map === db.data ? state : undefined;
  }

  /** Remembers `state` and returns the fresh cursor that finds it again. */
  put(state: ScanState): bigint {
    assert(state.target <= positionMax, 'scan position exceeds the cursor space');
    const high = BigInt(state.target) << tagBits;
    let cursor: bigint;
    do cursor = high | BigInt(1 + Math.floor(Math.random() * Number(tagMask)));
    while (this.live.has(cursor));
    this.live.set(cursor, state);
    if (this.live.size > scanCursorsMax) this.live.delete(this.live.keys().next().value!);
    return cursor;
  }

  clear(): void {
    this.live.clear();
  }
}

const cursorsByKeyspace = new WeakMap<Keyspace, ScanCursors>();

function cursorsOf(keyspace: Keyspace): ScanCursors {
  let c = cursorsByKeyspace.get(keyspace);
  if (c === undefined) cursorsByKeyspace.set(keyspace, (c = new ScanCursors()));
  return c;
}

/** Forgets every live scan of `keyspace` (tests of the fallback; memory pressure). */
export function forgetScanCursors(keyspace: Keyspace): void {
  cursorsOf(keyspace).clear();
}

/**
 * Parses a cursor as Redis does with strtoul: optional sign, decimal digits, nothing else;
 * a leading space or a value beyond 64 bits is invalid; a negative value wraps; the empty
 * string is 0. Returns null when invalid.
 */
export function parseCursor(text: string): bigint | null {
  if (text.length === 0) return 0n;
  if (!/^[+-]?[0-9]+$/.test(text)) return null;
  const negative = text.charCodeAt(0) === 45;
  const magnitude = BigInt(negative || text.charCodeAt(0) === 43 ? text.slice(1) : text);
  if (magnitude > cursorMax) return null;
  return negative ? (cursorMax + 1n - magnitude) & cursorMax : magnitude;
}

/**
 * One SCAN step over `db` from `cursor`: calls `visit` for up to `count` stored keys
 * (expired ones included; the caller filters) and returns the next cursor, 0 when done.
 */
export function scanStep(keyspace: Keyspace, db: Database, cursor: bigint, count: number, visit: (key: string) => void): bigint {
  const cursors = cursorsOf(keyspace);
  let state = cursor === 0n ? undefined : cursors.take(cursor, db);
  if (state === undefined) {
    const target = cursor === 0n ? 0 : Number(cursor >> tagBits);
    state = { db, map: db.data, it: db.data.keys(), pos: 0, target };
  }
  if (state.pos < state.target) {
    if (!skip(state)) return 0n;
    if (state.pos < state.target) return cursors.put(state);
  }
  for (let n = 0; n < count; n++) {
    const r = state.it.next();
    if (r.done === true) return 0n;
    state.pos++;
    visit(r.value);
  }
  state.target = state.pos;
  return cursors.put(state);
}

/** Advances a resumed scan toward its position within the per-call budget; false at the end. */
function skip(state: ScanState): boolean {
  const stop = Math.min(state.target, state.pos + fallbackSkipPerCallMax);
  while (state.pos < stop) {
    if (state.it.next().done === true) return false;
    state.pos++;
  }
  return true;
}
