// Pairing the nemesis's start and stop events into fault intervals.
import type { NemesisEvent } from '../history.js';

export interface FaultInterval {
  readonly fault: NemesisEvent['fault'];
  readonly nodes: readonly string[];
  readonly detail: string;
  /** What the stop event said, when it said something different. */
  readonly stopDetail?: string;
  /** null: a stop with no matching start. */
  readonly startMs: number | null;
  /** null: never stopped (the run ended or healed with the fault still on). */
  readonly endMs: number | null;
}

const sameNodes = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join('\0') === [...b].sort().join('\0');

/**
 * A stop closes the earliest open start of the same fault on the same nodes, or
 * failing that the earliest open start of the same fault. Result in start order.
 */
export function pairFaults(events: readonly NemesisEvent[]): FaultInterval[] {
  const ordered = [...events].sort((a, b) => a.timeMs - b.timeMs);
  const open: NemesisEvent[] = [];
  const intervals: FaultInterval[] = [];
  for (const e of ordered) {
    if (e.phase === 'start') {
      open.push(e);
      continue;
    }
    let i = open.findIndex((s) => s.fault === e.fault && sameNodes(s.nodes, e.nodes));
    if (i < 0) i = open.findIndex((s) => s.fault === e.fault);
    if (i < 0) {
      intervals.push({ fault: e.fault, nodes: e.nodes, detail: e.detail, startMs: null, endMs: e.timeMs });
      continue;
    }
    const [start] = open.splice(i, 1) as [NemesisEvent];
    const stopDetail = e.detail !== '' && e.detail !== start.detail ? { stopDetail: e.detail } : {};
    intervals.push({ fault: start.fault, nodes: start.nodes, detail: start.detail, ...stopDetail, startMs: start.timeMs, endMs: e.timeMs });
  }
  for (const s of open) intervals.push({ fault: s.fault, nodes: s.nodes, detail: s.detail, startMs: s.timeMs, endMs: null });
  return intervals.sort((a, b) => (a.startMs ?? a.endMs ?? 0) - (b.startMs ?? b.endMs ?? 0));
}
