// Linearizability checker for a history of single-key register operations, in
// the style of Wing & Gong with Lowe's memoisation (as Porcupine does): search
// for an order of operations consistent with real time and with a sequential
// register, caching (set of linearized ops, register value) pairs already shown
// to be dead ends. Keys are independent registers, so each key is checked on
// its own (P-compositionality), which keeps each search small.
import assert from 'node:assert/strict';

export interface RegisterOp {
  readonly id: number;
  readonly key: string;
  readonly kind: 'write' | 'read';
  /** write: the value written. read: the value observed (null = never written). */
  readonly value: string | null;
  readonly invoke: number;
  /**
   * Completion time. Infinity for a write whose outcome is unknown (the client
   * timed out or its node crashed): it may have taken effect at any point after
   * invoke, or never — placing it after everything else is the same as never.
   */
  readonly complete: number;
}

export interface CheckResult {
  readonly ok: boolean;
  /** The first key whose history could not be linearized. */
  readonly badKey?: string;
  /** True when the search gave up at maxSearchSteps (treated as failure). */
  readonly exhausted?: boolean;
}

interface Event {
  readonly op: RegisterOp;
  readonly bit: number;
  readonly isCall: boolean;
  readonly time: number;
  prev: Event | null;
  next: Event | null;
  match: Event | null; // call ↔ return
}

export function checkRegisterHistory(ops: readonly RegisterOp[], maxSearchSteps = 2_000_000): CheckResult {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    assert.ok(op.complete >= op.invoke, `op ${op.id} completes before it is invoked`);
    assert.ok(op.kind === 'write' || op.complete !== Infinity, `read ${op.id} without a result belongs out of the history`);
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  for (const [key, list] of [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const r = checkKey(list, maxSearchSteps);
    if (r !== 'ok') return { ok: false, badKey: key, exhausted: r === 'exhausted' };
  }
  return { ok: true };
}

function checkKey(all: readonly RegisterOp[], maxSearchSteps: number): 'ok' | 'bad' | 'exhausted' {
  // An unknown-outcome write whose value no read returned can always be placed
  // after everything else, where it is invisible: drop it. (Values must be unique
  // per key for this to hold, which the simulator guarantees.) This removes most
  // of the branching that unknown outcomes otherwise cost the search.
  const observed = new Set<string | null>();
  for (const op of all) if (op.kind === 'read') observed.add(op.value);
  const ops = all.filter((op) => op.kind === 'read' || op.complete !== Infinity || observed.has(op.value));
  if (ops.length === 0) return 'ok';
  // Build the event list: calls sort before returns at equal times, so ops that
  // touch at an instant count as concurrent (the permissive reading).
  const events: Event[] = [];
  ops.forEach((op, bit) => {
    const call: Event = { op, bit, isCall: true, time: op.invoke, prev: null, next: null, match: null };
    const ret: Event = { op, bit, isCall: false, time: op.complete, prev: null, next: null, match: call };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op.id - b.op.id : a.isCall ? -1 : 1));
  const head: Event = { op: ops[0] as RegisterOp, bit: -1, isCall: false, time: -Infinity, prev: null, next: null, match: null };
  let tail = head;
  for (const e of events) {
    tail.next = e;
    e.prev = tail;
    tail = e;
  }

  const lift = (call: Event): void => {
    // Remove the call and its return from the list.
    const ret = call.match as Event;
    (call.prev as Event).next = call.next;
    if (call.next !== null) call.next.prev = call.prev;
    (ret.prev as Event).next = ret.next;
    if (ret.next !== null) ret.next.prev = ret.prev;
  };
  const unlift = (call: Event): void => {
    const ret = call.match as Event;
    (ret.prev as Event).next = ret;
    if (ret.next !== null) ret.next.prev = ret;
    (call.prev as Event).next = call;
    if (call.next !== null) call.next.prev = call;
  };

  const cache = new Set<string>();
  const stack: { call: Event; state: string | null }[] = [];
  let linearized = 0n;
  let state: string | null = null;
  let entry: Event | null = head.next;
  let steps = 0;
  while (head.next !== null) {
    if (++steps > maxSearchSteps) return 'exhausted';
    assert.ok(entry !== null, 'search ran off the event list');
    if (entry.isCall) {
      const op = entry.op;
      const okStep = op.kind === 'write' || op.value === state;
      const nextState: string | null = op.kind === 'write' ? op.value : state;
      if (okStep) {
        const nextLin = linearized | (1n << BigInt(entry.bit));
        const key = `${nextLin.toString(36)}|${nextState ?? '\u0000nil'}`;
        if (!cache.has(key)) {
          cache.add(key);
          stack.push({ call: entry, state });
          state = nextState;
          linearized = nextLin;
          lift(entry);
          entry = head.next;
          continue;
        }
      }
      entry = entry.next;
    } else {
      // A return whose call is not yet linearized: backtrack.
      const top = stack.pop();
      if (top === undefined) return 'bad';
      state = top.state;
      linearized &= ~(1n << BigInt(top.call.bit));
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return 'ok';
}
