// The append workload (APPEND "<token> " with unique tokens; a read is the token list),
// checked per key. A key's value in the committed log only ever grows at its end, so
// every read of committed state is a prefix of the final list.
// - every ok read: no token twice ('duplicate'); every token was appended to this key
//   by an append that did not fail and was invoked before the read completed ('phantom');
// - final list: holds every acknowledged append ('lost'; ok eventual ones are allowed
//   losses only near a leader failure); an acknowledged append precedes every append
//   invoked after it ('reordered');
// - strong and quorum reads are prefixes of the final list ('divergent-read'); an
//   eventual read that is not saw writes later lost: allowed-loss evidence;
// - strong reads hold every append acknowledged before they began ('stale-read');
// - quorum reads hold the process's own ok appends ('stale-read') and extend its
//   previous read ('nonmonotonic-read').
import assert from 'node:assert/strict';
import type { AppendOp, AppendRead, CheckResult } from '../history.js';
import type { FailoverEvidence } from './failover.js';
import { agreedFinal } from './final-state.js';
import { byProcessInOrder, finishedBefore, groupBy, isAcknowledged, isFinalRead, isLiveRead, showOp, type AppendHistoryOp } from './ops.js';
import { WorkloadReport } from './report.js';

/** Tokens listed in one anomaly's message before "…". */
const tokensShown = 10;

export function checkAppend(ops: readonly AppendHistoryOp[], failover: FailoverEvidence): CheckResult[] {
  const report = new WorkloadReport('append', ops);
  const appendOfToken = new Map<string, AppendOp>();
  for (const op of ops) {
    if (op.f !== 'append') continue;
    assert.ok(!appendOfToken.has(op.token), `append token '${op.token}' used twice (#${appendOfToken.get(op.token)?.index}, #${op.index}): tokens must be unique`);
    appendOfToken.set(op.token, op);
  }
  for (const [key, keyOps] of groupBy(ops, (op) => op.key)) {
    const appends = keyOps.filter((op): op is AppendOp => op.f === 'append');
    const okReads = keyOps.filter((op): op is AppendRead => op.f === 'read' && op.outcome === 'ok');
    for (const read of okReads) checkTokens(read, appendOfToken, report);
    checkStrongReads(okReads, appends, report);
    checkQuorumReads(keyOps, report);
    const finalReads = okReads.filter(isFinalRead);
    if (finalReads.length === 0) report.addToStrongest('keysWithoutFinal');
    const final = agreedFinal(key, finalReads, (r) => r.tokens, report);
    if (final === undefined) continue;
    report.add('strong', 'finalKeys');
    report.add('strong', 'finalTokens', final.length);
    const position = new Map<string, number>();
    final.forEach((token, i) => {
      if (!position.has(token)) position.set(token, i);
    });
    checkLosses(key, appends, position, failover, report);
    checkPrefixes(okReads, final, report);
    checkOrder(key, appends, position, report);
  }
  return report.results();
}

function checkTokens(read: AppendRead, appendOfToken: ReadonlyMap<string, AppendOp>, report: WorkloadReport): void {
  const seen = new Set<string>();
  const twice = new Set<string>();
  const phantoms: string[] = [];
  const involved = [read.index];
  for (const token of read.tokens) {
    if (seen.has(token)) twice.add(token);
    seen.add(token);
    const a = appendOfToken.get(token);
    const why =
      a === undefined ? 'never appended'
      : a.key !== read.key ? `appended to '${a.key}' by #${a.index}`
      : a.outcome === 'fail' ? `its append #${a.index} failed`
      : a.invokeMs > read.completeMs ? `its append #${a.index} was invoked after the read completed`
      : null;
    if (why !== null) {
      phantoms.push(`'${token}' (${why})`);
      if (a !== undefined) involved.push(a.index);
    }
  }
  if (twice.size > 0) {
    report.anomaly(read.level, { kind: 'duplicate', key: read.key, ops: [read.index], message: `${showOp(read)} holds ${shown([...twice])} twice` });
  }
  if (phantoms.length > 0) {
    report.anomaly(read.level, { kind: 'phantom', key: read.key, ops: involved, message: `${showOp(read)} holds ${shown(phantoms)}` });
  }
}

function checkStrongReads(okReads: readonly AppendRead[], appends: readonly AppendOp[], report: WorkloadReport): void {
  const acknowledged = appends.filter(isAcknowledged).sort((a, b) => a.completeMs - b.completeMs);
  for (const read of okReads) {
    if (read.level !== 'strong' || read.final === true) continue;
    const held = new Set(read.tokens);
    const missing: AppendOp[] = [];
    for (const a of acknowledged) {
      if (!finishedBefore(a, read)) break;
      if (!held.has(a.token)) missing.push(a);
    }
    if (missing.length > 0) {
      report.anomaly('strong', {
        kind: 'stale-read',
        key: read.key,
        ops: [read.index, ...missing.map((a) => a.index)],
        message: `${showOp(read)} misses ${shown(missing.map((a) => a.token))}, acknowledged before it began`,
      });
    }
  }
}

