// Random histories of a store that keeps every promise the checkers rely on, for the
// randomized soundness test: whatever this produces, the checkers must call valid.
//
// The store is one log of writes, applied in time order. Client slots run operations
// one at a time; each operation takes effect at a random instant inside its span.
// - ok strong/quorum writes apply at that instant; fail writes never;
// - info writes apply then, much later, or never (and end their process, as the runner does);
// - ok eventual writes apply then, later than their reply, or are lost — a loss always
//   with a kill, pause or partition near it;
// - strong reads see the whole log at their instant; quorum reads a prefix no shorter
//   than their process's own writes and previous reads; eventual reads any prefix,
//   sometimes plus a lost eventual write (what a doomed leader could show).
// Final reads after everything see the whole log.
// ttl keys expire by the true clock: a write's expiry is its instant plus its TTL (odd
// keys get short TTLs, even ones a TTL that outlives the run), and a read at an instant
// past that finds the key missing, on every node.
import type { AppendOp, HistoryRecord, Level, Op, OpType, TtlWrite, Workload } from '../history.js';
import { SeededRandom } from '../../../src/raft/rand.js';
import { neverExpiresMs } from './ttl.js';

export interface SimulationShape {
  readonly slots: number;
  readonly opsPerSlot: number;
  readonly keysPerWorkload: number;
  /** One operation in ten is slow (a timeout, a paused node): up to this long. */
  readonly slowOpMaxMs?: number;
}

interface Expiring {
  readonly value: string;
  readonly expiresAtMs: number;
}

type State = string | null | number | readonly string[] | Expiring;

interface Planned {
  /** Replaced once the log ran: a read gets its value, an INCR its result. */
  op: Op;
  /** When a write takes effect, null for never; for a read, when it looks. */
  readonly atMs: number | null;
  /** An ok eventual write that never applies. */
  readonly lost: boolean;
}

const nodes = ['n1', 'n2', 'n3'];
const workloads: readonly Workload[] = ['register', 'counter', 'append', 'ttl'];
const levels: readonly Level[] = ['strong', 'quorum', 'eventual'];

export function simulateHistory(seed: number, shape: SimulationShape): HistoryRecord[] {
  const rnd = new SeededRandom(seed);
  const planned = planOperations(rnd, shape);
  const records: HistoryRecord[] = [...faultsFor(rnd, planned), ...steadyLeader(planned)];
  const finalState = runLog(rnd, planned);
  let endMs = 0;
  for (const p of planned) endMs = Math.max(endMs, p.op.completeMs, p.atMs ?? 0);
  let process = 1_000_000;
  const finals: Op[] = [];
  for (const [key, state] of finalState) {
    const workload = workloadOfKey(key);
    for (const node of nodes) {
      for (const f of workload === 'ttl' ? (['read', 'pttl'] as const) : (['read'] as const)) {
        const invokeMs = endMs + 100 + 10 * finals.length;
        finals.push(readOp(workload, f, state, invokeMs + 1, { type: 'op', index: 0, process: process++, client: 0, final: true, node, level: 'strong', key, invokeMs, completeMs: invokeMs + 3, outcome: 'ok' }));
      }
    }
  }
  const ops = [...planned.map((p) => p.op), ...finals].sort((a, b) => a.invokeMs - b.invokeMs);
  const out: HistoryRecord[] = [...records.sort((a, b) => timeOf(a) - timeOf(b))];
  for (const op of ops) out.push({ ...op, index: out.length });
  return out;
}

