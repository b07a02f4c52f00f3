// Shared plot geometry: the time axis every plot lines up on, fault bands, the heal line.
import assert from 'node:assert/strict';
import type { FaultInterval } from './faults.js';
import { coord, escapeHtml, seconds, shown } from './text.js';

/** Room for row labels left of the plots. */
export const PLOT_LEFT_PX = 70;
/** Width of the time axis; one pixel is endMs / PLOT_WIDTH_PX milliseconds. */
export const PLOT_WIDTH_PX = 1200;
export const SVG_WIDTH_PX = PLOT_LEFT_PX + PLOT_WIDTH_PX + 20;
/** Lanes for fault labels above the timeline before labels are allowed to overlap. */
export const FAULT_LABEL_LANES_MAX = 4;
export const FAULT_LABEL_LANE_PX = 13;
const FAULT_LABEL_CHARS_MAX = 32;
/** Rough width of a label character at the label font size, to keep labels apart. */
const LABEL_CHAR_PX = 6;
/** Time axis ticks aim for about this many. */
const TIME_TICKS_TARGET = 12;

export class TimeScale {
  readonly msPerPx: number;
  constructor(readonly endMs: number) {
    assert.ok(endMs > 0, 'a time axis needs a positive length');
    this.msPerPx = endMs / PLOT_WIDTH_PX;
  }
  /** x of a time, clamped to the axis. */
  x(ms: number): number {
    return PLOT_LEFT_PX + Math.min(Math.max(ms, 0), this.endMs) / this.msPerPx;
  }
}

/** A round step (1, 2, 5 × 10^k ms, at least 1 ms) giving about `target` steps over `span`. */
export function niceStep(span: number, target: number): number {
  const raw = Math.max(span / target, 1);
  const decade = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * decade).find((s) => s >= raw) as number;
  return step;
}

/** Vertical grid lines from top to bottom with second labels under bottom. */
export function timeAxis(scale: TimeScale, top: number, bottom: number): string {
  const step = niceStep(scale.endMs, TIME_TICKS_TARGET);
  const parts: string[] = [`<g class="axis">`];
  for (let t = 0; t <= scale.endMs; t += step) {
    const x = coord(scale.x(t));
    parts.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/><text x="${x}" y="${bottom + 12}" text-anchor="middle">${t / 1000}</text>`);
  }
  parts.push(`<text x="${PLOT_LEFT_PX + PLOT_WIDTH_PX}" y="${bottom + 24}" text-anchor="end">time (s)</text></g>`);
  return parts.join('');
}

function faultSpan(f: FaultInterval, scale: TimeScale, healedMs: number | undefined): { x0: number; x1: number } | undefined {
  if (f.startMs === null) return undefined;
  const x0 = scale.x(f.startMs);
  return { x0, x1: Math.max(scale.x(f.endMs ?? healedMs ?? scale.endMs), x0 + 1) };
}

const FAULT_KINDS: ReadonlySet<string> = new Set(['kill', 'pause', 'partition', 'clock']);

/** CSS class for a fault kind (checked, since it lands in an attribute). */
export function faultClass(fault: string): string {
  return FAULT_KINDS.has(fault) ? fault : 'other';
}

export function faultDescription(f: FaultInterval): string {
  const start = f.startMs === null ? '?' : seconds(f.startMs);
  const end = f.endMs === null ? 'not stopped' : seconds(f.endMs);
  const stop = f.stopDetail === undefined ? '' : ` (stop: ${shown(f.stopDetail, 200)})`;
  return `${f.fault} ${start}–${end} s: ${shown(f.detail, 200)}${stop}`;
}

/** Greedy lanes so that labels starting at xs[i] and `widths[i]` wide do not overlap. */
export function labelLanes(xs: readonly number[], widths: readonly number[], lanesMax: number): number[] {
  const laneEnds: number[] = [];
  return xs.map((x, i) => {
    let lane = laneEnds.findIndex((end) => end <= x);
    if (lane < 0) lane = laneEnds.length < lanesMax ? laneEnds.length : lanesMax - 1;
    laneEnds[lane] = x + (widths[i] as number);
    return lane;
  });
}

/**
 * Translucent bands for the faults from top to bottom, drawn over the data (they
 * let the pointer through to it); with labels, each gets a label in the
 * FAULT_LABEL_LANES_MAX lanes above top, which carries the hover text.
 */
export function faultBands(faults: readonly FaultInterval[], scale: TimeScale, healedMs: number | undefined, top: number, bottom: number, labelled: boolean): string {
  const drawn = faults.flatMap((f) => {
    const span = faultSpan(f, scale, healedMs);
    return span === undefined ? [] : [{ f, ...span }];
  });
  const parts: string[] = ['<g class="bands">'];
  for (const { f, x0, x1 } of drawn) {
    parts.push(`<rect class="band ${faultClass(f.fault)}" x="${coord(x0)}" y="${top}" width="${coord(x1 - x0)}" height="${bottom - top}"/>`);
  }
  if (labelled) {
    const labels = drawn.map(({ f }) => shown(`${f.fault}: ${f.detail}`, FAULT_LABEL_CHARS_MAX));
    const lanes = labelLanes(drawn.map((b) => b.x0), labels.map((l) => l.length * LABEL_CHAR_PX + 8), FAULT_LABEL_LANES_MAX);
    drawn.forEach(({ f, x0 }, i) => {
      const y = top - 4 - (FAULT_LABEL_LANES_MAX - 1 - (lanes[i] as number)) * FAULT_LABEL_LANE_PX;
      parts.push(`<text class="band-label ${faultClass(f.fault)}" x="${coord(x0 + 2)}" y="${y}">${escapeHtml(labels[i] as string)}<title>${escapeHtml(faultDescription(f))}</title></text>`);
    });
  }
  parts.push('</g>');
  return parts.join('');
}

/** The moment the nemesis stopped and final reads began. */
export function healLine(healedMs: number | undefined, scale: TimeScale, top: number, bottom: number): string {
  if (healedMs === undefined) return '';
  const x = coord(scale.x(healedMs));
  return `<g class="heal"><line x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/><text x="${x}" y="${bottom - 3}" text-anchor="end">healed </text><title>healed at ${seconds(healedMs)} s</title></g>`;
}

/** Left-hand row label. */
export function rowLabel(text: string, y: number): string {
  return `<text class="row-label" x="${PLOT_LEFT_PX - 6}" y="${coord(y)}" text-anchor="end" dominant-baseline="middle">${escapeHtml(text)}</text>`;
}
