// The main plot: one row per client slot with every operation as a bar from invoke
// to complete, one row per node with its faults and whom it believes is leader,
// fault bands across everything and the heal line.
import assert from 'node:assert/strict';
import type { LeaderSample, Op, OpType } from '../history.js';
import type { FaultInterval } from './faults.js';
import { opTitle } from './op-text.js';
import { FAULT_LABEL_LANES_MAX, FAULT_LABEL_LANE_PX, PLOT_LEFT_PX, PLOT_WIDTH_PX, SVG_WIDTH_PX, TimeScale, faultBands, faultClass, faultDescription, healLine, rowLabel, timeAxis } from './plot.js';
import type { OpMark, RunModel } from './run-model.js';
import { TITLE_TEXT_MAX, coord, escapeHtml, latency, seconds, shown } from './text.js';

const CLIENT_ROW_PX = 14;
const BAR_PX = 10;
const NODE_ROW_PX = 24;
const NODE_STATE_PX = 9;
const LEADER_STRIP_PX = 7;
const SECTION_GAP_PX = 14;
const AXIS_PX = 30;
/** Narrower bars are drawn this wide so a single fast failure stays visible. */
const BAR_MIN_PX = 1;
/** Colours for leader ids, by the leader's position in the node list. */
export const LEADER_COLOURS: readonly string[] = ['#1f77b4', '#9467bd', '#17becf', '#e377c2', '#8c564b', '#bcbd22', '#393b79', '#637939', '#7b4173', '#843c39'];

const OUTCOME_CLASSES: ReadonlySet<string> = new Set<OpType>(['ok', 'fail', 'info']);
export const outcomeClass = (outcome: string): string => (OUTCOME_CLASSES.has(outcome) ? outcome : 'info');

/** One bar on a client row: a single operation, or a run of quick ok operations merged. */
export interface TimelineBar {
  readonly client: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly outcome: OpType;
  /** How many operations the bar stands for. */
  readonly count: number;
  /** The operation, when count is 1. */
  readonly op?: Op;
  readonly mark?: OpMark;
  readonly latencyMinMs: number;
  readonly latencyMaxMs: number;
}

/**
 * Bars for the client rows. ok operations of one client, each shorter than a pixel
 * and starting less than a pixel after the previous one ended, merge into one bar;
 * fail, info, marked and longer operations always get their own. A quick failure
 * between two such ok operations does not split their bar (it is drawn on top),
 * so a flaky stretch does not cost a bar per operation.
 */
export function timelineBars(ops: readonly Op[], msPerPx: number, marks: ReadonlyMap<number, OpMark>): TimelineBar[] {
  const byClient = new Map<number, Op[]>();
  for (const op of ops) {
    const list = byClient.get(op.client);
    if (list === undefined) byClient.set(op.client, [op]);
    else list.push(op);
  }
  const bars: TimelineBar[] = [];
  for (const [client, list] of [...byClient].sort((a, b) => a[0] - b[0])) {
    list.sort((a, b) => a.invokeMs - b.invokeMs || a.index - b.index);
    let run: { startMs: number; endMs: number; ops: Op[]; latencyMinMs: number; latencyMaxMs: number } | undefined;
    const flush = (): void => {
      if (run === undefined) return;
      const single = run.ops.length === 1 ? { op: run.ops[0] as Op } : {};
      bars.push({ client, startMs: run.startMs, endMs: run.endMs, outcome: 'ok', count: run.ops.length, ...single, latencyMinMs: run.latencyMinMs, latencyMaxMs: run.latencyMaxMs });
      run = undefined;
    };
    for (const op of list) {
      const latencyMs = op.completeMs - op.invokeMs;
      const mark = marks.get(op.index);
      const mergeable = op.outcome === 'ok' && mark === undefined && latencyMs < msPerPx;
      if (!mergeable) {
        bars.push({ client, startMs: op.invokeMs, endMs: op.completeMs, outcome: op.outcome, count: 1, op, ...(mark === undefined ? {} : { mark }), latencyMinMs: latencyMs, latencyMaxMs: latencyMs });
        continue;
      }
      if (run !== undefined && op.invokeMs - run.endMs < msPerPx) {
        run.endMs = Math.max(run.endMs, op.completeMs);
        run.ops.push(op);
        run.latencyMinMs = Math.min(run.latencyMinMs, latencyMs);
        run.latencyMaxMs = Math.max(run.latencyMaxMs, latencyMs);
        continue;
      }
      flush();
      run = { startMs: op.invokeMs, endMs: op.completeMs, ops: [op], latencyMinMs: latencyMs, latencyMaxMs: latencyMs };
    }
    flush();
  }
  return bars;
}

