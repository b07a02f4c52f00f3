// Made-up chaos histories for the report's tests: clients hammering a few keys,
// faults on a schedule, leader samples, final reads, and check results naming
// some of the operations.
import { SeededRandom } from '../../../src/raft/rand.js';
import type { CheckResult, HistoryRecord, LeaderSample, Level, NemesisEvent, Op, OpType, RunMeta } from '../history.js';

export interface SyntheticOptions {
  readonly seed: number;
  /** About this many operations in all. */
  readonly ops: number;
  readonly timeS: number;
  readonly clients: number;
}

/** Keys that test escaping: markup, quotes, ampersands, a NUL and latin1 bytes. */
export const NASTY_KEY = '<script>&"';
export const BINARY_KEY = 'bin\x00\xff\x1b';
const KEYS = ['k1', 'k2', 'k3', NASTY_KEY, BINARY_KEY];
const NODES = ['n1', 'n2', 'n3', 'n4', 'n5'];
const LEVELS: readonly Level[] = ['strong', 'quorum'];
const OP_TIMEOUT_MS = 2000;

interface Fault {
  readonly fault: NemesisEvent['fault'];
  readonly nodes: readonly string[];
  readonly detail: string;
  readonly fromS: number;
  /** null: never stopped. */
  readonly toS: number | null;
}

/** Fault schedule as fractions of the run, so any run length gets all of them. */
function faultSchedule(timeS: number): Fault[] {
  return [
    { fault: 'kill', nodes: ['n1'], detail: 'kill -9 leader n1', fromS: 0.1 * timeS, toS: 0.2 * timeS },
    { fault: 'pause', nodes: ['n3'], detail: 'SIGSTOP n3', fromS: 0.3 * timeS, toS: 0.38 * timeS },
    { fault: 'partition', nodes: NODES, detail: 'isolate leader n2: [n2] | [n1 n3 n4 n5]', fromS: 0.5 * timeS, toS: 0.62 * timeS },
    { fault: 'clock', nodes: ['n4'], detail: '+45000 ms on n4 <&>', fromS: 0.7 * timeS, toS: 0.75 * timeS },
    { fault: 'pause', nodes: ['n5'], detail: 'SIGSTOP n5 (never resumed)', fromS: 0.85 * timeS, toS: null },
  ];
}

/** The leader everyone believes in at time t (s): n1, then n2 after the kill, then n3 after the partition. */
function leaderAt(tS: number, timeS: number): { leader: string | null; term: number } {
  if (tS < 0.1 * timeS) return { leader: 'n1', term: 2 };
  if (tS < 0.11 * timeS) return { leader: null, term: 3 };
  if (tS < 0.5 * timeS) return { leader: 'n2', term: 3 };
  if (tS < 0.52 * timeS) return { leader: null, term: 4 };
  return { leader: 'n3', term: 5 };
}

function makeOp(r: SeededRandom, index: number, client: number, process: number, invokeMs: number, completeMs: number, outcome: OpType, final: boolean): Op {
  const base = {
    type: 'op' as const,
    index,
    process,
    client,
    node: r.pick(NODES),
    level: final ? 'strong' : r.pick(LEVELS),
    key: r.pick(KEYS),
    invokeMs,
    completeMs,
    outcome,
    ...(final ? { final: true } : {}),
    ...(outcome === 'ok' ? {} : { error: outcome === 'fail' ? '-CLUSTERDOWN no leader' : 'timeout after 2000 ms' }),
  };
  if (final) return { ...base, workload: 'register', f: 'read', value: `v${index - 1}` };
  switch (r.intBelow(6)) {
    case 0: return { ...base, workload: 'register', f: 'write', value: `v${index}<b>` };
    case 1: return { ...base, workload: 'register', f: 'read', value: outcome === 'ok' ? `v${Math.max(0, index - 7)}` : null };
    case 2: return { ...base, workload: 'counter', f: 'incr', result: outcome === 'ok' ? index : null };
    case 3: return { ...base, workload: 'counter', f: 'read', value: outcome === 'ok' ? index : null };
    case 4: return { ...base, workload: 'append', f: 'append', token: `t${index}` };
    default: return { ...base, workload: 'append', f: 'read', tokens: outcome === 'ok' ? Array.from({ length: 20 }, (_, i) => `t${i}`) : [] };
  }
}

