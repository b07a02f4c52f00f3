// Is one key's register history linearizable? Wing & Gong's search with Lowe's
// memoisation, as in test/sim/linearizability.ts, changed for chaos histories:
// - it answers for one key and says where the search got stuck (the deepest point it
//   reached, the operation that could not take effect there and the register's value),
//   so a person can find the bug in the history;
// - an unknown-outcome write that some read observed is bounded by the first return
//   of such a read: any valid order puts the write before that read, so the bound
//   loses no valid order and removes the branching unknown writes otherwise cost
//   (chaos histories have many: every info write and every ok eventual write);
// - the search is bounded and running out of steps is its own verdict.
import assert from 'node:assert/strict';

export interface RegisterCall {
  /** The operation's index in the history. */
  readonly id: number;
  readonly kind: 'write' | 'read';
  /** write: the value written (unique). read: the value seen, null for a missing key. */
  readonly value: string | null;
  readonly invoke: number;
  /** Infinity for a write whose outcome is unknown: it may take effect any time after invoke, or never. */
  readonly complete: number;
}

export type Linearizability =
  | { readonly verdict: 'linearizable' }
  | {
      readonly verdict: 'nonlinearizable';
      /** Most operations any order could place before getting stuck. */
      readonly linearized: number;
      readonly total: number;
      /** The operation whose return came while no order could have placed it yet. */
      readonly stuck: RegisterCall;
      /** The register's value in that deepest order. */
      readonly state: string | null;
      /** Operations that could still have gone next there (a few, for the report). */
      readonly candidates: readonly RegisterCall[];
    }
  | { readonly verdict: 'exhausted'; readonly steps: number };

/** Per key. A few hundred operations need far fewer; hitting it means heavy concurrency. */
export const searchStepsMax = 1_000_000;
const candidatesReported = 8;

interface Event {
  readonly call: RegisterCall;
  readonly bit: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Event | null;
  next: Event | null;
  match: Event | null; // call ↔ return
}

export function checkLinearizable(calls: readonly RegisterCall[], stepsMax = searchStepsMax): Linearizability {
  const ops = boundUnknownWrites(calls);
  if (ops.length === 0) return { verdict: 'linearizable' };

  // Calls sort before returns at equal times, so operations that touch at an instant
  // count as concurrent (rounded clocks cannot order them).
  const events: Event[] = [];
  ops.forEach((call, bit) => {
    const inv: Event = { call, bit, isCall: true, time: call.invoke, prev: null, next: null, match: null };
    const ret: Event = { call, bit, isCall: false, time: call.complete, prev: null, next: null, match: inv };
    inv.match = ret;
    events.push(inv, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.call.id - b.call.id : a.isCall ? -1 : 1));
  const head: Event = { call: ops[0] as RegisterCall, bit: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let tail = head;
  for (const e of events) {
    tail.next = e;
    e.prev = tail;
    tail = e;
  }

  const cache = new Set<string>();
  const stack: { inv: Event; state: string | null }[] = [];
  let linearized = 0n;
  let state: string | null = null;
  let entry: Event | null = head.next;
  let steps = 0;
  let deepest: Extract<Linearizability, { verdict: 'nonlinearizable' }> | null = null;

  while (head.next !== null) {
    if (++steps > stepsMax) return { verdict: 'exhausted', steps: stepsMax };
    assert.ok(entry !== null, 'search ran off the event list');
    if (entry.isCall) {
      const call = entry.call;
      if (call.kind === 'write' || call.value === state) {
        const nextState: string | null = call.kind === 'write' ? call.value : state;
        const nextLinearized = linearized | (1n << BigInt(entry.bit));
        const memo = `${nextLinearized.toString(36)}|${nextState ?? '\u0000nil'}`;
        if (!cache.has(memo)) {
          cache.add(memo);
          stack.push({ inv: entry, state });
          state = nextState;
          linearized = nextLinearized;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return whose call no order could place yet: backtrack.
      if (deepest === null || stack.length > deepest.linearized) {
        deepest = { verdict: 'nonlinearizable', linearized: stack.length, total: ops.length, stuck: entry.call, state, candidates: callsBefore(head, entry) };
      }
      const top = stack.pop();
      if (top === undefined) {
        assert.ok(deepest !== null, 'a failed search records where it got stuck');
        return deepest;
      }
      state = top.state;
      linearized &= ~(1n << BigInt(top.inv.bit));
      unlift(top.inv);
      entry = top.inv.next;
    }
  }
  return { verdict: 'linearizable' };
}

/**
 * Drops unknown-outcome writes no read observed (placing them after everything is
 * the same as never) and gives an observed one the first return of a read that saw
 * it (values are unique, so that read saw this write and must follow it).
 */
function boundUnknownWrites(calls: readonly RegisterCall[]): RegisterCall[] {
  const firstObserverReturn = new Map<string, number>();
  const written = new Set<string>();
  for (const c of calls) {
    assert.ok(c.complete >= c.invoke, `op ${c.id} completes before it is invoked`);
    if (c.kind === 'read') {
      assert.ok(c.complete !== Infinity, `read ${c.id} without a result belongs out of the history`);
      if (c.value !== null) firstObserverReturn.set(c.value, Math.min(firstObserverReturn.get(c.value) ?? Infinity, c.complete));
    } else {
      assert.ok(c.value !== null, `write ${c.id} writes no value`);
      assert.ok(!written.has(c.value), `value '${c.value}' written twice: values must be unique`);
      written.add(c.value);
    }
  }
  const out: RegisterCall[] = [];
  for (const c of calls) {
    if (c.kind === 'read' || c.complete !== Infinity) out.push(c);
    else {
      const bound = firstObserverReturn.get(c.value as string);
      if (bound !== undefined) out.push({ ...c, complete: Math.max(c.invoke, bound) });
    }
  }
  return out;
}

function callsBefore(head: Event, stop: Event): RegisterCall[] {
  const out: RegisterCall[] = [];
  for (let e = head.next; e !== null && e !== stop && out.length < candidatesReported; e = e.next) if (e.isCall) out.push(e.call);
  return out;
}

/** Takes a call and its return out of the list (the call is now placed). */
function lift(inv: Event): void {
  const ret = inv.match as Event;
  (inv.prev as Event).next = inv.next;
  if (inv.next !== null) inv.next.prev = inv.prev;
  (ret.prev as Event).next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(inv: Event): void {
  const ret = inv.match as Event;
  (ret.prev as Event).next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  (inv.prev as Event).next = inv;
  if (inv.next !== null) inv.next.prev = inv;
}
