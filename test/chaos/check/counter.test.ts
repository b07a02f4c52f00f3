import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory } from './index.js';
import { HistoryBuilder, allowedLossKinds, anomalyKinds } from './history-builder.js';

describe('counter checker: valid histories pass', () => {
  it('accepts concurrent increments, info ones applied or not, and reads within the bounds', () => {
    const h = new HistoryBuilder()
      .incr(1, 'strong', 'c', 1, [0, 10])
      .incr(2, 'quorum', 'c', 3, [5, 30]) // the info increment below went in before it
      .incr(3, 'strong', 'c', null, [6, 20], 'info') // applied
      .incr(4, 'strong', 'c', null, [7, 21], 'info') // never applied
      .incr(5, 'strong', 'c', null, [8, 9], 'fail')
      .counterRead(6, 'strong', 'c', 1, [11, 12]) // 1 acknowledged before it began
      .counterRead(6, 'strong', 'c', 3, [31, 32])
      .counterRead(7, 'quorum', 'c', null, [33, 34]) // a lagging node, for a process that saw nothing
      .counterRead(2, 'quorum', 'c', 3, [35, 36]) // its own INCR returned 3
      .counterRead(8, 'eventual', 'c', 0, [37, 38])
      .counterRead(6, 'strong', 'c', 0, [39, 40], 'fail')
      .counterFinal('c', 3, 'n1')
      .counterFinal('c', 3, 'n2');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(
      results.map((r) => `${r.workload}/${r.level}`),
      ['counter/strong', 'counter/quorum', 'counter/eventual'],
    );
    const strong = results[0];
    assert.equal(strong?.counts['finalTotal'], 3);
    assert.equal(strong?.counts['finalKeys'], 1);
  });

  it('ok eventual increments lost across a failover are allowed losses', () => {
    const h = new HistoryBuilder()
      .incr(1, 'strong', 'c', 1, [0, 10])
      .incr(2, 'eventual', 'c', 2, [20, 21]) // lost when n1 was killed
      .incr(2, 'eventual', 'c', 3, [22, 23]) // lost too
      .nemesis(24, 'kill')
      .incr(2, 'eventual', 'c', 2, [3000, 3001]) // results of eventual increments promise nothing
      .counterFinal('c', 2);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(allowedLossKinds(results), ['counter/eventual:lost']);
    assert.match(results.find((r) => r.level === 'eventual')?.allowedLosses?.[0]?.message ?? '', /at least 2 of 3 .* first kill n1 at 24 ms/);
  });

  it('info increments can make up for lost eventual ones: only the certain minimum must be explained', () => {
    // Final 2 = the acknowledged one + either the info one or the eventual one: no loss is certain.
    const h = new HistoryBuilder().incr(1, 'strong', 'c', 1, [0, 10]).incr(2, 'strong', 'c', null, [20, 30], 'info').incr(3, 'eventual', 'c', 2, [40, 41]).counterFinal('c', 2);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(allowedLossKinds(results), []);
  });
});

