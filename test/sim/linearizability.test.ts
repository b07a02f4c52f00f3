import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkRegisterHistory } from './linearizability.js';
import type { RegisterOp } from './linearizability.js';

let nextId = 0;
const w = (key: string, value: string, invoke: number, complete: number): RegisterOp => ({ id: nextId++, key, kind: 'write', value, invoke, complete });
const r = (key: string, value: string | null, invoke: number, complete: number): RegisterOp => ({ id: nextId++, key, kind: 'read', value, invoke, complete });

describe('register linearizability checker', () => {
  it('accepts an empty history and a sequential one', () => {
    assert.ok(checkRegisterHistory([]).ok);
    assert.ok(checkRegisterHistory([r('k', null, 0, 1), w('k', 'a', 2, 3), r('k', 'a', 4, 5), w('k', 'b', 6, 7), r('k', 'b', 8, 9)]).ok);
  });

  it('rejects a read of a value that was never written', () => {
    const res = checkRegisterHistory([w('k', 'a', 0, 1), r('k', 'zzz', 2, 3)]);
    assert.equal(res.ok, false);
    assert.equal(res.badKey, 'k');
  });

  it('rejects a stale read after a completed write', () => {
    assert.equal(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'b', 2, 3), r('k', 'a', 4, 5)]).ok, false);
  });

  it('rejects a read of the initial value after a write completed', () => {
    assert.equal(checkRegisterHistory([w('k', 'a', 0, 1), r('k', null, 2, 3)]).ok, false);
  });

  it('rejects a read that observes a write invoked only after the read completed', () => {
    assert.equal(checkRegisterHistory([r('k', 'a', 0, 1), w('k', 'a', 2, 3)]).ok, false);
  });

  it('rejects two reads that see the writes in opposite orders when both reads are sequential', () => {
    // Concurrent writes a and b; then a read sees b, a later read sees a: the
    // register would have to go b → a with no write in between.
    const h = [w('k', 'a', 0, 10), w('k', 'b', 0, 10), r('k', 'b', 11, 12), r('k', 'a', 13, 14)];
    assert.equal(checkRegisterHistory(h).ok, false);
  });

  it('accepts a read concurrent with a write returning either the old or the new value', () => {
    assert.ok(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'b', 2, 6), r('k', 'a', 3, 4)]).ok);
    assert.ok(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'b', 2, 6), r('k', 'b', 3, 4)]).ok);
  });

  it('rejects a new-old inversion between two reads during one write', () => {
    // Both reads overlap the write, but once a reader has seen b, a later reader cannot see a.
    assert.equal(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'b', 2, 20), r('k', 'b', 3, 4), r('k', 'a', 5, 6)]).ok, false);
  });

  it('an indeterminate write may take effect, even long after it was invoked', () => {
    assert.ok(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'x', 2, Infinity), r('k', 'a', 3, 4), r('k', 'x', 50, 51)]).ok);
  });

  it('an indeterminate write may never take effect', () => {
    assert.ok(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'x', 2, Infinity), r('k', 'a', 30, 31)]).ok);
  });

  it('an indeterminate write cannot take effect before it was invoked', () => {
    assert.equal(checkRegisterHistory([r('k', 'x', 0, 1), w('k', 'x', 2, Infinity)]).ok, false);
  });

  it('once an indeterminate write has been observed, it cannot be un-observed', () => {
    assert.equal(checkRegisterHistory([w('k', 'a', 0, 1), w('k', 'x', 2, Infinity), r('k', 'x', 3, 4), r('k', 'a', 5, 6)]).ok, false);
  });

  it('checks keys independently and names the bad one', () => {
    const res = checkRegisterHistory([w('a', '1', 0, 1), r('a', '1', 2, 3), w('b', '1', 0, 1), r('b', null, 2, 3)]);
    assert.equal(res.ok, false);
    assert.equal(res.badKey, 'b');
  });

  it('handles many concurrent operations quickly thanks to memoisation', () => {
    const h: RegisterOp[] = [];
    // 16 overlapping writes then a read of one of them: exponential without the cache.
    for (let i = 0; i < 16; i++) h.push(w('k', `v${i}`, 0, 100));
    h.push(r('k', 'v7', 101, 102));
    h.push(r('k', 'nope', 103, 104));
    const t0 = performance.now();
    const res = checkRegisterHistory(h);
    assert.equal(res.ok, false);
    assert.ok(performance.now() - t0 < 5000);
  });

  it('agrees with a brute-force checker on random small histories', () => {
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let trial = 0; trial < 300; trial++) {
      const h: RegisterOp[] = [];
      const n = 2 + rnd(4);
      for (let i = 0; i < n; i++) {
        const inv = rnd(10);
        const comp = rnd(5) === 0 ? Infinity : inv + rnd(6);
        if (rnd(2) === 0) h.push(w('k', `v${i}`, inv, comp));
        else h.push(r('k', rnd(3) === 0 ? null : `v${rnd(n)}`, inv, comp === Infinity ? inv + 1 : comp));
      }
      assert.equal(checkRegisterHistory(h).ok, bruteForce(h), JSON.stringify(h));
    }
  });
});

/** Try every permutation (and every subset of indeterminate writes omitted). */
function bruteForce(h: readonly RegisterOp[]): boolean {
  const perm = (rest: RegisterOp[], done: RegisterOp[]): boolean => {
    if (rest.length === 0) {
      let state: string | null = null;
      for (const op of done) {
        if (op.kind === 'write') state = op.value;
        else if (op.value !== state) return false;
      }
      return true;
    }
    for (let i = 0; i < rest.length; i++) {
      const op = rest[i] as RegisterOp;
      // op may go next only if nothing remaining must precede it (completed before op was invoked).
      if (rest.some((o) => o !== op && o.complete < op.invoke)) continue;
      if (perm([...rest.slice(0, i), ...rest.slice(i + 1)], [...done, op])) return true;
    }
    return false;
  };
  return perm([...h], []);
}
