// What the clients do: each operation is one command and a way to read its reply.
//
// register: SET/GET with values unique across the run, on a few keys at a time; the keys
//   change every few seconds so that each key's history stays small enough for the
//   linearizability search.
// counter: INCR and GET on two keys.
// append: APPEND of unique tokens (space-terminated) and GET on three keys.
// ttl: SET with PX of unique values, GET and PTTL, on keys that change like the
//   register's. Half the keys get short TTLs (they expire during the run: reads must
//   not see a value past its expiry, nor miss one before it), half a TTL of a day (they
//   must behave as registers and keep their TTL through snapshots and restarts).

import type { RespValue } from '../../src/client/client.js';
import type { SeededRandom } from '../../src/raft/rand.js';
import type { Workload } from './history.js';
import type { OpDraft } from './recorder.js';

export const registerKeysLive = 4;
export const registerKeyLifeMs = 8_000;
export const counterKeys = 2;
export const appendKeys = 3;
export const ttlKeysLive = 2;
/** Short TTLs: long enough for reads to see the value, short enough to expire within a key's life. */
export const ttlShortMs: readonly [number, number] = [300, 2500];
/** Longer than any run plus any clock jump: such keys never expire during a run. */
export const ttlLongMs = 24 * 3600 * 1000;

/** One operation about to be sent. */
export interface PlannedOp {
  readonly workload: Workload;
  readonly f: 'write' | 'read' | 'incr' | 'append' | 'pttl';
  readonly key: string;
  readonly argv: readonly string[];
  /** The written value (register, ttl) or token (append). */
  readonly payload?: string;
  /** A ttl write's PX. */
  readonly ttlMs?: number;
}

export function planOp(workloads: readonly Workload[], rng: SeededRandom, nowMs: number, unique: string): PlannedOp {
  const workload = workloads[rng.intBelow(workloads.length)]!;
  const write = rng.intBelow(2) === 0;
  switch (workload) {
    case 'register': {
      const key = `reg:${Math.floor(nowMs / registerKeyLifeMs)}:${rng.intBelow(registerKeysLive)}`;
      return write ? { workload, f: 'write', key, argv: ['SET', key, unique], payload: unique } : { workload, f: 'read', key, argv: ['GET', key] };
    }
    case 'counter': {
      const key = `ctr:${rng.intBelow(counterKeys)}`;
      return write ? { workload, f: 'incr', key, argv: ['INCR', key] } : { workload, f: 'read', key, argv: ['GET', key] };
    }
    case 'append': {
      const key = `app:${rng.intBelow(appendKeys)}`;
      return write ? { workload, f: 'append', key, argv: ['APPEND', key, `${unique} `], payload: unique } : { workload, f: 'read', key, argv: ['GET', key] };
    }
    case 'ttl': {
      const long = rng.intBelow(2) === 0;
      const key = `ttl:${long ? 'long' : 'short'}:${Math.floor(nowMs / registerKeyLifeMs)}:${rng.intBelow(ttlKeysLive)}`;
      if (write) {
        const ttlMs = long ? ttlLongMs : ttlShortMs[0] + rng.intBelow(ttlShortMs[1] - ttlShortMs[0] + 1);
        return { workload, f: 'write', key, argv: ['SET', key, unique, 'PX', String(ttlMs)], payload: unique, ttlMs };
      }
      return rng.intBelow(2) === 0 ? { workload, f: 'read', key, argv: ['GET', key] } : { workload, f: 'pttl', key, argv: ['PTTL', key] };
    }
  }
}

/** The fields every recorded operation shares, besides its result. */
export interface OpContext {
  readonly process: number;
  readonly client: number;
  readonly node: string;
  readonly level: 'strong' | 'quorum' | 'eventual';
  readonly invokeMs: number;
  readonly completeMs: number;
  readonly final?: boolean;
}

/**
 * Errors that say the write was certainly not applied. Anything else a write gets back
 * ("may or may not have been applied", a timeout, a dropped connection) is indeterminate.
 */
const certainlyNotApplied = /was not applied|it was not applied|^CLUSTERDOWN No leader within|too many uncommitted writes/;

