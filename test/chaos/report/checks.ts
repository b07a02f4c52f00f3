// The check results: counts per (workload, level), each anomaly with the operations
// it names, and the losses a level is allowed, listed apart from the anomalies.
import type { Anomaly, CheckResult, Op } from '../history.js';
import { opValue } from './op-text.js';
import { clip, escapeHtml, historyText, latency, seconds } from './text.js';

/** A broken store can produce thousands; the rest are in the checker's own output. */
export const ANOMALIES_SHOWN_MAX = 100;
export const OPS_PER_ANOMALY_MAX = 40;
/** Longest value cell (an append read can hold thousands of tokens). */
const VALUE_CELL_CHARS_MAX = 4000;

const OP_COLUMNS = ['op', 'f', 'key', 'value', 'outcome', 'latency', 'level', 'node', 'process', 'client', 'invoke (s)', 'complete (s)', 'error'];

function opRow(index: number, op: Op | undefined): string {
  if (op === undefined) return `<tr><td>#${index}</td><td colspan="${OP_COLUMNS.length - 1}">not in the history</td></tr>`;
  const cells = [
    `<a href="#op${op.index}">#${op.index}</a>${op.final === true ? ' final' : ''}`,
    escapeHtml(op.f),
    historyText(op.key),
    escapeHtml(clip(opValue(op, VALUE_CELL_CHARS_MAX, false), VALUE_CELL_CHARS_MAX)),
    `<span class="${escapeHtml(op.outcome)}">${escapeHtml(op.outcome)}</span>`,
    latency(op.completeMs - op.invokeMs),
    escapeHtml(op.level),
    historyText(op.node, 100),
    String(op.process),
    String(op.client),
    seconds(op.invokeMs),
    seconds(op.completeMs),
    op.error === undefined ? '' : historyText(op.error, 500),
  ];
  return `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
}

function anomalyList(title: string, cls: string, anomalies: readonly Anomaly[], opsByIndex: ReadonlyMap<number, Op>): string {
  if (anomalies.length === 0) return '';
  const parts = [`<h4>${title} (${anomalies.length})</h4>`];
  for (const a of anomalies.slice(0, ANOMALIES_SHOWN_MAX)) {
    const key = a.key === undefined ? '' : ` on key <code>${historyText(a.key, 200)}</code>`;
    parts.push(`<div class="${cls}"><p><b>${historyText(a.kind, 100)}</b>${key}: ${historyText(a.message)}</p>`);
    const ops = a.ops ?? [];
    if (ops.length > 0) {
      parts.push(`<table class="ops"><tr>${OP_COLUMNS.map((c) => `<th>${c}</th>`).join('')}</tr>`);
      for (const i of ops.slice(0, OPS_PER_ANOMALY_MAX)) parts.push(opRow(i, opsByIndex.get(i)));
      parts.push('</table>');
      if (ops.length > OPS_PER_ANOMALY_MAX) parts.push(`<p class="note">… and ${ops.length - OPS_PER_ANOMALY_MAX} more operations</p>`);
    }
    parts.push('</div>');
  }
  if (anomalies.length > ANOMALIES_SHOWN_MAX) parts.push(`<p class="note">… and ${anomalies.length - ANOMALIES_SHOWN_MAX} more not shown</p>`);
  return parts.join('\n');
}

export function renderChecks(results: readonly CheckResult[], opsByIndex: ReadonlyMap<number, Op>): string {
  const parts: string[] = [];
  for (const r of results) {
    const counts = Object.entries(r.counts);
    parts.push(
      `<section class="check ${r.valid ? 'valid' : 'invalid'}">`,
      `<h3>${historyText(r.workload, 50)} / ${historyText(r.level, 50)}: ${r.valid ? 'VALID' : 'INVALID'}</h3>`,
      counts.length === 0
        ? ''
        : `<table class="counts"><tr>${counts.map(([k]) => `<th>${historyText(k, 100)}</th>`).join('')}</tr><tr>${counts.map(([, v]) => `<td>${String(v)}</td>`).join('')}</tr></table>`,
      r.anomalies.length === 0 ? '<p>No anomalies.</p>' : anomalyList('Anomalies', 'anomaly', r.anomalies, opsByIndex),
      anomalyList('Allowed losses', 'allowed-loss', r.allowedLosses ?? [], opsByIndex),
      '</section>',
    );
  }
  return parts.join('\n');
}
