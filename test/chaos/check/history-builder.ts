// Hand-made histories for the checkers' tests: each call appends one record, whose
// index is its position, as in history.jsonl. Times are [invokeMs, completeMs].
import type { CheckResult, HistoryRecord, Level, NemesisEvent, Op, OpType } from '../history.js';

type Span = readonly [invokeMs: number, completeMs: number];

/** Times of the final reads: after everything in the tests. */
export const finalMs = 100_000;

export class HistoryBuilder {
  readonly records: HistoryRecord[] = [];

  write(process: number, level: Level, key: string, value: string, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'register', f: 'write', value }, process, level, key, span, outcome);
  }

  read(process: number, level: Level, key: string, value: string | null, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'register', f: 'read', value }, process, level, key, span, outcome);
  }

  finalRead(key: string, value: string | null, node = 'n1'): this {
    return this.op({ workload: 'register', f: 'read', value, final: true, node }, 1000, 'strong', key, this.finalSpan(), 'ok');
  }

  incr(process: number, level: Level, key: string, result: number | null, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'counter', f: 'incr', result }, process, level, key, span, outcome);
  }

  counterRead(process: number, level: Level, key: string, value: number | null, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'counter', f: 'read', value }, process, level, key, span, outcome);
  }

  counterFinal(key: string, value: number | null, node = 'n1'): this {
    return this.op({ workload: 'counter', f: 'read', value, final: true, node }, 1000, 'strong', key, this.finalSpan(), 'ok');
  }

  append(process: number, level: Level, key: string, token: string, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'append', f: 'append', token }, process, level, key, span, outcome);
  }

  appendRead(process: number, level: Level, key: string, tokens: readonly string[], span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'append', f: 'read', tokens }, process, level, key, span, outcome);
  }

  appendFinal(key: string, tokens: readonly string[], node = 'n1'): this {
    return this.op({ workload: 'append', f: 'read', tokens, final: true, node }, 1000, 'strong', key, this.finalSpan(), 'ok');
  }

  ttlWrite(process: number, level: Level, key: string, value: string, ttlMs: number, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'ttl', f: 'write', value, ttlMs }, process, level, key, span, outcome);
  }

  ttlRead(process: number, level: Level, key: string, value: string | null, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'ttl', f: 'read', value }, process, level, key, span, outcome);
  }

  pttl(process: number, level: Level, key: string, pttlMs: number | null, span: Span, outcome: OpType = 'ok'): this {
    return this.op({ workload: 'ttl', f: 'pttl', pttlMs }, process, level, key, span, outcome);
  }

  ttlFinal(key: string, value: string | null, node = 'n1'): this {
    return this.op({ workload: 'ttl', f: 'read', value, final: true, node }, 1000, 'strong', key, this.finalSpan(), 'ok');
  }

  nemesis(timeMs: number, fault: NemesisEvent['fault'], phase: NemesisEvent['phase'] = 'start', node = 'n1'): this {
    this.records.push({ type: 'nemesis', timeMs, phase, fault, nodes: [node], detail: node });
    return this;
  }

  leader(timeMs: number, node: string, leader: string | null, term: number): this {
    this.records.push({ type: 'leader', timeMs, node, leader, term });
    return this;
  }

  /** Index of the latest record. */
  get last(): number {
    return this.records.length - 1;
  }

  private finalSpan(): Span {
    const n = this.records.filter((r) => r.type === 'op' && r.final === true).length;
    return [finalMs + 10 * n, finalMs + 10 * n + 5];
  }

  private op(fields: Record<string, unknown>, process: number, level: Level, key: string, span: Span, outcome: OpType): this {
    const base = { type: 'op', index: this.records.length, process, client: process, node: 'n1', level, key, invokeMs: span[0], completeMs: span[1], outcome };
    this.records.push({ ...base, ...fields } as unknown as Op);
    return this;
  }
}

/** "workload/level:kind" for every anomaly, sorted, for compact assertions. */
export function anomalyKinds(results: readonly CheckResult[]): string[] {
  return results.flatMap((r) => r.anomalies.map((a) => `${r.workload}/${r.level}:${a.kind}`)).sort();
}

export function allowedLossKinds(results: readonly CheckResult[]): string[] {
  return results.flatMap((r) => (r.allowedLosses ?? []).map((a) => `${r.workload}/${r.level}:${a.kind}`)).sort();
}
