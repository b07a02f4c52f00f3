// The ttl workload (SET key value PX ttl, GET, PTTL), checked per key. Every write to
// these keys carries a TTL; its expiry is the clock of the node that stamped it (the
// leader, when it proposed the write) plus the TTL (DESIGN.md, Determinism), and every
// node answers a key as missing once its own clock has passed that time.
//
// - Keys whose every write has a TTL of at least `neverExpiresMs` do not expire during
//   a run: they are registers and get the register checks (register.ts), so a TTL
//   loses nothing through snapshots, restarts and catch-up.
// - A PTTL of -1 is 'ttl-lost': a key only ever written with a TTL cannot lack one,
//   whatever the clocks do.
// - Reads of short-lived keys must name a value some write may have given the key
//   ('phantom').
// The remaining checks compare expiry times with the runner's clock. The runner and
// the nodes share one machine's clock, so a check holds while the clocks it depends on
// are true, and is skipped when a clock fault may have moved one of them (the nemesis
// records a clock fault's end only once the node's clock is back).
// A stamp lies within [invoke, complete] of an ok write (the node stamps a request it
// has received, before it answers), at or after invoke for any other write, and before
// the completion of any read that saw the write applied. Any node may have stamped it
// (the leader of the moment), so a stamp is trusted when no clock was moved in its span.
// - 'expired-read': a GET returned the value of an ok write more than its TTL after the
//   write completed: the node that served it hides a value once its own clock passes
//   the expiry, so with that clock and the stamp's true, it had expired before the read.
// - 'ttl-too-long': PTTL answered more than any write the key can reflect has left,
//   at most min(its completion if ok, the read's completion) + ttl − the read's invoke;
//   it depends on those writes' stamps and the serving node's clock.
// - 'premature-expiry': a strong read found the key missing although an acknowledged
//   write finished before the read began, and neither that write nor any write that may
//   follow it in the log can have expired before the read completed (expiry ≥ invoke + ttl).
//   A leader whose clock ran ahead may have deleted the key early, so this one needs every
//   clock true from the first write's invoke to the read's completion.
import type { CheckResult, HistoryRecord, Level, RegisterWrite, TtlPttl, TtlRead, TtlWrite } from '../history.js';
import type { FailoverEvidence } from './failover.js';
import { finishedBefore, groupBy, isAcknowledged, mayHaveHappened, showOp, type RegisterHistoryOp, type TtlHistoryOp } from './ops.js';
import { checkRegisterKeys, type RegisterCheckOptions } from './register.js';
import { WorkloadReport } from './report.js';

/** A TTL at least this long outlives any run and any clock jump: such keys never expire in a run. */
export const neverExpiresMs = 12 * 3600 * 1000;
/**
 * Allowance between the runner's clock and the nodes' (performance.now against
 * Date.now on one machine, both rounded to milliseconds).
 */
export const clockMarginMs = 100;

export function checkTtl(ops: readonly TtlHistoryOp[], records: readonly HistoryRecord[], failover: FailoverEvidence, options: RegisterCheckOptions = {}): CheckResult[] {
  const report = new WorkloadReport('ttl', ops);
  const clocks = new ClockFaults(records);
  const longKeyOps: RegisterHistoryOp[] = [];
  for (const [key, keyOps] of groupBy(ops, (op) => op.key)) {
    const writes = keyOps.filter((op): op is TtlWrite => op.f === 'write');
    // Never-expiring keys are registers: their writes and GETs get the register's checks.
    const neverExpires = writes.every((w) => w.outcome === 'fail' || w.ttlMs >= neverExpiresMs);
    if (neverExpires) {
      for (const op of keyOps) if (op.f !== 'pttl') longKeyOps.push(asRegisterOp(op));
    } else {
      report.add('strong', 'expiringKeys');
    }
    for (const read of keyOps) {
      if (read.f === 'write' || read.outcome !== 'ok') continue;
      if (read.f === 'pttl') checkPttl(read, writes, clocks, report);
      else if (neverExpires) continue;
      else checkReadValue(key, read, writes, clocks, report);
      if (read.level === 'strong' && (read.f === 'read' ? read.value === null : read.pttlMs === -2)) checkMissing(key, read, writes, clocks, report);
    }
  }
  checkRegisterKeys(longKeyOps, failover, report, options);
  return report.results();
}

function asRegisterOp(op: TtlWrite | TtlRead): RegisterHistoryOp {
  if (op.f === 'write') {
    const { ttlMs: _ttl, ...rest } = op;
    return { ...rest, workload: 'register' } satisfies RegisterWrite;
  }
  return { ...op, workload: 'register' };
}

