// Reading history.jsonl: every line is checked against the record types, so a
// truncated or hand-edited file fails with the line to look at, not a blank plot.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { HistoryRecord } from '../history.js';

type Json = Readonly<Record<string, unknown>>;

const RECORD_TYPES: ReadonlySet<unknown> = new Set(['meta', 'op', 'nemesis', 'leader']);
const LEVELS: ReadonlySet<unknown> = new Set(['strong', 'quorum', 'eventual']);
const WORKLOADS: ReadonlySet<unknown> = new Set(['register', 'counter', 'append', 'ttl']);
const OUTCOMES: ReadonlySet<unknown> = new Set(['ok', 'fail', 'info']);
const FAULTS: ReadonlySet<unknown> = new Set(['kill', 'pause', 'partition', 'clock']);
const OP_FUNCTIONS: Readonly<Record<string, readonly string[]>> = {
  register: ['write', 'read'],
  counter: ['incr', 'read'],
  append: ['append', 'read'],
  ttl: ['write', 'read', 'pttl'],
};

const isNumber = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;
const isString = (v: unknown): boolean => typeof v === 'string';
const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every(isString);
const isNullable = (check: (v: unknown) => boolean) => (v: unknown): boolean => v === null || check(v);

/** The first field of `r` that fails its check, as a message. */
function firstBadField(r: Json, checks: Readonly<Record<string, (v: unknown) => boolean>>): string | undefined {
  for (const [field, check] of Object.entries(checks)) {
    if (!check(r[field])) return `field "${field}" is ${JSON.stringify(r[field]) ?? 'missing'}`;
  }
  return undefined;
}

function opProblem(r: Json): string | undefined {
  const common = firstBadField(r, {
    index: isCount,
    // The runner's final reads use negative process and client numbers of their own.
    process: Number.isInteger,
    client: Number.isInteger,
    node: isString,
    level: (v) => LEVELS.has(v),
    key: isString,
    invokeMs: isNumber,
    completeMs: isNumber,
    outcome: (v) => OUTCOMES.has(v),
    workload: (v) => WORKLOADS.has(v),
    error: (v) => v === undefined || isString(v),
    final: (v) => v === undefined || typeof v === 'boolean',
  });
  if (common) return common;
  const workload = r.workload as string;
  const fs = OP_FUNCTIONS[workload] as readonly string[];
  if (!fs.includes(r.f as string)) return `field "f" is ${JSON.stringify(r.f) ?? 'missing'} (a ${workload} op is one of ${fs.join(', ')})`;
  if ((r.completeMs as number) < (r.invokeMs as number)) return 'completeMs is before invokeMs';
  switch (`${workload}:${r.f as string}`) {
    case 'register:write': return firstBadField(r, { value: isString });
    case 'register:read': return firstBadField(r, { value: isNullable(isString) });
    case 'counter:incr': return firstBadField(r, { result: isNullable(isNumber) });
    case 'counter:read': return firstBadField(r, { value: isNullable(isNumber) });
    case 'append:append': return firstBadField(r, { token: isString });
    case 'ttl:write': return firstBadField(r, { value: isString, ttlMs: isCount });
    case 'ttl:read': return firstBadField(r, { value: isNullable(isString) });
    case 'ttl:pttl': return firstBadField(r, { pttlMs: isNullable(Number.isInteger) });
    default: return firstBadField(r, { tokens: isStringList });
  }
}

function recordProblem(r: Json): string | undefined {
  switch (r.type) {
    case 'meta':
      return firstBadField(r, {
        seed: Number.isInteger,
        nodes: isStringList,
        timeS: isNumber,
        nemeses: isStringList,
        workloads: (v) => Array.isArray(v) && v.every((w) => WORKLOADS.has(w)),
        levels: (v) => Array.isArray(v) && v.every((l) => LEVELS.has(l)),
        clients: isCount,
        network: isString,
        startedAt: isString,
        healedMs: (v) => v === undefined || isNumber(v),
      });
    case 'op':
      return opProblem(r);
    case 'nemesis':
      return firstBadField(r, {
        timeMs: isNumber,
        phase: (v) => v === 'start' || v === 'stop',
        fault: (v) => FAULTS.has(v),
        nodes: isStringList,
        detail: isString,
      });
    case 'leader':
      return firstBadField(r, { timeMs: isNumber, node: isString, leader: isNullable(isString), term: Number.isInteger });
    default:
      assert.fail(`recordProblem called for a record of type ${String(r.type)}`);
  }
}

/** Parses the text of a history.jsonl; `name` prefixes error messages. Blank lines are skipped. */
export function parseHistory(text: string, name: string): HistoryRecord[] {
  const records: HistoryRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const where = `${name}:${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where}: not JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: not a JSON object`);
    const type = (value as Json).type;
    if (!RECORD_TYPES.has(type)) throw new Error(`${where}: unknown record type ${JSON.stringify(type) ?? '(missing)'}`);
    const problem = recordProblem(value as Json);
    if (problem !== undefined) throw new Error(`${where}: bad ${String(type)} record: ${problem}`);
    const isMeta = (value as Json).type === 'meta';
    if (isMeta !== (records.length === 0)) {
      throw new Error(isMeta ? `${where}: a second meta record` : `${where}: the first record must be the run's meta record`);
    }
    records.push(value as HistoryRecord);
  }
  if (records.length === 0) throw new Error(`${name}: empty history (no meta record)`);
  return records;
}

/** Reads and checks a history.jsonl; throws naming the file and line of the first bad record. */
export function readHistory(path: string): HistoryRecord[] {
  return parseHistory(readFileSync(path, 'utf8'), path);
}