export type OpResult = { kind: 'reply'; value: RespValue } | { kind: 'lost'; why: string };

/** Turns a planned op and what came back into a history record. */
export function recordOf(p: PlannedOp, ctx: OpContext, r: OpResult): OpDraft {
  const base = { ...ctx, key: p.key };
  const isWrite = p.f !== 'read' && p.f !== 'pttl';
  if (r.kind === 'lost') {
    return draft(p, { ...base, outcome: isWrite ? 'info' : 'fail', error: r.why });
  }
  const v = r.value;
  if (v.type === 'error') {
    const outcome = !isWrite || certainlyNotApplied.test(v.message) ? 'fail' : 'info';
    return draft(p, { ...base, outcome, error: v.message });
  }
  const text = v.type === 'string' ? v.value.toString('latin1') : null;
  switch (p.f) {
    case 'write':
      if (text !== 'OK') return draft(p, { ...base, outcome: 'info', error: `unexpected reply ${describe(v)}` });
      return draft(p, { ...base, outcome: 'ok' });
    case 'incr':
      if (v.type !== 'int') return draft(p, { ...base, outcome: 'info', error: `unexpected reply ${describe(v)}` });
      return { ...base, workload: 'counter', f: 'incr', outcome: 'ok', result: Number(v.value) };
    case 'append':
      if (v.type !== 'int') return draft(p, { ...base, outcome: 'info', error: `unexpected reply ${describe(v)}` });
      return draft(p, { ...base, outcome: 'ok' });
    case 'pttl':
      if (v.type !== 'int') return draft(p, { ...base, outcome: 'fail', error: `unexpected reply ${describe(v)}` });
      return { ...base, workload: 'ttl', f: 'pttl', outcome: 'ok', pttlMs: Number(v.value) };
    case 'read':
      if (v.type !== 'null' && text === null) return draft(p, { ...base, outcome: 'fail', error: `unexpected reply ${describe(v)}` });
      return readRecord(p, base, text);
  }
}

function readRecord(p: PlannedOp, base: OpContext & { key: string }, text: string | null): OpDraft {
  switch (p.workload) {
    case 'register':
      return { ...base, workload: 'register', f: 'read', outcome: 'ok', value: text };
    case 'counter': {
      if (text !== null && !/^-?\d+$/.test(text)) return { ...base, workload: 'counter', f: 'read', outcome: 'fail', value: null, error: `not an integer: ${text.slice(0, 40)}` };
      return { ...base, workload: 'counter', f: 'read', outcome: 'ok', value: text === null ? null : Number(text) };
    }
    case 'append':
      return { ...base, workload: 'append', f: 'read', outcome: 'ok', tokens: text === null ? [] : text.split(' ').filter((t) => t !== '') };
    case 'ttl':
      return { ...base, workload: 'ttl', f: 'read', outcome: 'ok', value: text };
  }
}

/** A record without a value: writes carry what they wrote, failed reads carry nothing. */
function draft(p: PlannedOp, base: OpContext & { key: string; outcome: 'ok' | 'fail' | 'info'; error?: string }): OpDraft {
  switch (p.f) {
    case 'write':
      if (p.workload === 'ttl') return { ...base, workload: 'ttl', f: 'write', value: p.payload!, ttlMs: p.ttlMs! };
      return { ...base, workload: 'register', f: 'write', value: p.payload! };
    case 'incr':
      return { ...base, workload: 'counter', f: 'incr', result: null };
    case 'append':
      return { ...base, workload: 'append', f: 'append', token: p.payload! };
    case 'pttl':
      return { ...base, workload: 'ttl', f: 'pttl', pttlMs: null };
    case 'read':
      if (p.workload === 'register') return { ...base, workload: 'register', f: 'read', value: null };
      if (p.workload === 'ttl') return { ...base, workload: 'ttl', f: 'read', value: null };
      if (p.workload === 'counter') return { ...base, workload: 'counter', f: 'read', value: null };
      return { ...base, workload: 'append', f: 'read', tokens: [] };
  }
}

function describe(v: RespValue): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? String(x) : Buffer.isBuffer(x) ? x.toString('latin1') : x)).slice(0, 80);
}