describe('counter checker: each anomaly is caught', () => {
  it("final below the acknowledged increments is 'lost'; above the possible ones, 'overcount'", () => {
    const base = (): HistoryBuilder => new HistoryBuilder().incr(1, 'quorum', 'c', 1, [0, 10]).incr(1, 'strong', 'c', 2, [20, 30]).incr(2, 'strong', 'c', null, [40, 50], 'info');
    assert.deepEqual(anomalyKinds(checkHistory(base().counterFinal('c', 2).records)), []);
    assert.deepEqual(anomalyKinds(checkHistory(base().counterFinal('c', 3).records)), []);
    assert.deepEqual(anomalyKinds(checkHistory(base().counterFinal('c', 1).records)), ['counter/strong:duplicate-result', 'counter/strong:lost']);
    assert.deepEqual(anomalyKinds(checkHistory(base().counterFinal('c', null).records)), ['counter/quorum:duplicate-result', 'counter/strong:duplicate-result', 'counter/strong:lost']);
    assert.deepEqual(anomalyKinds(checkHistory(base().counterFinal('c', 4).records)), ['counter/strong:overcount']);
  });

  it("two acknowledged increments returning the same value are a 'duplicate-result'", () => {
    const h = new HistoryBuilder().incr(1, 'quorum', 'c', 1, [0, 10]).incr(2, 'quorum', 'c', 1, [5, 15]).counterFinal('c', 2);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['counter/quorum:duplicate-result']);
    assert.deepEqual(results.find((r) => r.level === 'quorum')?.anomalies[0]?.ops, [0, 1]);
  });

  it('equal results from eventual increments promise nothing', () => {
    const h = new HistoryBuilder().incr(1, 'eventual', 'c', 1, [0, 10]).incr(2, 'eventual', 'c', 1, [5, 15]).nemesis(12, 'partition').counterFinal('c', 1);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it("an INCR result below the increments acknowledged before it is a 'stale-result', above the invoked ones an 'overcount'", () => {
    const stale = new HistoryBuilder().incr(1, 'strong', 'c', 1, [0, 10]).incr(2, 'strong', 'c', 1, [20, 30]).counterFinal('c', 2);
    assert.deepEqual(anomalyKinds(checkHistory(stale.records)), ['counter/strong:duplicate-result', 'counter/strong:stale-result']);
    const over = new HistoryBuilder().incr(1, 'strong', 'c', 2, [0, 10]).incr(2, 'strong', 'c', 1, [20, 30]).counterFinal('c', 2);
    assert.deepEqual(anomalyKinds(checkHistory(over.records)), ['counter/strong:overcount', 'counter/strong:stale-result']);
  });

  it("strong reads: below the acknowledged increments is a 'stale-read', above the possible ones an 'overcount'", () => {
    const h = new HistoryBuilder().incr(1, 'strong', 'c', 1, [0, 10]).incr(1, 'quorum', 'c', 2, [20, 30]);
    h.counterRead(2, 'strong', 'c', 1, [31, 32]).counterRead(2, 'strong', 'c', 2, [33, 34]).incr(1, 'strong', 'c', null, [40, 50], 'info');
    h.counterRead(3, 'strong', 'c', 3, [35, 36]).counterRead(3, 'strong', 'c', 3, [40, 41]).counterFinal('c', 3);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['counter/strong:overcount', 'counter/strong:stale-read']);
  });

  it("a read at any level above the increments invoked by its end is an 'overcount'", () => {
    const h = new HistoryBuilder().incr(1, 'eventual', 'c', 1, [0, 10]).counterRead(2, 'eventual', 'c', 2, [20, 30]).counterRead(2, 'quorum', 'c', 2, [20, 30]).counterFinal('c', 1);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['counter/eventual:overcount', 'counter/quorum:overcount']);
  });

  it("quorum reads: below the process's own INCR result is a 'stale-read', below its previous read 'nonmonotonic-read'", () => {
    const h = new HistoryBuilder()
      .incr(9, 'strong', 'c', 1, [0, 10])
      .incr(9, 'strong', 'c', 2, [11, 12])
      .incr(1, 'quorum', 'c', 3, [20, 30])
      .counterRead(1, 'quorum', 'c', 2, [31, 32])
      .counterRead(2, 'quorum', 'c', 2, [33, 34])
      .counterRead(2, 'quorum', 'c', 1, [35, 36])
      .counterRead(3, 'quorum', 'c', 0, [37, 38]) // another process, no history: fine
      .counterFinal('c', 3);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['counter/quorum:nonmonotonic-read', 'counter/quorum:stale-read']);
  });

  it('final reads that disagree are divergent', () => {
    const h = new HistoryBuilder().incr(1, 'strong', 'c', 1, [0, 10]).counterFinal('c', 1, 'n1').counterFinal('c', 2, 'n2');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['counter/strong:divergent-final']);
  });

  it('ok eventual increments lost with no leader failure near them are an anomaly', () => {
    const h = new HistoryBuilder()
      .incr(1, 'strong', 'c', 1, [0, 10])
      .incr(2, 'eventual', 'c', 2, [20, 21]) // near the kill: explained
      .nemesis(100, 'kill')
      .incr(2, 'eventual', 'c', 2, [20_000, 20_001]) // nothing near it
      .counterFinal('c', 1);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['counter/eventual:lost-without-failover']);
    assert.deepEqual(results.find((r) => r.level === 'eventual')?.anomalies[0]?.ops, [3]);
  });
});
