// The counter workload (INCR, GET as an integer), checked per key by counting: a
// counter's value is the number of increments applied, so each observation is bounded
// below by the increments acknowledged (strong/quorum) before it began and above by
// the increments that may have happened (ok at any level, or info) invoked before it
// ended.
// - final F: acknowledged ≤ F ('lost'), F ≤ possible ('overcount'); ok eventual
//   increments missing from F are allowed losses only near a leader failure;
// - acknowledged INCR results: distinct and ≤ F ('duplicate-result'), within the
//   bounds at their own time ('stale-result', 'overcount');
// - strong reads within the bounds ('stale-read', 'overcount'); reads at every level
//   under the upper bound ('overcount');
// - quorum reads: monotonic per process ('nonmonotonic-read') and at least the
//   process's own last INCR result ('stale-read').
import type { CheckResult, CounterIncr, CounterRead } from '../history.js';
import type { FailoverEvidence } from './failover.js';
import { agreedFinal } from './final-state.js';
import { byProcessInOrder, countAtMost, countBelow, groupBy, isAcknowledged, isFinalRead, isLiveRead, mayHaveHappened, showOp, type CounterHistoryOp } from './ops.js';
import { WorkloadReport } from './report.js';

/** The increments of one key, sorted for counting by time. */
interface Increments {
  readonly acknowledged: readonly CounterIncr[];
  readonly possible: readonly CounterIncr[];
  readonly acknowledgedCompleteMs: readonly number[];
  readonly possibleInvokeMs: readonly number[];
}

export function checkCounter(ops: readonly CounterHistoryOp[], failover: FailoverEvidence): CheckResult[] {
  const report = new WorkloadReport('counter', ops);
  for (const [key, keyOps] of groupBy(ops, (op) => op.key)) {
    const incrs = keyOps.filter((op): op is CounterIncr => op.f === 'incr');
    const acknowledged = incrs.filter(isAcknowledged);
    const possible = incrs.filter(mayHaveHappened);
    const inc: Increments = {
      acknowledged,
      possible,
      acknowledgedCompleteMs: acknowledged.map((op) => op.completeMs).sort((a, b) => a - b),
      possibleInvokeMs: possible.map((op) => op.invokeMs).sort((a, b) => a - b),
    };
    const finalReads = keyOps.filter((op): op is CounterRead => op.f === 'read' && isFinalRead(op));
    if (finalReads.length === 0) report.addToStrongest('keysWithoutFinal');
    const final = agreedFinal(key, finalReads, valueOf, report);
    checkResults(key, inc, final, report);
    checkReads(keyOps, inc, report);
    if (final !== undefined) {
      report.add('strong', 'finalKeys');
      report.add('strong', 'finalTotal', final);
      checkFinal(key, final, finalReads, incrs, inc, failover, report);
    }
  }
  return report.results();
}

const valueOf = (read: CounterRead): number => read.value ?? 0;

function checkResults(key: string, inc: Increments, final: number | undefined, report: WorkloadReport): void {
  const byResult = new Map<number, CounterIncr>();
  for (const op of inc.acknowledged) {
    if (op.result === null) continue;
    const twin = byResult.get(op.result);
    if (twin !== undefined) {
      report.anomaly(op.level, { kind: 'duplicate-result', key, ops: [twin.index, op.index], message: `${showOp(op)} returned the same value as ${showOp(twin)}` });
    }
    byResult.set(op.result, op);
    if (final !== undefined && op.result > final) {
      report.anomaly(op.level, { kind: 'duplicate-result', key, ops: [op.index], message: `${showOp(op)} returned more than the final value ${final}: increments before it were lost or counted twice` });
    }
    const floor = countBelow(inc.acknowledgedCompleteMs, op.invokeMs) + 1;
    const ceiling = countAtMost(inc.possibleInvokeMs, op.completeMs);
    if (op.result < floor) {
      report.anomaly(op.level, { kind: 'stale-result', key, ops: [op.index], message: `${showOp(op)}, yet ${floor - 1} increments were acknowledged before it began` });
    } else if (op.result > ceiling) {
      report.anomaly(op.level, { kind: 'overcount', key, ops: [op.index], message: `${showOp(op)}, yet only ${ceiling} increments that may have happened were invoked by its end` });
    }
  }
}

