// Collects a run's history in memory, in completion order, and writes it as JSON lines.

import { writeFileSync } from 'node:fs';
import type { HistoryRecord, LeaderSample, NemesisEvent, Op, RunMeta } from './history.js';

/** An operation as the client records it: the recorder numbers it. */
export type OpDraft = Op extends infer T ? (T extends Op ? Omit<T, 'index' | 'type'> : never) : never;

export class Recorder {
  private readonly t0 = performance.now();
  private readonly records: HistoryRecord[] = [];
  private opCount = 0;

  constructor(private meta: RunMeta) {}

  /** Milliseconds since the run started. */
  now(): number {
    return Math.round((performance.now() - this.t0) * 1000) / 1000;
  }

  op(draft: OpDraft): void {
    this.records.push({ ...draft, type: 'op', index: this.opCount++ } as Op);
  }

  nemesis(e: Omit<NemesisEvent, 'type' | 'timeMs'>): void {
    this.records.push({ type: 'nemesis', timeMs: this.now(), ...e });
  }

  leader(s: Omit<LeaderSample, 'type' | 'timeMs'>): void {
    this.records.push({ type: 'leader', timeMs: this.now(), ...s });
  }

  markHealed(): void {
    this.meta = { ...this.meta, healedMs: this.now() };
  }

  get ops(): number {
    return this.opCount;
  }

  history(): HistoryRecord[] {
    return [this.meta, ...this.records];
  }

  write(path: string): void {
    writeFileSync(path, this.history().map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
}
