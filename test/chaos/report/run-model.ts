// What every section of the report needs, gathered from the history once.
import assert from 'node:assert/strict';
import type { CheckResult, HistoryRecord, LeaderSample, NemesisEvent, Op, RunMeta } from '../history.js';
import { type FaultInterval, pairFaults } from './faults.js';

/** How an operation is singled out in the plots: part of an anomaly, or of an allowed loss. */
export type OpMark = 'anomaly' | 'allowed-loss';

export interface RunModel {
  readonly meta: RunMeta;
  /** In history order. */
  readonly ops: readonly Op[];
  readonly opsByIndex: ReadonlyMap<number, Op>;
  readonly faults: readonly FaultInterval[];
  readonly leaderSamples: readonly LeaderSample[];
  /** Nodes in the meta's order, then any others the history mentions. */
  readonly nodes: readonly string[];
  /** Timeline rows: client slots 0..clientSlots-1. */
  readonly clientSlots: number;
  /** Some operations ran outside the client slots (client < 0: the runner's final reads). */
  readonly outsideSlots: boolean;
  /** The plots' right edge: the last thing that happened (at least the planned run time). */
  readonly endMs: number;
  readonly marks: ReadonlyMap<number, OpMark>;
}

export function buildRunModel(records: readonly HistoryRecord[], results: readonly CheckResult[]): RunModel {
  const first = records[0];
  assert.ok(first !== undefined && first.type === 'meta', 'a history starts with its meta record');
  const meta = first;
  const ops: Op[] = [];
  const events: NemesisEvent[] = [];
  const leaderSamples: LeaderSample[] = [];
  for (const r of records) {
    if (r.type === 'op') ops.push(r);
    else if (r.type === 'nemesis') events.push(r);
    else if (r.type === 'leader') leaderSamples.push(r);
    else assert.equal(r, meta, 'a history has one meta record');
  }
  leaderSamples.sort((a, b) => a.timeMs - b.timeMs);

  const nodes = [...meta.nodes];
  const seen = new Set(nodes);
  const addNode = (n: string): void => {
    if (!seen.has(n)) (seen.add(n), nodes.push(n));
  };
  for (const e of events) e.nodes.forEach(addNode);
  for (const s of leaderSamples) addNode(s.node);

  let endMs = Math.max(meta.timeS * 1000, meta.healedMs ?? 0);
  let clientSlots = meta.clients;
  let outsideSlots = false;
  for (const op of ops) {
    outsideSlots ||= op.client < 0;
    endMs = Math.max(endMs, op.completeMs);
    clientSlots = Math.max(clientSlots, op.client + 1);
  }
  for (const e of events) endMs = Math.max(endMs, e.timeMs);
  for (const s of leaderSamples) endMs = Math.max(endMs, s.timeMs);

  // An op in both an anomaly and an allowed loss is shown as the anomaly.
  const marks = new Map<number, OpMark>();
  for (const r of results) {
    for (const a of r.allowedLosses ?? []) for (const i of a.ops ?? []) marks.set(i, 'allowed-loss');
  }
  for (const r of results) for (const a of r.anomalies) for (const i of a.ops ?? []) marks.set(i, 'anomaly');

  return {
    meta,
    ops,
    opsByIndex: new Map(ops.map((op) => [op.index, op])),
    faults: pairFaults(events),
    leaderSamples,
    nodes,
    clientSlots,
    outsideSlots,
    endMs: Math.max(endMs, 1),
    marks,
  };
}
