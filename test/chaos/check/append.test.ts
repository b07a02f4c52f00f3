import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory } from './index.js';
import { HistoryBuilder, allowedLossKinds, anomalyKinds } from './history-builder.js';

describe('append checker: valid histories pass', () => {
  it('accepts concurrent appends in either order, info appends applied late or never, and growing reads', () => {
    const h = new HistoryBuilder()
      .append(1, 'strong', 'l', 'a', [0, 10])
      .append(2, 'quorum', 'l', 'b', [5, 30]) // concurrent with a and c: any order among them
      .append(3, 'strong', 'l', 'c', [6, 8])
      .appendRead(4, 'strong', 'l', ['c', 'a'], [11, 12])
      .append(5, 'strong', 'l', 'late', [13, 14], 'info') // applied after d
      .append(6, 'strong', 'l', 'never', [15, 16], 'info')
      .append(7, 'strong', 'l', 'f', [17, 18], 'fail')
      .appendRead(2, 'quorum', 'l', ['c', 'a', 'b'], [31, 32])
      .appendRead(8, 'quorum', 'l', ['c'], [33, 34]) // a lagging node, for a process that saw nothing
      .appendRead(9, 'eventual', 'l', [], [35, 36])
      .append(1, 'strong', 'l', 'd', [40, 50])
      .appendRead(2, 'quorum', 'l', ['c', 'a', 'b', 'd', 'late'], [60, 61])
      .appendRead(4, 'strong', 'l', [], [62, 63], 'info')
      .appendFinal('l', ['c', 'a', 'b', 'd', 'late'], 'n1')
      .appendFinal('l', ['c', 'a', 'b', 'd', 'late'], 'n2');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(allowedLossKinds(results), []);
    assert.deepEqual(
      results.map((r) => `${r.workload}/${r.level}`),
      ['append/strong', 'append/quorum', 'append/eventual'],
    );
    assert.equal(results[0]?.counts['finalTokens'], 5);
  });

  it('an eventual read that saw a write later lost is loss evidence, and the loss is allowed near a failover', () => {
    const h = new HistoryBuilder()
      .append(1, 'strong', 'l', 'a', [0, 10])
      .append(2, 'eventual', 'l', 'e', [20, 21])
      .appendRead(3, 'eventual', 'l', ['a', 'e'], [22, 23])
      .leader(0, 'n2', 'n1', 3)
      .leader(300, 'n2', 'n3', 4)
      .append(1, 'strong', 'l', 'b', [400, 410])
      .appendFinal('l', ['a', 'b']);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(allowedLossKinds(results), ['append/eventual:diverged-read', 'append/eventual:lost']);
    assert.match(results.find((r) => r.level === 'eventual')?.allowedLosses?.find((a) => a.kind === 'lost')?.message ?? '', /n2 saw leader n1 \(term 3\) → n3 \(term 4\) at 300 ms/);
  });
});

