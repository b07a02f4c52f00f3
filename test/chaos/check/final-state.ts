// A key's final state: what the strong reads made after healing agree on. They are
// linearizable reads of a settled cluster, so any disagreement is itself an anomaly
// ('divergent-final'), and the checks that need the final state skip that key.
import type { HistoryRead } from './ops.js';
import type { WorkloadReport } from './report.js';

export function agreedFinal<R extends HistoryRead, T>(
  key: string,
  finalReads: readonly R[],
  valueOf: (read: R) => T,
  report: WorkloadReport,
): T | undefined {
  const first = finalReads[0];
  if (first === undefined) return undefined;
  const distinct = new Map<string, R>();
  for (const r of finalReads) {
    const shown = JSON.stringify(valueOf(r));
    if (!distinct.has(shown)) distinct.set(shown, r);
  }
  if (distinct.size === 1) return valueOf(first);
  const seen = [...distinct].map(([shown, r]) => `${r.node}: ${shown}`).join('; ');
  report.anomaly('strong', {
    kind: 'divergent-final',
    key,
    ops: finalReads.map((r) => r.index),
    message: `final reads of '${key}' disagree after healing: ${seen}`,
  });
  return undefined;
}