/** Merged runs first, then single operations, failures and marked ones last so nothing hides them. */
function drawingRank(bar: TimelineBar): number {
  if (bar.op === undefined) return 0;
  if (bar.mark !== undefined) return 3;
  return bar.outcome === 'ok' ? 1 : 2;
}

/** A bar at y = 0 of its row's group. */
function barSvg(bar: TimelineBar, scale: TimeScale): string {
  const x0 = scale.x(bar.startMs);
  const width = Math.max(scale.x(bar.endMs) - x0, BAR_MIN_PX);
  const geometry = `x="${coord(x0)}" width="${coord(width)}" height="${BAR_PX}"`;
  if (bar.op === undefined) {
    const title = `${bar.count} ok ops, ${seconds(bar.startMs)}–${seconds(bar.endMs)} s, latency ${latency(bar.latencyMinMs)}–${latency(bar.latencyMaxMs)}`;
    return `<rect class="ok run" data-ops="${bar.count}" ${geometry}><title>${title}</title></rect>`;
  }
  const title = `<title>${escapeHtml(opTitle(bar.op))}${bar.mark === undefined ? '' : ` [${bar.mark}]`}</title>`;
  if (bar.mark === undefined) return `<rect class="${outcomeClass(bar.outcome)}" ${geometry}>${title}</rect>`;
  // Marked operations are linked to from the check section.
  return `<rect id="op${bar.op.index}" class="${outcomeClass(bar.outcome)} ${bar.mark}" ${geometry}>${title}</rect>`;
}

interface BeliefSegment {
  readonly leader: string | null;
  readonly term: number;
  readonly startMs: number;
  readonly endMs: number;
}

/**
 * One node's samples (in time order) as runs of the same belief. The monitor may
 * record only changes, so a belief holds until the node's next sample, and the
 * last one until endMs.
 */
export function beliefSegments(samples: readonly LeaderSample[], endMs: number): BeliefSegment[] {
  const segments: BeliefSegment[] = [];
  let current: LeaderSample | undefined;
  for (const s of samples) {
    if (current !== undefined) {
      assert.ok(s.timeMs >= current.timeMs, 'leader samples are in time order');
      if (s.leader === current.leader && s.term === current.term) continue;
      segments.push({ leader: current.leader, term: current.term, startMs: current.timeMs, endMs: s.timeMs });
    }
    current = s;
  }
  if (current !== undefined) segments.push({ leader: current.leader, term: current.term, startMs: current.timeMs, endMs: Math.max(endMs, current.timeMs) });
  return segments;
}

export function leaderColour(leader: string | null, nodes: readonly string[]): string {
  if (leader === null) return '#d9d9d9';
  const i = nodes.indexOf(leader);
  return i < 0 ? '#000000' : (LEADER_COLOURS[i % LEADER_COLOURS.length] as string);
}

/** Kill, pause and clock faults on the node's own row (partitions show as bands only). */
function nodeFaultsSvg(node: string, faults: readonly FaultInterval[], scale: TimeScale, healedMs: number | undefined, y: number): string {
  const parts: string[] = [];
  for (const f of faults) {
    if (f.fault === 'partition' || f.startMs === null || !f.nodes.includes(node)) continue;
    const x0 = scale.x(f.startMs);
    const width = Math.max(scale.x(f.endMs ?? healedMs ?? scale.endMs) - x0, BAR_MIN_PX);
    parts.push(`<rect class="node-fault ${faultClass(f.fault)}" x="${coord(x0)}" y="${y}" width="${coord(width)}" height="${NODE_STATE_PX}"><title>${escapeHtml(`${shown(node, TITLE_TEXT_MAX)}: ${faultDescription(f)}`)}</title></rect>`);
  }
  return parts.join('');
}

