// The chaos suite's checkers: one per workload, each reporting per consistency level.
// They must be sound above all — a correct store is never flagged — so each check
// leans only on what the store promises (see ops.ts for the timing rules).
import type { CheckResult, HistoryRecord, Op } from '../history.js';
import { checkAppend } from './append.js';
import { checkCounter } from './counter.js';
import { FailoverEvidence } from './failover.js';
import type { AppendHistoryOp, CounterHistoryOp, RegisterHistoryOp, TtlHistoryOp } from './ops.js';
import { checkRegister, type RegisterCheckOptions } from './register.js';
import { checkTtl } from './ttl.js';

export type CheckOptions = RegisterCheckOptions;

/** One result per (workload, level) present in the history. */
export function checkHistory(records: readonly HistoryRecord[], options: CheckOptions = {}): CheckResult[] {
  const ops = records.filter((r): r is Op => r.type === 'op');
  const failover = new FailoverEvidence(records);
  const register = ops.filter((op): op is RegisterHistoryOp => op.workload === 'register');
  const counter = ops.filter((op): op is CounterHistoryOp => op.workload === 'counter');
  const append = ops.filter((op): op is AppendHistoryOp => op.workload === 'append');
  const ttl = ops.filter((op): op is TtlHistoryOp => op.workload === 'ttl');
  return [
    ...(register.length > 0 ? checkRegister(register, failover, options) : []),
    ...(counter.length > 0 ? checkCounter(counter, failover) : []),
    ...(append.length > 0 ? checkAppend(append, failover) : []),
    ...(ttl.length > 0 ? checkTtl(ttl, records, failover, options) : []),
  ];
}

/**
 * "VALID seed=N ops=… ok=… fail=… info=… anomalies=0 allowed-losses=… checked=…" or
 * "INVALID seed=N ops=… … anomalies=K (kind=n, …) in workload/level, … allowed-losses=…",
 * with "keys-without-final=K" when some keys had no ok final read (their losses are unchecked).
 */
export function verdictLine(results: readonly CheckResult[], seed: number): string {
  const total = (count: string): number => results.reduce((n, r) => n + (r.counts[count] ?? 0), 0);
  const head = `seed=${seed} ops=${total('ops')} ok=${total('ok')} fail=${total('fail')} info=${total('info')}`;
  const allowed = results.reduce((n, r) => n + (r.allowedLosses?.length ?? 0), 0);
  // Their losses went unchecked: say so rather than let the verdict look complete.
  const unchecked = total('keysWithoutFinal') > 0 ? ` keys-without-final=${total('keysWithoutFinal')}` : '';
  const anomalies = results.flatMap((r) => r.anomalies);
  if (anomalies.length === 0) {
    const checked = results.map((r) => `${r.workload}/${r.level}`).join(',') || 'nothing';
    return `VALID ${head} anomalies=0 allowed-losses=${allowed}${unchecked} checked=${checked}`;
  }
  const byKind = new Map<string, number>();
  for (const a of anomalies) byKind.set(a.kind, (byKind.get(a.kind) ?? 0) + 1);
  const kinds = [...byKind].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1)).map(([kind, n]) => `${kind}=${n}`);
  const where = results.filter((r) => !r.valid).map((r) => `${r.workload}/${r.level}`);
  const note = byKind.has('exhausted') ? '; exhausted = the linearizability search hit its bound, not a proven violation' : '';
  return `INVALID ${head} anomalies=${anomalies.length} (${kinds.join(', ')}) in ${where.join(', ')} allowed-losses=${allowed}${unchecked}${note}`;
}
