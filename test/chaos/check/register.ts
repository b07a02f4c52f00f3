// The register workload (SET / GET of unique values), checked per key:
// - every ok read, at any level: its value was written to this key by a write that
//   did not fail and was invoked before the read completed ('phantom');
// - strong: all writes plus the ok strong reads (final ones included) are
//   linearizable ('nonlinearizable', or 'exhausted' when the search gave up);
// - quorum: a process never reads older than its own last write ('stale-read') or
//   than a value it already read ('nonmonotonic-read');
// - final state: the final value's write must not have finished before another ok
//   write was invoked — that later write would follow it in the log ('lost'; for an
//   eventual write an allowed loss when a leader failure explains it).
import assert from 'node:assert/strict';
import type { CheckResult, RegisterRead, RegisterWrite } from '../history.js';
import type { FailoverEvidence } from './failover.js';
import { agreedFinal } from './final-state.js';
import { checkLinearizable, searchStepsMax, type RegisterCall } from './linearizable-register.js';
import { byProcessInOrder, finishedBefore, groupBy, isAcknowledged, isFinalRead, isLiveRead, showOp, type RegisterHistoryOp } from './ops.js';
import { WorkloadReport } from './report.js';

export interface RegisterCheckOptions {
  /** Bound on the linearizability search, per key. */
  readonly searchStepsMax?: number;
}

export function checkRegister(ops: readonly RegisterHistoryOp[], failover: FailoverEvidence, options: RegisterCheckOptions = {}): CheckResult[] {
  const report = new WorkloadReport('register', ops);
  checkRegisterKeys(ops, failover, report, options);
  return report.results();
}

/** The register checks of `ops` (every key's), into `report`: the ttl workload's never-expiring keys use them too. */
export function checkRegisterKeys(ops: readonly RegisterHistoryOp[], failover: FailoverEvidence, report: WorkloadReport, options: RegisterCheckOptions = {}): void {
  const writeOfValue = new Map<string, RegisterWrite>();
  for (const op of ops) {
    if (op.f !== 'write') continue;
    assert.ok(!writeOfValue.has(op.value), `register value '${op.value}' written twice (#${writeOfValue.get(op.value)?.index}, #${op.index}): values must be unique`);
    writeOfValue.set(op.value, op);
  }
  const sources = new ReadSources(writeOfValue);
  const byIndex = new Map(ops.map((op) => [op.index, op]));

  for (const [key, keyOps] of groupBy(ops, (op) => op.key)) {
    const writes = keyOps.filter((op): op is RegisterWrite => op.f === 'write');
    const okReads = keyOps.filter((op): op is RegisterRead => op.f === 'read' && op.outcome === 'ok');
    for (const read of okReads) sources.check(read, report);
    checkStrong(key, writes, okReads, byIndex, report, options.searchStepsMax ?? searchStepsMax);
    checkQuorumReads(keyOps, sources, report);
    const finalReads = okReads.filter(isFinalRead);
    if (finalReads.length === 0) report.addToStrongest('keysWithoutFinal');
    const finalValue = agreedFinal(key, finalReads, (r) => r.value, report);
    if (finalValue !== undefined) {
      report.add('strong', 'finalKeys');
      checkFinalLosses(key, finalValue, writes, failover, report);
    }
  }
}

/** Which write each read saw, and which reads saw none that could explain them. */
class ReadSources {
  constructor(private readonly writeOfValue: ReadonlyMap<string, RegisterWrite>) {}

  /** The write a read's value came from; null for nil; undefined when no write can explain it. */
  of(read: RegisterRead): RegisterWrite | null | undefined {
    if (read.value === null) return null;
    return this.whyPhantom(read) === null ? this.writeOfValue.get(read.value) : undefined;
  }

  check(read: RegisterRead, report: WorkloadReport): void {
    const why = this.whyPhantom(read);
    if (why === null) return;
    const w = read.value === null ? undefined : this.writeOfValue.get(read.value);
    const ops = w === undefined ? [read.index] : [read.index, w.index];
    report.anomaly(read.level, { kind: 'phantom', key: read.key, ops, message: `${showOp(read)} on '${read.key}': ${why}` });
  }

  private whyPhantom(read: RegisterRead): string | null {
    if (read.value === null) return null;
    const w = this.writeOfValue.get(read.value);
    if (w === undefined) return 'no operation ever wrote that value';
    if (w.key !== read.key) return `the value was written to '${w.key}' (${showOp(w)})`;
    if (w.outcome === 'fail') return `its write failed (${showOp(w)})`;
    if (w.invokeMs > read.completeMs) return `its write was invoked only after the read completed (${showOp(w)})`;
    return null;
  }
}