export function syntheticHistory(o: SyntheticOptions): HistoryRecord[] {
  const r = new SeededRandom(o.seed);
  const endMs = o.timeS * 1000;
  const healedMs = endMs - 2000;
  const faults = faultSchedule(o.timeS);
  const meta: RunMeta = {
    type: 'meta',
    seed: o.seed,
    nodes: NODES,
    timeS: o.timeS,
    nemeses: ['kill', 'pause', 'partition', 'clock'],
    workloads: ['register', 'counter', 'append'],
    levels: [...LEVELS],
    clients: o.clients,
    network: 'proxy: no CAP_NET_ADMIN',
    startedAt: '2026-01-01T00:00:00.000Z',
    healedMs,
  };
  const inFault = (ms: number): boolean => faults.some((f) => f.fault !== 'clock' && ms >= f.fromS * 1000 && ms < (f.toS ?? o.timeS) * 1000);

  // Each client's operations, then all of them numbered in completion order as a recorder would.
  const periodMs = (endMs * o.clients) / o.ops;
  const drafts: { client: number; process: number; invokeMs: number; completeMs: number; outcome: OpType; final: boolean }[] = [];
  let nextProcess = o.clients;
  for (let client = 0; client < o.clients; client++) {
    let process = client;
    let t = r.next() * periodMs;
    while (t < healedMs) {
      let outcome: OpType = 'ok';
      let latencyMs = 0.2 + r.next() * r.next() * periodMs * 0.6;
      if (inFault(t) && r.chance(0.3)) {
        outcome = r.chance(0.5) ? 'fail' : 'info';
        latencyMs = outcome === 'info' ? OP_TIMEOUT_MS : 0.3 + r.next();
      } else if (r.chance(0.01)) {
        outcome = r.pick(['fail', 'info'] as const);
      }
      drafts.push({ client, process, invokeMs: t, completeMs: t + latencyMs, outcome, final: false });
      if (outcome === 'info') process = nextProcess++;
      t += latencyMs + r.next() * periodMs * 0.8;
    }
    drafts.push({ client, process, invokeMs: healedMs + 100 + client, completeMs: healedMs + 103 + client, outcome: 'ok', final: true });
  }
  drafts.sort((a, b) => a.completeMs - b.completeMs);

  const records: HistoryRecord[] = [meta];
  drafts.forEach((d, i) => records.push(makeOp(r, i + 1, d.client, d.process, d.invokeMs, d.completeMs, d.outcome, d.final)));
  for (const f of faults) {
    records.push({ type: 'nemesis', timeMs: f.fromS * 1000, phase: 'start', fault: f.fault, nodes: f.nodes, detail: f.detail });
    if (f.toS !== null) records.push({ type: 'nemesis', timeMs: f.toS * 1000, phase: 'stop', fault: f.fault, nodes: f.nodes, detail: '' });
  }
  for (let t = 0; t < endMs; t += 250) {
    for (const node of NODES) {
      const down = faults.some((f) => f.fault !== 'partition' && f.fault !== 'clock' && f.nodes.includes(node) && t >= f.fromS * 1000 && t < (f.toS ?? o.timeS) * 1000);
      if (!down) records.push({ type: 'leader', timeMs: t, node, ...leaderAt(t / 1000, o.timeS) } satisfies LeaderSample);
    }
  }
  return records;
}

/** Check results for a synthetic history: one anomaly naming ops, one allowed loss. */
export function syntheticResults(records: readonly HistoryRecord[], anomalyOps: readonly number[], lossOps: readonly number[]): CheckResult[] {
  const ops = records.filter((x): x is Op => x.type === 'op');
  return [
    {
      workload: 'register',
      level: 'strong',
      valid: false,
      anomalies: [{ kind: 'nonlinearizable', key: '<script>&"', ops: anomalyOps, message: 'read of "v1" <after> v2 & v3' }],
      counts: { ok: ops.filter((op) => op.outcome === 'ok').length, fail: 0, info: 0 },
    },
    {
      workload: 'append',
      level: 'quorum',
      valid: true,
      anomalies: [],
      counts: { ok: 1, reads: 2 },
      allowedLosses: [{ kind: 'lost', key: 'k1', ops: lossOps, message: 'lost across failover at 12.0 s (kill n1)' }],
    },
  ];
}
