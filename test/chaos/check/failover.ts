// When may an acknowledged eventual write be lost? Only when its leader failed before
// a majority had it. The history cannot show what a leader had, so any sign of a
// leader failure near the write explains the loss: a kill, pause or partition that
// began, or a node seeing the leader or term change, within
// [invokeMs − lossWindowBeforeMs, completeMs + lossWindowAfterMs].
// (A clock jump alone does not depose a leader, so it explains nothing.)
import type { HistoryRecord, LeaderSample, NemesisEvent, Op } from '../history.js';
import { groupBy } from './ops.js';

/** A fault that began shortly before the write can still take its leader down afterwards. */
export const lossWindowBeforeMs = 1000;
/** Replication of an appended entry normally follows within milliseconds; a leader gone by then explains a loss. */
export const lossWindowAfterMs = 5000;

export interface LeaderFailure {
  /** When it happened: a nemesis start, or the sample that first showed the change. */
  readonly timeMs: number;
  /** For a leader change, the previous sample of that node: the change lies in (sinceMs, timeMs]. */
  readonly sinceMs: number;
  readonly what: string;
}

const failingFaults: ReadonlySet<NemesisEvent['fault']> = new Set(['kill', 'pause', 'partition']);

export class FailoverEvidence {
  private readonly failures: readonly LeaderFailure[];

  constructor(records: readonly HistoryRecord[]) {
    const failures: LeaderFailure[] = [];
    for (const r of records) {
      if (r.type === 'nemesis' && r.phase === 'start' && failingFaults.has(r.fault)) {
        failures.push({ timeMs: r.timeMs, sinceMs: r.timeMs, what: `${r.fault} ${r.detail}` });
      }
    }
    const samples = records.filter((r): r is LeaderSample => r.type === 'leader');
    for (const [node, list] of groupBy(samples, (s) => s.node)) {
      list.sort((a, b) => a.timeMs - b.timeMs);
      for (let i = 1; i < list.length; i++) {
        const prev = list[i - 1] as LeaderSample;
        const cur = list[i] as LeaderSample;
        if (prev.leader === cur.leader && prev.term === cur.term) continue;
        const what = `${node} saw leader ${prev.leader ?? 'none'} (term ${prev.term}) → ${cur.leader ?? 'none'} (term ${cur.term})`;
        failures.push({ timeMs: cur.timeMs, sinceMs: prev.timeMs, what });
      }
    }
    this.failures = failures.sort((a, b) => a.timeMs - b.timeMs);
  }

  /** The first leader failure that could explain losing `op`, or null when none could. */
  explain(op: Op): LeaderFailure | null {
    const from = op.invokeMs - lossWindowBeforeMs;
    const to = op.completeMs + lossWindowAfterMs;
    for (const f of this.failures) {
      if (f.timeMs >= from && f.sinceMs <= to) return f;
    }
    return null;
  }
}
