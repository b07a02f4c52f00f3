// Operations in words, for hover titles and the anomaly tables. Results are plain
// text with history strings made printable; callers escape them for HTML.
import type { Op } from '../history.js';
import { TITLE_TEXT_MAX, latency, seconds, shown } from './text.js';

/** Tokens of an append read shown in a title: this many from each end. */
const TITLE_TOKENS_EACH_END = 3;

function tokenList(tokens: readonly string[], max: number, brief: boolean): string {
  const show = (t: string): string => shown(t, max);
  if (!brief || tokens.length <= 2 * TITLE_TOKENS_EACH_END) return `[${tokens.map(show).join(' ')}]`;
  const head = tokens.slice(0, TITLE_TOKENS_EACH_END).map(show).join(' ');
  const tail = tokens.slice(-TITLE_TOKENS_EACH_END).map(show).join(' ');
  return `[${tokens.length} tokens: ${head} … ${tail}]`;
}

/**
 * What the operation wrote or read, e.g. `"v17"`, `42`, `+"t9"`, `[t1 t2]`, `nil`;
 * brief clips long lists for a hover title.
 */
export function opValue(op: Op, max: number, brief: boolean): string {
  const quoted = (s: string): string => `"${shown(s, max)}"`;
  switch (op.f) {
    case 'write':
      return op.workload === 'ttl' ? `${quoted(op.value)} px ${op.ttlMs}` : quoted(op.value);
    case 'pttl':
      return op.outcome !== 'ok' || op.pttlMs === null ? '?' : `${op.pttlMs} ms`;
    case 'incr':
      return op.result === null ? '?' : String(op.result);
    case 'append':
      return `+${quoted(op.token)}`;
    case 'read':
      if (op.outcome !== 'ok') return '?';
      if (op.workload === 'append') return tokenList(op.tokens, max, brief);
      return op.value === null ? 'nil' : typeof op.value === 'number' ? String(op.value) : quoted(op.value);
  }
}

/** One line of hover text: `#12 write "k" "v" → ok 3.2 ms | n2 strong | process 7 | 1.234–1.237 s` (the row gives the client). */
export function opTitle(op: Op): string {
  // A failed operation certainly did nothing, so what it would have written or read
  // is left out: fast failures can be tens of thousands in a run.
  const value = op.outcome === 'fail' ? '' : ` ${opValue(op, TITLE_TEXT_MAX, true)}`;
  const parts = [
    `#${op.index} ${op.f} "${shown(op.key, TITLE_TEXT_MAX)}"${value} → ${op.outcome} ${latency(op.completeMs - op.invokeMs)}`,
    `${op.node} ${op.level}${op.final === true ? ' final' : ''}`,
    `process ${op.process}`,
    `${seconds(op.invokeMs)}–${seconds(op.completeMs)} s`,
  ];
  if (op.error !== undefined) parts.push(shown(op.error, TITLE_TEXT_MAX));
  return parts.join(' | ');
}

/** Short hover text for a latency dot: `#12 write fail 0.51 ms n2`. */
export function opBrief(op: Op): string {
  return `#${op.index} ${op.f} ${op.outcome} ${latency(op.completeMs - op.invokeMs)} ${shown(op.node, TITLE_TEXT_MAX)}`;
}