function planOperations(rnd: SeededRandom, shape: SimulationShape): Planned[] {
  const planned: Planned[] = [];
  let nextProcess = 0;
  let nextValue = 0;
  for (let slot = 0; slot < shape.slots; slot++) {
    let process = nextProcess++;
    let level = rnd.pick(levels);
    let node = rnd.pick(nodes);
    let t = rnd.intBelow(5);
    for (let i = 0; i < shape.opsPerSlot; i++) {
      const workload = rnd.pick(workloads);
      const key = `${workload}-${rnd.intBelow(workload === 'ttl' ? 2 * shape.keysPerWorkload : shape.keysPerWorkload)}`;
      const long = rnd.chance(0.1);
      const invokeMs = t;
      const completeMs = t + (long ? rnd.intBelow(shape.slowOpMaxMs ?? 300) : rnd.intBelow(15));
      const effectMs = invokeMs + rnd.intBelow(completeMs - invokeMs + 1);
      const isWrite = rnd.chance(0.5);
      const base = { type: 'op' as const, index: 0, process, client: slot, node, level, key, invokeMs, completeMs };
      let outcome: OpType;
      let atMs: number | null = effectMs;
      let lost = false;
      if (!isWrite) {
        outcome = rnd.chance(0.85) ? 'ok' : rnd.chance(0.5) ? 'fail' : 'info';
      } else {
        const roll = rnd.next();
        outcome = roll < 0.08 ? 'fail' : roll < 0.22 ? 'info' : 'ok';
        if (outcome === 'fail') atMs = null;
        else if (outcome === 'info') atMs = rnd.pick([effectMs, completeMs + rnd.intBelow(3000), null]);
        else if (level === 'eventual') {
          const fate = rnd.next();
          if (fate < 0.15) {
            atMs = null;
            lost = true;
          } else if (fate < 0.3) atMs = completeMs + rnd.intBelow(500);
        }
      }
      const value = `s-${nextValue++}`;
      const op: Op =
        workload === 'register' ? (isWrite ? { ...base, outcome, workload, f: 'write', value } : { ...base, outcome, workload, f: 'read', value: null })
        : workload === 'counter' ? (isWrite ? { ...base, outcome, workload, f: 'incr', result: null } : { ...base, outcome, workload, f: 'read', value: null })
        : workload === 'ttl' ? (isWrite ? { ...base, outcome, workload, f: 'write', value, ttlMs: ttlOfKey(key, rnd) } : rnd.chance(0.5) ? { ...base, outcome, workload, f: 'read', value: null } : { ...base, outcome, workload, f: 'pttl', pttlMs: null })
        : isWrite ? { ...base, outcome, workload, f: 'append', token: value }
        : { ...base, outcome, workload, f: 'read', tokens: [] };
      planned.push({ op, atMs: isWrite || outcome === 'ok' ? atMs : null, lost });
      t = completeMs + 1 + rnd.intBelow(5);
      if (outcome === 'info') {
        // The runner reconnects under a new process after an indeterminate result.
        process = nextProcess++;
        level = rnd.pick(levels);
        node = rnd.pick(nodes);
      }
    }
  }
  return planned;
}

/** Applies writes and answers reads in time order; returns each key's final state. */
function runLog(rnd: SeededRandom, planned: readonly Planned[]): Map<string, State> {
  // Effects at the same millisecond go in random order: a rounded clock cannot tell
  // them apart. (One process's effects never share one: its operations do not touch.)
  const tieBreak = new Map(planned.map((p) => [p, rnd.next()]));
  const events = planned.filter((p) => p.atMs !== null).sort((a, b) => (a.atMs as number) - (b.atMs as number) || (tieBreak.get(a) as number) - (tieBreak.get(b) as number));
  /** Per key: the state after each write to it, with the log length then. */
  const versions = new Map<string, { length: number; state: State }[]>();
  const position = new Map<number, number>(); // process → log length it has seen
  const lostWrites = planned.filter((p) => p.lost);
  let length = 0;
  const stateAt = (key: string, at: number): State => {
    const list = versions.get(key) ?? [];
    let s: State = initial(workloadOfKey(key));
    for (const v of list) if (v.length <= at) s = v.state;
    return s;
  };
  for (const p of events) {
    const op = p.op;
    const seen = position.get(op.process) ?? 0;
    if (op.f !== 'read' && op.f !== 'pttl') {
      // An ok write was stamped before its reply, even when it applies later (eventual).
      const stampMs = op.outcome === 'ok' ? Math.min(p.atMs as number, op.completeMs) : (p.atMs as number);
      const next = applyWrite(op, stateAt(op.key, length), stampMs);
      length++;
      const list = versions.get(op.key) ?? [];
      list.push({ length, state: next });
      versions.set(op.key, list);
      if (op.f === 'incr' && op.outcome === 'ok') p.op = { ...op, result: next as number };
      if (op.outcome === 'ok') position.set(op.process, Math.max(seen, length));
      continue;
    }
    const at = op.level === 'strong' ? length : op.level === 'quorum' ? seen + rnd.intBelow(length - seen + 1) : rnd.intBelow(length + 1);
    if (op.level !== 'eventual') position.set(op.process, at);
    let state = stateAt(op.key, at);
    const doomed = lostWrites.find((l) => l.op.key === op.key && l.op.invokeMs <= (p.atMs as number));
    if (op.level === 'eventual' && doomed !== undefined && rnd.chance(0.3)) state = applyWrite(doomed.op, state, doomed.op.invokeMs);
    p.op = readOp(op.workload, op.f, state, p.atMs as number, op);
  }
  // Lost eventual increments still answered (with a value their leader computed).
  for (const l of lostWrites) if (l.op.f === 'incr') l.op = { ...l.op, result: 1 + rnd.intBelow(10) };
  const finals = new Map<string, State>();
  for (const p of planned) if (!finals.has(p.op.key)) finals.set(p.op.key, stateAt(p.op.key, length));
  return finals;
}