function checkStrong(
  key: string,
  writes: readonly RegisterWrite[],
  okReads: readonly RegisterRead[],
  byIndex: ReadonlyMap<number, RegisterHistoryOp>,
  report: WorkloadReport,
  stepsMax: number,
): void {
  const strongReads = okReads.filter((r) => r.level === 'strong');
  if (strongReads.length === 0) return;
  const calls: RegisterCall[] = [];
  for (const w of writes) {
    if (w.outcome === 'fail') continue;
    // Info and ok eventual writes may take effect any time after invoke, or never.
    calls.push({ id: w.index, kind: 'write', value: w.value, invoke: w.invokeMs, complete: isAcknowledged(w) ? w.completeMs : Infinity });
  }
  for (const r of strongReads) calls.push({ id: r.index, kind: 'read', value: r.value, invoke: r.invokeMs, complete: r.completeMs });
  report.add('strong', 'keysSearched');
  const result = checkLinearizable(calls, stepsMax);
  const show = (c: RegisterCall): string => {
    const op = byIndex.get(c.id);
    return op === undefined ? `#${c.id}` : showOp(op);
  };
  if (result.verdict === 'exhausted') {
    report.anomaly('strong', {
      kind: 'exhausted',
      key,
      message: `linearizability search for '${key}' gave up after ${result.steps} steps (${calls.length} ops): neither proven nor refuted, so not a pass`,
    });
  } else if (result.verdict === 'nonlinearizable') {
    const next = result.candidates.map((c) => `#${c.id}`).join(', ') || 'none';
    report.anomaly('strong', {
      kind: 'nonlinearizable',
      key,
      ops: [result.stuck.id, ...result.candidates.map((c) => c.id).filter((id) => id !== result.stuck.id)],
      message:
        `no order of the ${result.total} ops on '${key}' explains them: at most ${result.linearized} fit, then ${show(result.stuck)} ` +
        `could not take effect while the register held ${result.state === null ? 'nil' : `'${result.state}'`} (could go next: ${next})`,
    });
  }
}

function checkQuorumReads(keyOps: readonly RegisterHistoryOp[], sources: ReadSources, report: WorkloadReport): void {
  const quorumOps = keyOps.filter((op) => op.level === 'quorum' && op.final !== true);
  for (const processOps of byProcessInOrder(quorumOps).values()) {
    let ownLastWrite: RegisterWrite | undefined;
    // Of the writes this process read, the one invoked last: every write that finished
    // before it was invoked precedes it in the log, so can no longer be the value.
    let latestSeen: RegisterWrite | undefined;
    for (const op of processOps) {
      if (op.f === 'write') {
        if (op.outcome === 'ok') ownLastWrite = op;
        continue;
      }
      if (!isLiveRead(op)) continue;
      const source = sources.of(op);
      if (source === undefined) continue; // a phantom, reported already
      const stale = source === null ? ownLastWrite !== undefined : ownLastWrite !== undefined && isAcknowledged(source) && finishedBefore(source, ownLastWrite);
      const older = source === null ? latestSeen !== undefined : latestSeen !== undefined && isAcknowledged(source) && finishedBefore(source, latestSeen);
      if (stale && ownLastWrite !== undefined) {
        report.anomaly('quorum', {
          kind: 'stale-read',
          key: op.key,
          ops: source === null ? [op.index, ownLastWrite.index] : [op.index, source.index, ownLastWrite.index],
          message: `${showOp(op)} is older than the process's own ${showOp(ownLastWrite)}`,
        });
      } else if (older && latestSeen !== undefined) {
        report.anomaly('quorum', {
          kind: 'nonmonotonic-read',
          key: op.key,
          ops: source === null ? [op.index, latestSeen.index] : [op.index, source.index, latestSeen.index],
          message: `${showOp(op)} is older than ${showOp(latestSeen)}, which this process already read`,
        });
      }
      if (source !== null && (latestSeen === undefined || source.invokeMs > latestSeen.invokeMs)) latestSeen = source;
    }
  }
}

function checkFinalLosses(
  key: string,
  finalValue: string | null,
  writes: readonly RegisterWrite[],
  failover: FailoverEvidence,
  report: WorkloadReport,
): void {
  let finalWrite: RegisterWrite | null = null;
  if (finalValue !== null) {
    const w = writes.find((x) => x.value === finalValue);
    if (w === undefined || w.outcome === 'fail') return; // the final reads are phantoms, reported already
    finalWrite = w;
  }
  for (const w of writes) {
    if (w.outcome !== 'ok' || w === finalWrite) continue;
    // A write invoked after the final value's write was acknowledged would follow it
    // in the log and hide it; a nil final state hides no write at all.
    const hiddenBy = finalWrite === null ? 'the key is missing' : isAcknowledged(finalWrite) && finishedBefore(finalWrite, w) ? `the final value comes from ${showOp(finalWrite)}, acknowledged before it was invoked` : null;
    if (hiddenBy === null) continue;
    const ops = finalWrite === null ? [w.index] : [w.index, finalWrite.index];
    if (isAcknowledged(w)) {
      report.anomaly(w.level, { kind: 'lost', key, ops, message: `${showOp(w)} is not in the final state: ${hiddenBy}` });
      continue;
    }
    const cause = failover.explain(w);
    if (cause !== null) {
      report.allowedLoss('eventual', { kind: 'lost', key, ops, message: `${showOp(w)} lost (${hiddenBy}); explained by ${cause.what} at ${cause.timeMs} ms` });
    } else {
      report.anomaly('eventual', { kind: 'lost-without-failover', key, ops, message: `${showOp(w)} lost (${hiddenBy}) with no leader failure near it` });
    }
  }
}
