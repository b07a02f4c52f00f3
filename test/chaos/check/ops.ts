// What every checker needs to know about an operation's timing and outcome, in one
// place, so all of them read the store's promises the same way.
//
// Timing rules (the runner's clock is monotonic; times may be rounded, and rounding
// is monotonic, so only a strict < between two times proves an order):
// - An operation's effect, if any, lies at or after its invokeMs: that bound holds at
//   every level and for every outcome, because the store cannot act on a request it
//   has not received.
// - Its effect lies at or before its completeMs only when it is acknowledged at a
//   level that commits before replying (strong, quorum). Info writes and eventual
//   writes may take effect later, or never.
// - So if a is acknowledged and finished before b was invoked, b — at any level and
//   with any outcome — is after a in the log if it is in the log at all: Raft's
//   entries created after a's commit can only commit after it (a deposed leader's
//   later entries never commit). Nodes apply committed entries only, so a read that
//   saw b saw a committed b.
// - Quorum promises hold per process: history.ts makes a process one connection to
//   one node, whose applied state only grows.
import type { AppendOp, AppendRead, CounterIncr, CounterRead, Level, Op, RegisterRead, RegisterWrite, TtlPttl, TtlRead, TtlWrite } from '../history.js';

export type RegisterHistoryOp = RegisterWrite | RegisterRead;
export type CounterHistoryOp = CounterIncr | CounterRead;
export type AppendHistoryOp = AppendOp | AppendRead;
export type TtlHistoryOp = TtlWrite | TtlRead | TtlPttl;
export type HistoryRead = RegisterRead | CounterRead | AppendRead | TtlRead;

export const levelsStrongestFirst: readonly Level[] = ['strong', 'quorum', 'eventual'];

/** An ok write at a level that replies only once a majority applied it: in the log, in real-time order. */
export function isAcknowledged(op: Op): boolean {
  return op.outcome === 'ok' && op.level !== 'eventual';
}

/** The store may have applied it: everything but a certain failure. */
export function mayHaveHappened(op: Op): boolean {
  return op.outcome !== 'fail';
}

/** a certainly finished before b began (ties are concurrent, the permissive reading). */
export function finishedBefore(a: Op, b: Op): boolean {
  return a.completeMs < b.invokeMs;
}

/** An ok read that is not one of the final reads. */
export function isLiveRead(op: Op): boolean {
  return op.f === 'read' && op.outcome === 'ok' && op.final !== true;
}

export function isFinalRead(op: Op): boolean {
  return op.f === 'read' && op.outcome === 'ok' && op.final === true;
}

export function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const group = groups.get(keyOf(item));
    if (group === undefined) groups.set(keyOf(item), [item]);
    else group.push(item);
  }
  return groups;
}

/** One process's operations in program order (a process never has two in flight). */
export function byProcessInOrder<T extends Op>(ops: readonly T[]): Map<number, T[]> {
  const groups = groupBy(ops, (op) => op.process);
  for (const list of groups.values()) list.sort((a, b) => a.invokeMs - b.invokeMs || a.index - b.index);
  return groups;
}

/** How many of the ascending `sorted` are < t. */
export function countBelow(sorted: readonly number[], t: number): number {
  return firstIndexWhere(sorted, (x) => x >= t);
}

/** How many of the ascending `sorted` are ≤ t. */
export function countAtMost(sorted: readonly number[], t: number): number {
  return firstIndexWhere(sorted, (x) => x > t);
}

/** Binary search: the first index where the monotone `pred` holds (length if none). */
function firstIndexWhere(sorted: readonly number[], pred: (x: number) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(sorted[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** "#12 quorum write 'v3' by p4 [100, 130] info" — enough to find it in history.jsonl. */
export function showOp(op: Op): string {
  const what =
    op.f === 'write' ? `write '${op.value}'${op.workload === 'ttl' ? ` px ${op.ttlMs}` : ''}`
    : op.f === 'pttl' ? `pttl ${op.pttlMs ?? '?'}`
    : op.f === 'incr' ? `incr${op.result === null ? '' : ` → ${op.result}`}`
    : op.f === 'append' ? `append '${op.token}'`
    : op.workload === 'append' ? `read [${op.tokens.join(' ')}]`
    : `read ${op.value === null ? 'nil' : `'${op.value}'`}`;
  const final = op.final === true ? ' final' : '';
  return `#${op.index} ${op.level}${final} ${what} by p${op.process} [${op.invokeMs}, ${op.completeMs}] ${op.outcome}`;
}