function applyWrite(op: Op, state: State, atMs: number): State {
  switch (op.f) {
    case 'write':
      return op.workload === 'ttl' ? { value: op.value, expiresAtMs: atMs + op.ttlMs } : op.value;
    case 'incr':
      return (state as number) + 1;
    case 'append':
      return [...(state as readonly string[]), (op as AppendOp).token];
    default:
      throw new Error(`not a write: ${op.f}`);
  }
}

function initial(workload: Workload): State {
  return workload === 'register' || workload === 'ttl' ? null : workload === 'counter' ? 0 : [];
}

/** What a read of `f` at instant `atMs` answers in `state`. */
function readOp(workload: Workload, f: Op['f'], state: State, atMs: number, base: Omit<Op, 'workload' | 'f'>): Op {
  if (workload === 'ttl') {
    // Expired once the clock is past the expiry time, as Redis has it.
    const live = state === null ? null : (state as Expiring).expiresAtMs >= atMs ? (state as Expiring) : null;
    if (f === 'pttl') return { ...base, workload, f, pttlMs: live === null ? -2 : live.expiresAtMs - atMs };
    return { ...base, workload, f: 'read', value: live === null ? null : live.value };
  }
  if (workload === 'register') return { ...base, workload, f: 'read', value: state as string | null };
  if (workload === 'counter') return { ...base, workload, f: 'read', value: (state as number) === 0 ? null : (state as number) };
  return { ...base, workload, f: 'read', tokens: state as readonly string[] };
}

/** Odd ttl keys expire within the run, even ones never. */
function ttlOfKey(key: string, rnd: SeededRandom): TtlWrite['ttlMs'] {
  return Number(key.slice(key.indexOf('-') + 1)) % 2 === 1 ? 20 + rnd.intBelow(400) : 2 * neverExpiresMs;
}

function workloadOfKey(key: string): Workload {
  return key.slice(0, key.indexOf('-')) as Workload;
}

/** A leader failure near every lost eventual write, and clock jumps that explain nothing. */
function faultsFor(rnd: SeededRandom, planned: readonly Planned[]): HistoryRecord[] {
  const out: HistoryRecord[] = [];
  for (const p of planned) {
    if (p.lost) {
      const timeMs = p.op.invokeMs - 1000 + rnd.intBelow(p.op.completeMs - p.op.invokeMs + 6000);
      const fault = rnd.pick(['kill', 'pause', 'partition'] as const);
      out.push({ type: 'nemesis', timeMs, phase: 'start', fault, nodes: ['n1'], detail: 'n1' });
      out.push({ type: 'nemesis', timeMs: timeMs + 500, phase: 'stop', fault, nodes: ['n1'], detail: 'n1' });
    } else if (rnd.chance(0.02)) {
      out.push({ type: 'nemesis', timeMs: p.op.invokeMs, phase: 'start', fault: 'clock', nodes: ['n2'], detail: '+45000 ms on n2' });
    }
  }
  return out;
}

/** The monitor's samples: the same leader throughout (no change to explain anything). */
function steadyLeader(planned: readonly Planned[]): HistoryRecord[] {
  const endMs = planned.reduce((t, p) => Math.max(t, p.op.completeMs), 0);
  const out: HistoryRecord[] = [];
  for (let timeMs = 0; timeMs <= endMs; timeMs += 250) for (const node of nodes) out.push({ type: 'leader', timeMs, node, leader: 'n1', term: 1 });
  return out;
}

function timeOf(r: HistoryRecord): number {
  return r.type === 'nemesis' || r.type === 'leader' ? r.timeMs : r.type === 'op' ? r.invokeMs : -1;
}
