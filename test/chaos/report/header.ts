// The top of the report: the verdict in big colour and how the run was set up.
import type { CheckResult, RunMeta } from '../history.js';
import type { RunModel } from './run-model.js';
import { escapeHtml, historyText, seconds } from './text.js';

export type Validity = 'valid' | 'invalid' | 'unchecked';

/** From the results when there are any, else from the verdict line's first word. */
export function validity(results: readonly CheckResult[], verdict: string): Validity {
  if (results.length > 0) return results.every((r) => r.valid) ? 'valid' : 'invalid';
  if (/^VALID\b/.test(verdict)) return 'valid';
  if (/^INVALID\b/.test(verdict)) return 'invalid';
  return 'unchecked';
}

/** Quotes a shell word unless it is plainly safe. */
function shellWord(s: string): string {
  return /^[\w.,:@%+=/-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The network mode is the first word of RunMeta.network ("netns" or "proxy", then why). */
export function networkMode(meta: RunMeta): string {
  return meta.network.trim().split(/[\s:;,(]/)[0] ?? '';
}

/**
 * The command line that reruns this seed with the same setup, in the flags of
 * test/chaos/cli.ts. Options the meta does not record (--lease-reads, --tick-ms,
 * timeouts) are left at their defaults.
 */
export function reproduceCommand(meta: RunMeta): string {
  if (meta.replay !== undefined) return meta.replay;
  const flags: [string, string][] = [
    ['seed', String(meta.seed)],
    ['nodes', String(meta.nodes.length)],
    ['time', String(meta.timeS)],
    ['nemesis', meta.nemeses.join(',') || 'none'],
    ['workload', meta.workloads.join(',')],
    ['consistency', meta.levels.join(',')],
    ['clients', String(meta.clients)],
  ];
  const mode = networkMode(meta);
  if (mode === 'netns' || mode === 'proxy') flags.push(['network', mode]);
  return ['npm run chaos --', ...flags.map(([k, v]) => `--${k} ${shellWord(v)}`)].join(' ');
}

const BIG_WORD: Readonly<Record<Validity, string>> = { valid: 'VALID', invalid: 'INVALID', unchecked: 'NOT CHECKED' };

export function renderHeader(model: RunModel, results: readonly CheckResult[], verdict: string): string {
  const { meta, ops } = model;
  const v = validity(results, verdict);
  const outcomes = { ok: 0, fail: 0, info: 0 };
  for (const op of ops) outcomes[op.outcome]++;
  const list = (items: readonly string[]): string => (items.length === 0 ? '—' : items.map((s) => historyText(s, 200)).join(', '));
  const facts: [string, string][] = [
    ['seed', String(meta.seed)],
    ['nodes', `${meta.nodes.length}: ${list(meta.nodes)}`],
    ['duration', `${meta.timeS} s planned, ${seconds(model.endMs)} s recorded${meta.healedMs === undefined ? '' : `, healed at ${seconds(meta.healedMs)} s`}`],
    ['network', historyText(meta.network, 500)],
    ['nemeses', list(meta.nemeses)],
    ['workloads', list(meta.workloads)],
    ['levels', list(meta.levels)],
    ['clients', String(meta.clients)],
    ['operations', `${ops.length} (ok ${outcomes.ok}, fail ${outcomes.fail}, info ${outcomes.info})`],
    ['faults', String(model.faults.length)],
    ['started', historyText(meta.startedAt, 100)],
  ];
  return [
    `<header class="summary ${v}">`,
    `<div class="big">${BIG_WORD[v]}</div>`,
    verdict === '' ? '' : `<p class="verdict-line"><code>${historyText(verdict)}</code></p>`,
    '<dl class="facts">',
    ...facts.map(([k, val]) => `<div><dt>${k}</dt><dd>${val}</dd></div>`),
    '</dl>',
    `<p class="repro">Reproduce: <code>${escapeHtml(reproduceCommand(meta))}</code></p>`,
    '</header>',
  ].join('\n');
}