describe('append checker: each anomaly is caught', () => {
  it("a token twice in a read is a 'duplicate', at any level", () => {
    const h = new HistoryBuilder().append(1, 'strong', 'l', 'a', [0, 10]).appendRead(2, 'eventual', 'l', ['a', 'a'], [11, 12]).appendFinal('l', ['a', 'a']);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/eventual:duplicate', 'append/strong:duplicate']);
  });

  it("a token never appended, appended elsewhere, failed, or invoked after the read completed is a 'phantom'", () => {
    const h = new HistoryBuilder()
      .append(1, 'strong', 'other', 'o', [0, 1])
      .append(1, 'strong', 'l', 'f', [2, 3], 'fail')
      .appendRead(2, 'eventual', 'l', ['zzz'], [10, 11])
      .appendRead(2, 'eventual', 'l', ['o'], [12, 13])
      .appendRead(2, 'eventual', 'l', ['f'], [14, 15])
      .appendRead(2, 'quorum', 'l', ['later'], [16, 17])
      .append(3, 'eventual', 'l', 'later', [18, 19], 'info');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/eventual:phantom', 'append/eventual:phantom', 'append/eventual:phantom', 'append/quorum:phantom']);
  });

  it("an acknowledged append missing from the final list is 'lost', at its own level", () => {
    const h = new HistoryBuilder().append(1, 'strong', 'l', 'a', [0, 10]).append(2, 'quorum', 'l', 'b', [20, 30]).append(3, 'strong', 'l', 'i', [40, 50], 'info').appendFinal('l', ['a']);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['append/quorum:lost']);
    assert.deepEqual(results.find((r) => r.level === 'quorum')?.anomalies[0]?.ops, [1]);
  });

  it("strong and quorum reads that are not a prefix of the final list are 'divergent-read'", () => {
    const h = new HistoryBuilder()
      .append(1, 'strong', 'l', 'a', [0, 10])
      .append(2, 'strong', 'l', 'b', [0, 10])
      .appendRead(3, 'strong', 'l', ['b', 'a'], [11, 12])
      .appendRead(4, 'quorum', 'l', ['b'], [13, 14])
      .appendRead(5, 'quorum', 'l', ['a'], [15, 16])
      .appendFinal('l', ['a', 'b']);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/quorum:divergent-read', 'append/strong:divergent-read']);
  });

  it("an append acknowledged before another was invoked but after it in the final list is 'reordered'", () => {
    const h = new HistoryBuilder().append(1, 'quorum', 'l', 'a', [0, 10]).append(2, 'eventual', 'l', 'b', [20, 21], 'info').appendFinal('l', ['b', 'a']);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['append/quorum:reordered']);
    assert.deepEqual(results.find((r) => r.level === 'quorum')?.anomalies[0]?.ops, [0, 1]);
    const concurrent = new HistoryBuilder().append(1, 'quorum', 'l', 'a', [0, 10]).append(2, 'strong', 'l', 'b', [10, 21]).appendFinal('l', ['b', 'a']);
    assert.deepEqual(anomalyKinds(checkHistory(concurrent.records)), []);
  });

  it("a strong read missing an append acknowledged before it began is a 'stale-read'", () => {
    const h = new HistoryBuilder()
      .append(1, 'quorum', 'l', 'a', [0, 10])
      .append(1, 'strong', 'l', 'b', [20, 30])
      .appendRead(2, 'strong', 'l', ['a'], [25, 26]) // b still in flight: fine
      .appendRead(2, 'strong', 'l', ['a'], [31, 32])
      .appendFinal('l', ['a', 'b']);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['append/strong:stale-read']);
    assert.deepEqual(results[0]?.anomalies[0]?.ops, [3, 1]);
  });

  it("quorum reads: missing the process's own append is a 'stale-read', not extending its previous read 'nonmonotonic-read'", () => {
    const h = new HistoryBuilder()
      .append(9, 'strong', 'l', 'a', [0, 10])
      .append(1, 'quorum', 'l', 'mine', [20, 30])
      .appendRead(1, 'quorum', 'l', ['a'], [31, 32])
      .appendRead(2, 'quorum', 'l', ['a', 'mine'], [33, 34])
      .appendRead(2, 'quorum', 'l', ['a'], [35, 36])
      .appendRead(3, 'quorum', 'l', [], [37, 38]) // another process, no history: fine
      .appendFinal('l', ['a', 'mine']);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/quorum:nonmonotonic-read', 'append/quorum:stale-read']);
  });

  it('final reads that disagree are divergent', () => {
    const h = new HistoryBuilder().append(1, 'strong', 'l', 'a', [0, 10]).append(1, 'strong', 'l', 'b', [11, 20]).appendFinal('l', ['a', 'b'], 'n1').appendFinal('l', ['a'], 'n2');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/strong:divergent-final']);
  });

  it('an ok eventual append missing from the final list with no failover near it is an anomaly', () => {
    const h = new HistoryBuilder().append(1, 'strong', 'l', 'a', [0, 10]).append(2, 'eventual', 'l', 'e', [20, 21]).nemesis(30_000, 'kill').appendFinal('l', ['a']);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['append/eventual:lost-without-failover']);
  });
});
