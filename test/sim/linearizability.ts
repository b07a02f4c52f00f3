// Linearizability of a simulated client history: keys are independent registers
// (P-compositionality), so each key's operations go through the one register search
// both this simulator and the chaos suite use (test/chaos/check/linearizable-register.ts:
// Wing & Gong with Lowe's memoisation).
import assert from 'node:assert/strict';
import { checkLinearizable } from '../chaos/check/linearizable-register.js';

export interface RegisterOp {
  readonly id: number;
  readonly key: string;
  readonly kind: 'write' | 'read';
  /** write: the value written. read: the value observed (null = never written). */
  readonly value: string | null;
  readonly invoke: number;
  /**
   * Completion time. Infinity for a write whose outcome is unknown (the client
   * timed out or its node crashed): it may have taken effect at any point after
   * invoke, or never.
   */
  readonly complete: number;
}

export interface CheckResult {
  readonly ok: boolean;
  /** The first key whose history could not be linearized. */
  readonly badKey?: string;
  /** True when the search gave up at maxSearchSteps (treated as failure). */
  readonly exhausted?: boolean;
}

export function checkRegisterHistory(ops: readonly RegisterOp[], maxSearchSteps = 2_000_000): CheckResult {
  const byKey = new Map<string, RegisterOp[]>();
  for (const op of ops) {
    assert.ok(op.complete >= op.invoke, `op ${op.id} completes before it is invoked`);
    assert.ok(op.kind === 'write' || op.complete !== Infinity, `read ${op.id} without a result belongs out of the history`);
    const list = byKey.get(op.key) ?? [];
    list.push(op);
    byKey.set(op.key, list);
  }
  for (const [key, list] of [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const r = checkLinearizable(list, maxSearchSteps);
    if (r.verdict !== 'linearizable') return { ok: false, badKey: key, exhausted: r.verdict === 'exhausted' };
  }
  return { ok: true };
}