function checkReads(keyOps: readonly CounterHistoryOp[], inc: Increments, report: WorkloadReport): void {
  for (const op of keyOps) {
    if (op.f !== 'read' || !isLiveRead(op)) continue;
    const v = valueOf(op);
    const ceiling = countAtMost(inc.possibleInvokeMs, op.completeMs);
    const floor = countBelow(inc.acknowledgedCompleteMs, op.invokeMs);
    if (v > ceiling) {
      report.anomaly(op.level, { kind: 'overcount', key: op.key, ops: [op.index], message: `${showOp(op)}, yet only ${ceiling} increments that may have happened were invoked by its end` });
    } else if (op.level === 'strong' && v < floor) {
      report.anomaly('strong', { kind: 'stale-read', key: op.key, ops: [op.index], message: `${showOp(op)}, yet ${floor} increments were acknowledged before it began` });
    }
  }
  const quorumOps = keyOps.filter((op) => op.level === 'quorum' && op.final !== true);
  for (const processOps of byProcessInOrder(quorumOps).values()) {
    let ownLast: CounterIncr | undefined;
    let previous: CounterRead | undefined;
    for (const op of processOps) {
      if (op.f === 'incr') {
        if (op.outcome === 'ok' && op.result !== null) ownLast = op;
        continue;
      }
      if (!isLiveRead(op)) continue;
      const v = valueOf(op);
      if (ownLast !== undefined && ownLast.result !== null && v < ownLast.result) {
        report.anomaly('quorum', { kind: 'stale-read', key: op.key, ops: [op.index, ownLast.index], message: `${showOp(op)} is below the process's own ${showOp(ownLast)}` });
      } else if (previous !== undefined && v < valueOf(previous)) {
        report.anomaly('quorum', { kind: 'nonmonotonic-read', key: op.key, ops: [op.index, previous.index], message: `${showOp(op)} is below ${showOp(previous)} by the same process` });
      }
      previous = op;
    }
  }
}

function checkFinal(
  key: string,
  final: number,
  finalReads: readonly CounterRead[],
  incrs: readonly CounterIncr[],
  inc: Increments,
  failover: FailoverEvidence,
  report: WorkloadReport,
): void {
  const finalOps = finalReads.map((r) => r.index);
  if (final < inc.acknowledged.length) {
    report.anomaly('strong', { kind: 'lost', key, ops: finalOps, message: `final value of '${key}' is ${final}, but ${inc.acknowledged.length} increments were acknowledged at strong/quorum` });
  }
  if (final > inc.possible.length) {
    report.anomaly('strong', { kind: 'overcount', key, ops: finalOps, message: `final value of '${key}' is ${final}, but only ${inc.possible.length} increments may have happened` });
  }
  // Which ok eventual increments were lost cannot be told apart; at least `missing` of
  // them were (the rest of F may have come from info increments). Each loss needs a
  // leader failure near its increment, so there must be enough such increments.
  const eventual = incrs.filter((op) => op.outcome === 'ok' && op.level === 'eventual');
  const missing = Math.min(eventual.length, inc.acknowledged.length + eventual.length - final);
  if (missing <= 0) return;
  const explained = eventual.flatMap((op) => {
    const cause = failover.explain(op);
    return cause === null ? [] : [{ op, cause }];
  });
  const summary = `at least ${missing} of ${eventual.length} ok eventual increments of '${key}' are missing from its final value ${final}`;
  const first = explained[0];
  if (first !== undefined && explained.length >= missing) {
    report.allowedLoss('eventual', {
      kind: 'lost',
      key,
      ops: explained.map((e) => e.op.index),
      message: `${summary}; ${explained.length} of them overlap a leader failure, first ${first.cause.what} at ${first.cause.timeMs} ms`,
    });
  } else {
    const explainedOps = new Set(explained.map((e) => e.op));
    const unexplained = eventual.filter((op) => !explainedOps.has(op));
    report.anomaly('eventual', {
      kind: 'lost-without-failover',
      key,
      ops: unexplained.map((op) => op.index),
      message: `${summary}; only ${explained.length} overlap a leader failure`,
    });
  }
}