function checkPttl(read: TtlPttl, writes: readonly TtlWrite[], clocks: ClockFaults, report: WorkloadReport): void {
  if (read.pttlMs === null || read.pttlMs === -2) return;
  if (read.pttlMs === -1) {
    report.anomaly(read.level, { kind: 'ttl-lost', key: read.key, ops: [read.index], message: `${showOp(read)}: the key has no TTL, but every write to it set one` });
    return;
  }
  const candidates = writes.filter((w) => mayHaveHappened(w) && w.invokeMs < read.completeMs);
  if (candidates.length === 0) {
    report.anomaly(read.level, { kind: 'phantom', key: read.key, ops: [read.index], message: `${showOp(read)}: no write to '${read.key}' was invoked before it completed` });
    return;
  }
  const stampedBy = (w: TtlWrite): number => Math.min(w.outcome === 'ok' ? w.completeMs : Infinity, read.completeMs);
  const trusted = clocks.trueOn(read.node, read.invokeMs, read.completeMs) && candidates.every((w) => clocks.trueEverywhere(w.invokeMs, stampedBy(w)));
  if (!clocks.count(trusted, report, read.level)) return;
  let most = -Infinity;
  let source = candidates[0]!;
  for (const w of candidates) {
    const left = stampedBy(w) + w.ttlMs - read.invokeMs;
    if (left > most) {
      most = left;
      source = w;
    }
  }
  if (read.pttlMs > most + clockMarginMs) {
    report.anomaly(read.level, {
      kind: 'ttl-too-long',
      key: read.key,
      ops: [read.index, source.index],
      message: `${showOp(read)}: no write to '${read.key}' can have more than ${Math.max(0, Math.round(most))} ms left (at most ${showOp(source)})`,
    });
  }
}

function checkReadValue(key: string, read: TtlRead, writes: readonly TtlWrite[], clocks: ClockFaults, report: WorkloadReport): void {
  if (read.value === null) return;
  const w = writes.find((x) => x.value === read.value);
  const why =
    w === undefined ? `no write to '${key}' wrote that value`
    : w.outcome === 'fail' ? `its write failed (${showOp(w)})`
    : w.invokeMs > read.completeMs ? `its write was invoked only after the read completed (${showOp(w)})`
    : null;
  if (why !== null || w === undefined) {
    report.anomaly(read.level, { kind: 'phantom', key, ops: w === undefined ? [read.index] : [read.index, w.index], message: `${showOp(read)}: ${why}` });
    return;
  }
  if (w.outcome !== 'ok') return; // stamped at an unknown time: its expiry is unknown
  const trusted = clocks.trueEverywhere(w.invokeMs, w.completeMs) && clocks.trueOn(read.node, read.invokeMs, read.completeMs);
  if (!clocks.count(trusted, report, read.level)) return;
  if (read.invokeMs <= w.completeMs + w.ttlMs + clockMarginMs) return;
  report.anomaly(read.level, {
    kind: 'expired-read',
    key,
    ops: [read.index, w.index],
    message: `${showOp(read)} began ${Math.round(read.invokeMs - w.completeMs - w.ttlMs)} ms after its value expired (${showOp(w)})`,
  });
}

function checkMissing(key: string, read: TtlRead | TtlPttl, writes: readonly TtlWrite[], clocks: ClockFaults, report: WorkloadReport): void {
  const before = writes.filter((w) => w.invokeMs < read.completeMs);
  if (before.length === 0) return;
  // The stamps that matter lie between the first write's invoke and the read's completion.
  if (!clocks.count(clocks.trueEverywhere(Math.min(...before.map((w) => w.invokeMs)), read.completeMs), report, read.level)) return;
  const aliveAt = read.completeMs + clockMarginMs;
  for (const w of before) {
    if (!isAcknowledged(w) || !finishedBefore(w, read) || w.invokeMs + w.ttlMs <= aliveAt) continue;
    // Writes that may follow w in the log: any but those acknowledged before w began.
    const later = before.filter((x) => x !== w && mayHaveHappened(x) && !(isAcknowledged(x) && finishedBefore(x, w)));
    if (later.some((x) => x.invokeMs + x.ttlMs <= aliveAt)) continue;
    report.anomaly(read.level, {
      kind: 'premature-expiry',
      key,
      ops: [read.index, w.index],
      message: `${showOp(read)} found '${key}' missing, but ${showOp(w)} cannot expire before ${w.invokeMs + w.ttlMs} ms, nor can any write that may follow it`,
    });
    return;
  }
}

/** When which node's clock was moved: [start, end] of every clock fault, by the nemesis's records. */
class ClockFaults {
  private readonly spans: { readonly node: string; readonly start: number; readonly end: number }[] = [];

  constructor(records: readonly HistoryRecord[]) {
    const open = new Map<string, number>();
    for (const r of records) {
      if (r.type !== 'nemesis' || r.fault !== 'clock') continue;
      for (const node of r.nodes) {
        if (r.phase === 'start') open.set(node, r.timeMs);
        else {
          this.spans.push({ node, start: open.get(node) ?? -Infinity, end: r.timeMs });
          open.delete(node);
        }
      }
    }
    for (const [node, start] of open) this.spans.push({ node, start, end: Infinity });
  }

  /** Whether no node's clock was moved at any time in [from, to]. */
  trueEverywhere(from: number, to: number): boolean {
    return !this.spans.some((f) => f.start <= to && f.end >= from);
  }

  /** Whether `node`'s clock was true throughout [from, to]. */
  trueOn(node: string, from: number, to: number): boolean {
    return !this.spans.some((f) => f.node === node && f.start <= to && f.end >= from);
  }

  /** Counts an expiry check as made or skipped; returns whether to make it. */
  count(trusted: boolean, report: WorkloadReport, level: Level): boolean {
    report.add(level, trusted ? 'expiryChecks' : 'expiryChecksSkipped');
    return trusted;
  }
}
