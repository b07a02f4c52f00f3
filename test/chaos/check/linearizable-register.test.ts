import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../../src/raft/rand.js';
import { checkLinearizable, type RegisterCall } from './linearizable-register.js';

let nextId = 0;
const w = (value: string, invoke: number, complete: number): RegisterCall => ({ id: nextId++, kind: 'write', value, invoke, complete });
const r = (value: string | null, invoke: number, complete: number): RegisterCall => ({ id: nextId++, kind: 'read', value, invoke, complete });

describe('register linearizability search (chaos variant)', () => {
  it('accepts sequential and overlapping histories', () => {
    assert.equal(checkLinearizable([]).verdict, 'linearizable');
    assert.equal(checkLinearizable([r(null, 0, 1), w('a', 2, 3), r('a', 4, 5)]).verdict, 'linearizable');
    assert.equal(checkLinearizable([w('a', 0, 1), w('b', 2, 6), r('a', 3, 4), r('b', 5, 7)]).verdict, 'linearizable');
  });

  it('rejects a stale read and says where the search got stuck', () => {
    const stale = r('a', 8, 9);
    const res = checkLinearizable([w('a', 0, 1), w('b', 2, 3), r('b', 4, 5), stale]);
    assert.equal(res.verdict, 'nonlinearizable');
    if (res.verdict !== 'nonlinearizable') return;
    assert.equal(res.stuck, stale);
    assert.equal(res.state, 'b');
    assert.equal(res.linearized, 3);
    assert.equal(res.total, 4);
    assert.deepEqual(res.candidates, [stale]);
  });

  it('an unknown write may take effect late or never, but not before it was invoked', () => {
    assert.equal(checkLinearizable([w('a', 0, 1), w('x', 2, Infinity), r('a', 3, 4), r('x', 50, 51), r('x', 60, 61)]).verdict, 'linearizable');
    assert.equal(checkLinearizable([w('a', 0, 1), w('x', 2, Infinity), r('a', 30, 31)]).verdict, 'linearizable');
    assert.equal(checkLinearizable([r('x', 0, 1), w('x', 2, Infinity)]).verdict, 'nonlinearizable');
    // Once a read saw x and a later read saw a again, x cannot take effect twice.
    assert.equal(checkLinearizable([w('a', 0, 1), w('x', 2, Infinity), r('x', 3, 4), r('a', 5, 6)]).verdict, 'nonlinearizable');
  });

  it('gives up at its step bound with its own verdict', () => {
    const calls: RegisterCall[] = [];
    for (let i = 0; i < 6; i++) calls.push(w(`v${i}`, 0, 100), r(`v${i}`, 0, 100));
    assert.equal(checkLinearizable(calls).verdict, 'linearizable');
    assert.deepEqual(checkLinearizable(calls, 3), { verdict: 'exhausted', steps: 3 });
  });

  it('refuses a value written twice (values must be unique)', () => {
    assert.throws(() => checkLinearizable([w('a', 0, 1), w('a', 2, 3)]), /written twice/);
  });

  it('agrees with an exhaustive search on random small histories', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = new SeededRandom(seed);
      const n = 3 + rnd.intBelow(7);
      const values = Array.from({ length: 1 + rnd.intBelow(4) }, (_, i) => `s${seed}v${i}`);
      const calls: RegisterCall[] = values.map((value) => {
        const invoke = rnd.intBelow(20);
        return w(value, invoke, rnd.chance(0.3) ? Infinity : invoke + rnd.intBelow(8));
      });
      for (let i = values.length; i < n; i++) {
        const invoke = rnd.intBelow(20);
        calls.push(r(rnd.chance(0.15) ? null : rnd.pick(values), invoke, invoke + rnd.intBelow(8)));
      }
      const expected = bruteForce(calls);
      assert.equal(checkLinearizable(calls).verdict === 'linearizable', expected, `seed ${seed}: ${JSON.stringify(calls)}`);
    }
  });
});

/**
 * The definition, by exhaustion: some order of the operations (unknown writes may be
 * left out) respects real time and a sequential register. Only for a handful of ops.
 */
function bruteForce(calls: readonly RegisterCall[]): boolean {
  const placed = new Array<boolean>(calls.length).fill(false);
  const go = (value: string | null): boolean => {
    if (calls.every((c, i) => placed[i] || c.complete === Infinity)) return true;
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      if (placed[i]) continue;
      // Real time: c cannot go next if some unplaced op returned before c was invoked.
      if (calls.some((o, j) => !placed[j] && j !== i && o.complete < c.invoke)) continue;
      if (c.kind === 'read' && c.value !== value) continue;
      placed[i] = true;
      const ok = go(c.kind === 'write' ? c.value : value);
      placed[i] = false;
      if (ok) return true;
    }
    return false;
  };
  return go(null);
}