function leaderStripSvg(node: string, samples: readonly LeaderSample[], nodes: readonly string[], scale: TimeScale, y: number): string {
  return beliefSegments(samples, scale.endMs)
    .map((seg) => {
      const x0 = scale.x(seg.startMs);
      const width = Math.max(scale.x(seg.endMs) - x0, BAR_MIN_PX);
      const belief = seg.leader === null ? 'no leader' : `leader ${seg.leader}`;
      const title = `${node} believes ${belief} (term ${seg.term}), ${seconds(seg.startMs)}–${seconds(seg.endMs)} s`;
      return `<rect x="${coord(x0)}" y="${y}" width="${coord(width)}" height="${LEADER_STRIP_PX}" fill="${leaderColour(seg.leader, nodes)}"><title>${escapeHtml(shown(title, 200))}</title></rect>`;
    })
    .join('');
}

export function renderTimeline(model: RunModel): string {
  const scale = new TimeScale(model.endMs);
  const healedMs = model.meta.healedMs;
  const top = FAULT_LABEL_LANES_MAX * FAULT_LABEL_LANE_PX + 6;
  // Operations outside the client slots (final reads) get one row after them.
  const rowCount = model.clientSlots + (model.outsideSlots ? 1 : 0);
  const clientsBottom = top + rowCount * CLIENT_ROW_PX;
  const nodesTop = clientsBottom + SECTION_GAP_PX;
  const bottom = nodesTop + model.nodes.length * NODE_ROW_PX;
  const height = bottom + AXIS_PX;

  const parts: string[] = [
    `<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SVG_WIDTH_PX} ${height}" width="${SVG_WIDTH_PX}" height="${height}" role="img" aria-label="timeline of operations, faults and leaders">`,
    `<rect class="plot-bg" x="${PLOT_LEFT_PX}" y="${top}" width="${PLOT_WIDTH_PX}" height="${bottom - top}"/>`,
    timeAxis(scale, top, bottom),
  ];
  const rows: TimelineBar[][] = Array.from({ length: rowCount }, () => []);
  for (const bar of timelineBars(model.ops, scale.msPerPx, model.marks)) (rows[bar.client < 0 ? model.clientSlots : bar.client] as TimelineBar[]).push(bar);
  rows.forEach((bars, row) => {
    const y = top + row * CLIENT_ROW_PX;
    parts.push(rowLabel(row < model.clientSlots ? `client ${row}` : 'final reads', y + CLIENT_ROW_PX / 2), `<g class="ops" transform="translate(0 ${y + (CLIENT_ROW_PX - BAR_PX) / 2})">`);
    for (const bar of bars.sort((a, b) => drawingRank(a) - drawingRank(b))) parts.push(barSvg(bar, scale));
    parts.push('</g>');
  });

  const samplesByNode = new Map<string, LeaderSample[]>(model.nodes.map((n) => [n, []]));
  for (const s of model.leaderSamples) samplesByNode.get(s.node)?.push(s);
  model.nodes.forEach((node, i) => {
    const y = nodesTop + i * NODE_ROW_PX + 2;
    parts.push(rowLabel(shown(node, 12), y + (NODE_STATE_PX + LEADER_STRIP_PX) / 2));
    parts.push(`<rect class="node-row" x="${PLOT_LEFT_PX}" y="${y}" width="${PLOT_WIDTH_PX}" height="${NODE_STATE_PX}"/>`);
    parts.push(nodeFaultsSvg(node, model.faults, scale, healedMs, y));
    parts.push(leaderStripSvg(node, samplesByNode.get(node) ?? [], model.nodes, scale, y + NODE_STATE_PX + 1));
  });
  parts.push(faultBands(model.faults, scale, healedMs, top, bottom, true), healLine(healedMs, scale, top, bottom), '</svg>');
  return parts.join('');
}