function checkQuorumReads(keyOps: readonly AppendHistoryOp[], report: WorkloadReport): void {
  const quorumOps = keyOps.filter((op) => op.level === 'quorum' && op.final !== true);
  for (const processOps of byProcessInOrder(quorumOps).values()) {
    const own: AppendOp[] = [];
    let previous: AppendRead | undefined;
    for (const op of processOps) {
      if (op.f === 'append') {
        if (op.outcome === 'ok') own.push(op);
        continue;
      }
      if (!isLiveRead(op)) continue;
      const held = new Set(op.tokens);
      const missing = own.filter((a) => !held.has(a.token));
      if (missing.length > 0) {
        report.anomaly('quorum', {
          kind: 'stale-read',
          key: op.key,
          ops: [op.index, ...missing.map((a) => a.index)],
          message: `${showOp(op)} misses the process's own ${shown(missing.map((a) => a.token))}`,
        });
      } else if (previous !== undefined && !isPrefix(previous.tokens, op.tokens)) {
        report.anomaly('quorum', { kind: 'nonmonotonic-read', key: op.key, ops: [op.index, previous.index], message: `${showOp(op)} does not extend ${showOp(previous)} by the same process` });
      }
      previous = op;
    }
  }
}

function checkLosses(key: string, appends: readonly AppendOp[], position: ReadonlyMap<string, number>, failover: FailoverEvidence, report: WorkloadReport): void {
  for (const a of appends) {
    if (a.outcome !== 'ok' || position.has(a.token)) continue;
    if (isAcknowledged(a)) {
      report.anomaly(a.level, { kind: 'lost', key, ops: [a.index], message: `${showOp(a)} is not in the final list of '${key}'` });
      continue;
    }
    const cause = failover.explain(a);
    if (cause !== null) {
      report.allowedLoss('eventual', { kind: 'lost', key, ops: [a.index], message: `${showOp(a)} is not in the final list; explained by ${cause.what} at ${cause.timeMs} ms` });
    } else {
      report.anomaly('eventual', { kind: 'lost-without-failover', key, ops: [a.index], message: `${showOp(a)} is not in the final list, with no leader failure near it` });
    }
  }
}

function checkPrefixes(okReads: readonly AppendRead[], final: readonly string[], report: WorkloadReport): void {
  for (const read of okReads) {
    if (read.final === true || isPrefix(read.tokens, final)) continue;
    const at = firstDifference(read.tokens, final);
    const message = `${showOp(read)} is not a prefix of the final list: position ${at} holds '${read.tokens[at]}', the final list ${at < final.length ? `'${final[at]}'` : 'ends there'}`;
    if (read.level === 'eventual') report.allowedLoss('eventual', { kind: 'diverged-read', key: read.key, ops: [read.index], message });
    else report.anomaly(read.level, { kind: 'divergent-read', key: read.key, ops: [read.index], message });
  }
}

/**
 * An append acknowledged before another was invoked is before it in the log, so it
 * comes first in the final list. One sweep: appends in final by invoke time, against
 * the acknowledged ones finished before each, keeping the one furthest in the list.
 */
function checkOrder(key: string, appends: readonly AppendOp[], position: ReadonlyMap<string, number>, report: WorkloadReport): void {
  const pos = (a: AppendOp): number => position.get(a.token) as number;
  const inFinal = appends.filter((a) => position.has(a.token));
  const earlier = inFinal.filter(isAcknowledged).sort((a, b) => a.completeMs - b.completeMs);
  const later = [...inFinal].sort((a, b) => a.invokeMs - b.invokeMs);
  let next = 0;
  let furthest: AppendOp | undefined;
  for (const b of later) {
    for (; next < earlier.length && finishedBefore(earlier[next] as AppendOp, b); next++) {
      const a = earlier[next] as AppendOp;
      if (furthest === undefined || pos(a) > pos(furthest)) furthest = a;
    }
    if (furthest !== undefined && pos(furthest) > pos(b)) {
      report.anomaly(furthest.level, {
        kind: 'reordered',
        key,
        ops: [furthest.index, b.index],
        message: `${showOp(b)} is at position ${pos(b)} of the final list of '${key}', before ${showOp(furthest)} at ${pos(furthest)}, acknowledged before it was invoked`,
      });
    }
  }
}

function isPrefix(prefix: readonly string[], list: readonly string[]): boolean {
  return prefix.length <= list.length && firstDifference(prefix, list) === prefix.length;
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function shown(items: readonly string[]): string {
  const head = items.slice(0, tokensShown).join(', ');
  return items.length > tokensShown ? `${head} … (${items.length} in all)` : head;
}
