// Latency scatter (log scale) with per-second p50/p99/max, and throughput per second,
// both on the timeline's time axis with the same fault bands.
import type { Op } from '../history.js';
import { opBrief } from './op-text.js';
import { PLOT_LEFT_PX, PLOT_WIDTH_PX, SVG_WIDTH_PX, TimeScale, faultBands, healLine, niceStep, timeAxis } from './plot.js';
import type { OpMark, RunModel } from './run-model.js';
import { outcomeClass } from './timeline.js';
import { coord, escapeHtml } from './text.js';

/** Latencies below this are drawn at it (the log axis has to start somewhere). */
export const LATENCY_FLOOR_MS = 0.1;
/** ok points are thinned to one per cell this many pixels square (about a dot). */
export const SCATTER_CELL_PX = 2;
/** Radius of a titled dot; plain dots are round caps of twice this width. */
const DOT_RADIUS_PX = 1.3;
/**
 * Failures are never thinned, and fast ones can number tens of thousands; past this
 * many, their dots go without hover text (each one's bar on the timeline has it).
 */
export const SCATTER_TITLES_MAX = 5000;
const LATENCY_PLOT_PX = 280;
const THROUGHPUT_PLOT_PX = 150;
const PLOT_TOP_PX = 10;
const AXIS_PX = 30;
const BUCKET_MS = 1000;

export class LogScale {
  readonly lowMs: number;
  readonly highMs: number;
  constructor(minMs: number, maxMs: number, private readonly top: number, private readonly height: number) {
    this.lowMs = 10 ** Math.floor(Math.log10(Math.max(minMs, LATENCY_FLOOR_MS)));
    this.highMs = Math.max(10 ** Math.ceil(Math.log10(Math.max(maxMs, LATENCY_FLOOR_MS))), this.lowMs * 10);
  }
  y(ms: number): number {
    const span = Math.log10(this.highMs) - Math.log10(this.lowMs);
    const at = (Math.log10(Math.max(ms, this.lowMs)) - Math.log10(this.lowMs)) / span;
    return this.top + this.height * (1 - at);
  }
}

export interface ScatterPoint {
  readonly op: Op;
  readonly x: number;
  readonly y: number;
  /** Drawn with a hover title: fail, info and marked operations. */
  readonly detailed: boolean;
  readonly mark?: OpMark;
}

/** Every fail, info and marked operation, and one ok operation per SCATTER_CELL_PX cell. */
export function scatterPoints(ops: readonly Op[], scale: TimeScale, yScale: LogScale, marks: ReadonlyMap<number, OpMark>): ScatterPoint[] {
  const taken = new Set<number>();
  const points: ScatterPoint[] = [];
  for (const op of ops) {
    const x = scale.x(op.invokeMs);
    const y = yScale.y(op.completeMs - op.invokeMs);
    const mark = marks.get(op.index);
    if (op.outcome === 'ok' && mark === undefined) {
      const cell = Math.floor(x / SCATTER_CELL_PX) * 1e6 + Math.floor(y / SCATTER_CELL_PX);
      if (taken.has(cell)) continue;
      taken.add(cell);
      points.push({ op, x, y, detailed: false });
    } else {
      points.push({ op, x, y, detailed: true, ...(mark === undefined ? {} : { mark }) });
    }
  }
  return points;
}

export interface SecondStats {
  readonly second: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] as number;
}

/** Latency of ok operations by the second they were invoked in; seconds with none are left out. */
export function latencyPerSecond(ops: readonly Op[]): SecondStats[] {
  const buckets = new Map<number, number[]>();
  for (const op of ops) {
    if (op.outcome !== 'ok') continue;
    const second = Math.floor(op.invokeMs / BUCKET_MS);
    const list = buckets.get(second);
    if (list === undefined) buckets.set(second, [op.completeMs - op.invokeMs]);
    else list.push(op.completeMs - op.invokeMs);
  }
  return [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([second, list]) => {
      list.sort((a, b) => a - b);
      return { second, p50Ms: percentile(list, 0.5), p99Ms: percentile(list, 0.99), maxMs: list[list.length - 1] as number };
    });
}

/** A line through per-second points, broken where a second is missing. */
function secondsPath(points: readonly { second: number; y: number }[], scale: TimeScale): string {
  let d = '';
  let previous: number | undefined;
  for (const { second, y } of points) {
    d += `${previous === second - 1 ? 'L' : 'M'}${coord(scale.x((second + 0.5) * BUCKET_MS))} ${coord(y)}`;
    previous = second;
  }
  return d;
}

/**
 * Dots without hover text go into one path per outcome, each dot a zero-length
 * segment with a round cap (a few bytes a dot); dots with hover text are circles,
 * drawn last so failures and marked operations sit on top.
 */
function scatterSvg(points: readonly ScatterPoint[]): string {
  const titled = points.filter((p) => p.detailed).length <= SCATTER_TITLES_MAX;
  const plain = new Map<string, string[]>();
  const circles: string[] = [];
  const markedCircles: string[] = [];
  for (const p of points) {
    const outcome = outcomeClass(p.op.outcome);
    if (p.detailed && (titled || p.mark !== undefined)) {
      const cls = `pt ${outcome}${p.mark === undefined ? '' : ` ${p.mark}`}`;
      (p.mark === undefined ? circles : markedCircles).push(`<circle class="${cls}" cx="${coord(p.x)}" cy="${coord(p.y)}" r="${DOT_RADIUS_PX}"><title>${escapeHtml(opBrief(p.op))}</title></circle>`);
      continue;
    }
    const list = plain.get(outcome);
    const segment = `M${coord(p.x)} ${coord(p.y)}h0`;
    if (list === undefined) plain.set(outcome, [segment]);
    else list.push(segment);
  }
  const paths = ['ok', 'info', 'fail'].filter((o) => plain.has(o)).map((o) => `<path class="dots ${o}" d="${(plain.get(o) as string[]).join('')}"/>`);
  return [...paths, ...circles, ...markedCircles].join('');
}

