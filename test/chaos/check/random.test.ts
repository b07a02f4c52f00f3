import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendRead, CounterRead, HistoryRecord, Op, RegisterRead, RegisterWrite, TtlPttl, TtlRead, TtlWrite } from '../history.js';
import { checkHistory, verdictLine } from './index.js';
import { anomalyKinds } from './history-builder.js';
import { isAcknowledged } from './ops.js';
import { simulateHistory, type SimulationShape } from './simulated-history.js';
import { clockMarginMs, neverExpiresMs } from './ttl.js';

const shapeOf = (seed: number): SimulationShape => ({ slots: 2 + (seed % 6), opsPerSlot: 30, keysPerWorkload: 1 + (seed % 2), slowOpMaxMs: seed % 3 === 0 ? 3000 : 300 });

const opsOf = (h: readonly HistoryRecord[]): Op[] => h.filter((r): r is Op => r.type === 'op');

/** Replaces records by index with changed copies. */
function mutate(h: readonly HistoryRecord[], change: ReadonlyMap<number, HistoryRecord>): HistoryRecord[] {
  return h.map((r) => (r.type === 'op' ? (change.get(r.index) ?? r) : r));
}

describe('checkers on random histories of a store that keeps its promises', () => {
  it('are always valid (hundreds of seeds, all levels, info and lost eventual writes, slow operations)', () => {
    let allowedLosses = 0;
    let infos = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const results = checkHistory(simulateHistory(seed, shapeOf(seed)));
      const line = verdictLine(results, seed);
      assert.ok(line.startsWith('VALID '), `${line}\n${results.flatMap((r) => r.anomalies.map((a) => `${a.kind}: ${a.message}`)).join('\n')}`);
      allowedLosses += results.reduce((n, r) => n + (r.allowedLosses?.length ?? 0), 0);
      infos += results.reduce((n, r) => n + (r.counts['info'] ?? 0), 0);
    }
    // The histories must contain what makes them hard, or passing says little.
    assert.ok(allowedLosses > 100 && infos > 1000, `allowed losses ${allowedLosses}, info ops ${infos}`);
  });
});

