// Collects one workload's findings into a CheckResult per consistency level.
//
// An anomaly is charged to the level whose promise it breaks: a read's anomaly to the
// read's level, a lost write to the write's level, and what only the final reads
// reveal (divergence, a counter's bounds) to 'strong', the level of the final reads.
// A level is present when an operation ran at it (final reads run at strong).
import type { Anomaly, CheckResult, Level, Op, Workload } from '../history.js';
import { levelsStrongestFirst } from './ops.js';

interface LevelFindings {
  readonly anomalies: Anomaly[];
  readonly allowedLosses: Anomaly[];
  readonly counts: Record<string, number>;
}

export class WorkloadReport {
  private readonly levels = new Map<Level, LevelFindings>();

  constructor(
    private readonly workload: Workload,
    ops: readonly Op[],
  ) {
    const keysByLevel = new Map<Level, Set<string>>();
    for (const op of ops) {
      this.add(op.level, 'ops');
      this.add(op.level, op.outcome);
      if (op.final === true) this.add(op.level, 'final');
      if (op.f === 'read' && op.outcome === 'ok') this.add(op.level, 'reads');
      const keys = keysByLevel.get(op.level) ?? new Set<string>();
      keys.add(op.key);
      keysByLevel.set(op.level, keys);
    }
    for (const [level, keys] of keysByLevel) this.set(level, 'keys', keys.size);
  }

  anomaly(level: Level, a: Anomaly): void {
    this.at(level).anomalies.push(a);
  }

  allowedLoss(level: Level, a: Anomaly): void {
    this.at(level).allowedLosses.push(a);
  }

  add(level: Level, count: string, n = 1): void {
    const counts = this.at(level).counts;
    counts[count] = (counts[count] ?? 0) + n;
  }

  /** For what belongs to no level: a key the final reads did not cover, whose losses go unchecked. */
  addToStrongest(count: string): void {
    const level = levelsStrongestFirst.find((l) => this.levels.has(l));
    if (level !== undefined) this.add(level, count);
  }

  set(level: Level, count: string, n: number): void {
    this.at(level).counts[count] = n;
  }

  results(): CheckResult[] {
    const out: CheckResult[] = [];
    for (const level of levelsStrongestFirst) {
      const f = this.levels.get(level);
      if (f === undefined) continue;
      const counts = { ok: 0, fail: 0, info: 0, ...f.counts, anomalies: f.anomalies.length, allowedLosses: f.allowedLosses.length };
      const result: CheckResult = { workload: this.workload, level, valid: f.anomalies.length === 0, anomalies: f.anomalies, counts };
      out.push(f.allowedLosses.length > 0 ? { ...result, allowedLosses: f.allowedLosses } : result);
    }
    return out;
  }

  private at(level: Level): LevelFindings {
    let f = this.levels.get(level);
    if (f === undefined) this.levels.set(level, (f = { anomalies: [], allowedLosses: [], counts: {} }));
    return f;
  }
}