function svgOpen(height: number, label: string): string {
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SVG_WIDTH_PX} ${height}" width="${SVG_WIDTH_PX}" height="${height}" role="img" aria-label="${label}">`;
}

export function renderLatency(model: RunModel): string {
  const scale = new TimeScale(model.endMs);
  let minMs = Infinity;
  let maxMs = 0;
  for (const op of model.ops) {
    minMs = Math.min(minMs, op.completeMs - op.invokeMs);
    maxMs = Math.max(maxMs, op.completeMs - op.invokeMs);
  }
  const top = PLOT_TOP_PX;
  const bottom = top + LATENCY_PLOT_PX;
  const yScale = new LogScale(Number.isFinite(minMs) ? minMs : 1, maxMs, top, LATENCY_PLOT_PX);
  const parts = [
    svgOpen(bottom + AXIS_PX, 'latency of every operation over time, log scale'),
    `<rect class="plot-bg" x="${PLOT_LEFT_PX}" y="${top}" width="${PLOT_WIDTH_PX}" height="${LATENCY_PLOT_PX}"/>`,
    timeAxis(scale, top, bottom),
    '<g class="axis">',
  ];
  for (let ms = yScale.lowMs; ms <= yScale.highMs * 1.0001; ms *= 10) {
    const y = coord(yScale.y(ms));
    const label = ms >= 1000 ? `${ms / 1000} s` : `${Number(ms.toPrecision(1))} ms`;
    parts.push(`<line x1="${PLOT_LEFT_PX}" x2="${PLOT_LEFT_PX + PLOT_WIDTH_PX}" y1="${y}" y2="${y}"/><text x="${PLOT_LEFT_PX - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label}</text>`);
  }
  parts.push('</g>');

  parts.push(scatterSvg(scatterPoints(model.ops, scale, yScale, model.marks)));
  const stats = latencyPerSecond(model.ops);
  for (const [cls, pick] of [['p50', (s: SecondStats) => s.p50Ms], ['p99', (s: SecondStats) => s.p99Ms], ['pmax', (s: SecondStats) => s.maxMs]] as const) {
    parts.push(`<path class="pline ${cls}" d="${secondsPath(stats.map((s) => ({ second: s.second, y: yScale.y(pick(s)) })), scale)}"/>`);
  }
  parts.push(faultBands(model.faults, scale, model.meta.healedMs, top, bottom, false), healLine(model.meta.healedMs, scale, top, bottom), '</svg>');
  return parts.join('');
}

export interface SecondCounts {
  readonly second: number;
  ok: number;
  fail: number;
  info: number;
}

/** Operations completed per second, by outcome, for every second of the run. */
export function throughputPerSecond(ops: readonly Op[], endMs: number): SecondCounts[] {
  const counts: SecondCounts[] = [];
  for (let second = 0; second * BUCKET_MS < endMs; second++) counts.push({ second, ok: 0, fail: 0, info: 0 });
  for (const op of ops) {
    const c = counts[Math.min(Math.max(Math.floor(op.completeMs / BUCKET_MS), 0), counts.length - 1)];
    if (c !== undefined) c[op.outcome]++;
  }
  return counts;
}

export function renderThroughput(model: RunModel): string {
  const scale = new TimeScale(model.endMs);
  const top = PLOT_TOP_PX;
  const bottom = top + THROUGHPUT_PLOT_PX;
  const counts = throughputPerSecond(model.ops, model.endMs);
  const peak = counts.reduce((m, c) => Math.max(m, c.ok, c.fail, c.info), 1);
  const step = niceStep(peak, 4);
  const high = Math.ceil(peak / step) * step;
  const y = (n: number): number => bottom - (n / high) * THROUGHPUT_PLOT_PX;
  const parts = [
    svgOpen(bottom + AXIS_PX, 'operations per second by outcome'),
    `<rect class="plot-bg" x="${PLOT_LEFT_PX}" y="${top}" width="${PLOT_WIDTH_PX}" height="${THROUGHPUT_PLOT_PX}"/>`,
    timeAxis(scale, top, bottom),
    '<g class="axis">',
  ];
  for (let n = 0; n <= high; n += step) {
    parts.push(`<line x1="${PLOT_LEFT_PX}" x2="${PLOT_LEFT_PX + PLOT_WIDTH_PX}" y1="${coord(y(n))}" y2="${coord(y(n))}"/><text x="${PLOT_LEFT_PX - 6}" y="${coord(y(n))}" text-anchor="end" dominant-baseline="middle">${n}</text>`);
  }
  parts.push('</g>');
  for (const outcome of ['ok', 'fail', 'info'] as const) {
    const d = secondsPath(counts.map((c) => ({ second: c.second, y: y(c[outcome]) })), scale);
    parts.push(`<path class="tline ${outcome}" d="${d}"><title>${outcome} ops/s</title></path>`);
  }
  parts.push(faultBands(model.faults, scale, model.meta.healedMs, top, bottom, false), healLine(model.meta.healedMs, scale, top, bottom), '</svg>');
  return parts.join('');
}