describe('the same random histories, corrupted, are caught', () => {
  const seeds = Array.from({ length: 60 }, (_, i) => i + 1);

  it('a strong read that returns a value overwritten before it began', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const writes = opsOf(h).filter((op): op is RegisterWrite => op.workload === 'register' && op.f === 'write' && isAcknowledged(op));
      const read = opsOf(h).find(
        (op): op is RegisterRead => op.workload === 'register' && op.f === 'read' && op.outcome === 'ok' && op.level === 'strong' && op.final !== true,
      );
      if (read === undefined) continue;
      // An old write, followed by another acknowledged one, both finished before the read began.
      const old = writes.find((a) => a.key === read.key && a.value !== read.value && writes.some((b) => b.key === read.key && b !== a && a.completeMs < b.invokeMs && b.completeMs < read.invokeMs));
      if (old === undefined) continue;
      tried++;
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map([[read.index, { ...read, value: old.value }]]))));
      assert.ok(kinds.includes('register/strong:nonlinearizable'), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 10, `only ${tried} seeds had a read to corrupt`);
  });

  it("a final register value that an acknowledged write must have replaced ('lost')", () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const writes = opsOf(h).filter((op): op is RegisterWrite => op.workload === 'register' && op.f === 'write' && isAcknowledged(op));
      const old = writes.find((a) => writes.some((b) => b.key === a.key && a.completeMs < b.invokeMs));
      if (old === undefined) continue;
      tried++;
      const finals = opsOf(h).filter((op): op is RegisterRead => op.workload === 'register' && op.final === true && op.key === old.key);
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map(finals.map((f) => [f.index, { ...f, value: old.value }])))));
      assert.ok(kinds.some((k) => k.endsWith(':lost')), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had a write to lose`);
  });

  it('a counter final value one below the acknowledged increments', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const final = opsOf(h).find((op): op is CounterRead => op.workload === 'counter' && op.final === true);
      if (final === undefined) continue;
      const acknowledged = opsOf(h).filter((op) => op.f === 'incr' && op.key === final.key && isAcknowledged(op)).length;
      if (acknowledged === 0) continue;
      tried++;
      const finals = opsOf(h).filter((op): op is CounterRead => op.workload === 'counter' && op.final === true && op.key === final.key);
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map(finals.map((f) => [f.index, { ...f, value: acknowledged - 1 }])))));
      assert.ok(kinds.includes('counter/strong:lost'), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had increments`);
  });

  it('an acknowledged append dropped from the final list', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const acked = opsOf(h).find((op) => op.f === 'append' && isAcknowledged(op));
      if (acked === undefined || acked.f !== 'append') continue;
      tried++;
      const finals = opsOf(h).filter((op): op is AppendRead => op.workload === 'append' && op.final === true && op.key === acked.key);
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map(finals.map((f) => [f.index, { ...f, tokens: f.tokens.filter((t) => t !== acked.token) }])))));
      assert.ok(kinds.includes(`append/${acked.level}:lost`), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had appends`);
  });

  it('a quorum append read that goes back on what its process read before', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const reads = opsOf(h).filter((op): op is AppendRead => op.f === 'read' && op.workload === 'append' && op.level === 'quorum' && op.outcome === 'ok' && op.final !== true);
      const first = reads.find((a) => a.tokens.length > 0 && reads.some((b) => b.process === a.process && b.key === a.key && b.invokeMs > a.completeMs));
      if (first === undefined) continue;
      const later = reads.find((b) => b.process === first.process && b.key === first.key && b.invokeMs > first.completeMs) as AppendRead;
      tried++;
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map([[later.index, { ...later, tokens: first.tokens.slice(0, -1) }]]))));
      assert.ok(kinds.includes('append/quorum:nonmonotonic-read') || kinds.includes('append/quorum:stale-read'), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 10, `only ${tried} seeds had two quorum reads by one process`);
  });

  // The simulated clocks are true, so for the timing checks the clock faults (which
  // would make the checker skip them) are left out.
  const trueClocks = (seed: number): HistoryRecord[] => simulateHistory(seed, shapeOf(seed)).filter((r) => !(r.type === 'nemesis' && r.fault === 'clock'));

  it('a PTTL of -1 (a TTL lost)', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = simulateHistory(seed, shapeOf(seed));
      const read = opsOf(h).find((op): op is TtlPttl => op.f === 'pttl' && op.outcome === 'ok' && op.pttlMs !== null && op.pttlMs >= 0);
      if (read === undefined) continue;
      tried++;
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map([[read.index, { ...read, pttlMs: -1 }]]))));
      assert.ok(kinds.includes(`ttl/${read.level}:ttl-lost`), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had a PTTL with a TTL`);
  });

  it('a read of a value past its expiry', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = trueClocks(seed);
      const writes = opsOf(h).filter((op): op is TtlWrite => op.workload === 'ttl' && op.f === 'write' && op.outcome === 'ok' && op.ttlMs < neverExpiresMs);
      let pair: [TtlRead, TtlWrite] | undefined;
      for (const op of opsOf(h)) {
        if (op.workload !== 'ttl' || op.f !== 'read' || op.outcome !== 'ok') continue;
        const w = writes.find((x) => x.key === op.key && op.invokeMs > x.completeMs + x.ttlMs + clockMarginMs);
        if (w !== undefined) pair = [op, w];
      }
      if (pair === undefined) continue;
      const [read, w] = pair;
      tried++;
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map([[read.index, { ...read, value: w.value }]]))));
      assert.ok(kinds.includes(`ttl/${read.level}:expired-read`), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had a read after an expiry`);
  });

  it('a final PTTL of a never-expiring key that finds it missing', () => {
    let tried = 0;
    for (const seed of seeds) {
      const h = trueClocks(seed);
      const acked = opsOf(h).find((op): op is TtlWrite => op.workload === 'ttl' && op.f === 'write' && isAcknowledged(op) && op.ttlMs >= neverExpiresMs);
      if (acked === undefined) continue;
      tried++;
      const finals = opsOf(h).filter((op): op is TtlPttl => op.f === 'pttl' && op.final === true && op.key === acked.key);
      const kinds = anomalyKinds(checkHistory(mutate(h, new Map(finals.map((f) => [f.index, { ...f, pttlMs: -2 }])))));
      assert.ok(kinds.includes('ttl/strong:premature-expiry'), `seed ${seed}: ${kinds.join()}`);
    }
    assert.ok(tried >= 30, `only ${tried} seeds had a never-expiring key`);
  });
});
