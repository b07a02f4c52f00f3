import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory } from './index.js';
import { HistoryBuilder, allowedLossKinds, anomalyKinds } from './history-builder.js';

describe('register checker: valid histories pass', () => {
  it('accepts overlapping writes and reads at all levels, with info writes that happened late or never', () => {
    const h = new HistoryBuilder()
      .write(1, 'strong', 'k', 'a', [0, 10])
      .write(2, 'quorum', 'k', 'b', [5, 30]) // overlaps a and the reads below
      .read(3, 'strong', 'k', 'a', [12, 14]) // b not yet in effect
      .read(4, 'strong', 'k', 'b', [15, 18]) // now it is
      .write(5, 'strong', 'k', 'late', [20, 25], 'info') // timed out, applied long after
      .write(6, 'quorum', 'k', 'never', [21, 26], 'info') // timed out, never applied
      .read(7, 'quorum', 'k', 'a', [40, 41]) // a lagging node: allowed for a process that wrote nothing
      .read(8, 'eventual', 'k', null, [42, 43]) // no promise at all
      .read(3, 'strong', 'k', 'b', [50, 52])
      .read(3, 'strong', 'k', 'late', [900, 910])
      .write(9, 'strong', 'k', 'failed', [60, 61], 'fail')
      .read(9, 'strong', 'k', 'x', [62, 63], 'info') // reads without a result say nothing
      .finalRead('k', 'late', 'n1')
      .finalRead('k', 'late', 'n2');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(
      results.map((r) => `${r.level}:${r.valid}`),
      ['strong:true', 'quorum:true', 'eventual:true'],
    );
    const strong = results.find((r) => r.level === 'strong');
    assert.equal(strong?.counts['keysSearched'], 1);
    assert.equal(strong?.counts['finalKeys'], 1);
    assert.equal(strong?.counts['info'], 2);
    assert.equal(strong?.counts['fail'], 1);
  });

  it('a quorum process reads its own write, then anything newer, and a concurrent older write is not stale', () => {
    const h = new HistoryBuilder()
      .write(2, 'strong', 'k', 'a', [0, 10])
      .write(1, 'quorum', 'k', 'mine', [5, 20]) // concurrent with a: either order
      .read(1, 'quorum', 'k', 'a', [21, 22]) // a may follow mine in the log
      .write(2, 'strong', 'k', 'b', [30, 40])
      .read(1, 'quorum', 'k', 'b', [41, 42])
      .write(3, 'strong', 'k', 'c', [43, 50], 'info')
      .read(1, 'quorum', 'k', 'c', [51, 52])
      .finalRead('k', 'c');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it('a quorum read of an info or eventual write that may have applied late is neither stale nor nonmonotonic', () => {
    const h = new HistoryBuilder()
      .write(2, 'strong', 'k', 'slow', [0, 10], 'info') // applied only after mine and b
      .write(3, 'eventual', 'k', 'lazy', [1, 2]) // acknowledged, committed later still
      .write(1, 'quorum', 'k', 'mine', [20, 30])
      .write(4, 'strong', 'k', 'b', [31, 35])
      .read(1, 'quorum', 'k', 'b', [36, 37])
      .read(1, 'quorum', 'k', 'slow', [40, 41])
      .read(1, 'quorum', 'k', 'lazy', [42, 43])
      .finalRead('k', 'lazy');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it('operations that touch at an instant count as concurrent', () => {
    const h = new HistoryBuilder()
      .write(1, 'strong', 'k', 'a', [0, 10])
      .write(2, 'strong', 'k', 'b', [10, 20]) // invoked as a completed: a clock tick cannot order them
      .read(3, 'strong', 'k', 'a', [20, 21])
      .finalRead('k', 'a');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });
});

describe('register checker: each anomaly is caught', () => {
  it('strong: a read of an overwritten value is nonlinearizable, naming the read', () => {
    const h = new HistoryBuilder().write(1, 'strong', 'k', 'a', [0, 10]).write(1, 'strong', 'k', 'b', [20, 30]);
    h.read(2, 'strong', 'k', 'a', [40, 50]);
    const staleRead = h.last;
    h.finalRead('k', 'b');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['register/strong:nonlinearizable']);
    const a = results[0]?.anomalies[0];
    assert.equal(a?.ops?.[0], staleRead);
    assert.match(a?.message ?? '', /register held 'b'/);
  });

  it('strong: ok quorum writes are in real-time order too', () => {
    const h = new HistoryBuilder()
      .write(1, 'quorum', 'k', 'a', [0, 10])
      .write(2, 'quorum', 'k', 'b', [20, 30])
      .read(3, 'strong', 'k', 'b', [31, 32])
      .read(3, 'strong', 'k', 'a', [33, 34])
      .finalRead('k', 'b');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/strong:nonlinearizable']);
  });

  it('strong: an info write cannot take effect before it was invoked', () => {
    const h = new HistoryBuilder().read(1, 'strong', 'k', null, [0, 1]).write(2, 'strong', 'k', 'x', [5, 9], 'info').read(1, 'strong', 'k', 'x', [2, 3]).finalRead('k', 'x');
    // The read of x completed before x's write was invoked: a phantom and not linearizable.
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/strong:nonlinearizable', 'register/strong:phantom']);
  });

  it('a search that hits its bound reports exhausted, not nonlinearizable', () => {
    const h = new HistoryBuilder();
    for (let i = 0; i < 8; i++) h.write(i, 'strong', 'k', `v${i}`, [0, 100]);
    for (let i = 0; i < 8; i++) h.read(10 + i, 'strong', 'k', `v${i}`, [0, 100]);
    h.finalRead('k', 'v7');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
    const results = checkHistory(h.records, { searchStepsMax: 5 });
    assert.deepEqual(anomalyKinds(results), ['register/strong:exhausted']);
    assert.match(results[0]?.anomalies[0]?.message ?? '', /neither proven nor refuted/);
  });

  it("quorum: reading a write that finished before the process's own write was invoked is stale", () => {
    const h = new HistoryBuilder()
      .write(2, 'strong', 'k', 'old', [0, 10])
      .write(1, 'quorum', 'k', 'mine', [20, 30])
      .read(1, 'quorum', 'k', 'old', [31, 32])
      .finalRead('k', 'mine');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/quorum:stale-read']);
  });

  it('quorum: reading nil after its own write is stale', () => {
    const h = new HistoryBuilder().write(1, 'quorum', 'k', 'mine', [0, 10]).read(1, 'quorum', 'k', null, [11, 12]).finalRead('k', 'mine');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/quorum:stale-read']);
  });

  it('quorum: reading a write that finished before a write the process already read is nonmonotonic', () => {
    const h = new HistoryBuilder()
      .write(2, 'strong', 'k', 'a', [0, 10])
      .write(2, 'strong', 'k', 'b', [20, 30])
      .read(1, 'quorum', 'k', 'b', [40, 41])
      .read(1, 'quorum', 'k', 'a', [42, 43])
      .finalRead('k', 'b');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/quorum:nonmonotonic-read']);
  });

  it('quorum: nil after a value is nonmonotonic, even when the value came from an info write', () => {
    const h = new HistoryBuilder().write(2, 'strong', 'k', 'a', [0, 10], 'info').read(1, 'quorum', 'k', 'a', [40, 41]).read(1, 'quorum', 'k', null, [42, 43]).finalRead('k', 'a');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['register/quorum:nonmonotonic-read']);
  });

  it('quorum: the same reads by two different processes are not nonmonotonic', () => {
    const h = new HistoryBuilder()
      .write(2, 'strong', 'k', 'a', [0, 10])
      .write(2, 'strong', 'k', 'b', [20, 30])
      .read(1, 'quorum', 'k', 'b', [40, 41])
      .read(3, 'quorum', 'k', 'a', [42, 43])
      .finalRead('k', 'b');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it("final state: a value acknowledged before another ok write was invoked cannot be final ('lost')", () => {
    const h = new HistoryBuilder().write(1, 'quorum', 'k', 'a', [0, 10]).write(2, 'quorum', 'k', 'b', [20, 30]).finalRead('k', 'a');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['register/quorum:lost', 'register/strong:nonlinearizable']);
    const lost = results.find((r) => r.level === 'quorum')?.anomalies[0];
    assert.deepEqual(lost?.ops, [1, 0]);
  });

  it('final state: nil loses every ok write; an info write or a concurrent one is not lost', () => {
    const lostAll = new HistoryBuilder().write(1, 'quorum', 'k', 'a', [0, 10]).write(2, 'quorum', 'k', 'b', [20, 30]).finalRead('k', null);
    assert.deepEqual(anomalyKinds(checkHistory(lostAll.records)).filter((k) => k.endsWith('lost')), ['register/quorum:lost', 'register/quorum:lost']);
    const fine = new HistoryBuilder().write(1, 'quorum', 'k', 'a', [0, 10]).write(2, 'quorum', 'k', 'b', [20, 30], 'info').write(3, 'quorum', 'k', 'c', [5, 40]).finalRead('k', 'a');
    assert.deepEqual(anomalyKinds(checkHistory(fine.records)), []);
  });

  it('phantom: a value never written, written elsewhere, from a failed write, or from a later write — at any level', () => {
    const h = new HistoryBuilder()
      .write(1, 'strong', 'k', 'a', [0, 10])
      .write(1, 'strong', 'other', 'o', [11, 12])
      .write(1, 'strong', 'k', 'f', [13, 14], 'fail')
      .read(2, 'eventual', 'k', 'zzz', [20, 21])
      .read(2, 'eventual', 'k', 'o', [22, 23])
      .read(2, 'eventual', 'k', 'f', [24, 25])
      .read(2, 'eventual', 'k', 'future', [26, 27])
      .write(3, 'eventual', 'k', 'future', [30, 31]);
    const kinds = anomalyKinds(checkHistory(h.records));
    assert.deepEqual(kinds, ['register/eventual:phantom', 'register/eventual:phantom', 'register/eventual:phantom', 'register/eventual:phantom']);
  });

  it('final reads that disagree are divergent', () => {
    const h = new HistoryBuilder().write(1, 'strong', 'k', 'a', [0, 10]).write(2, 'strong', 'k', 'b', [0, 10]).finalRead('k', 'a', 'n1').finalRead('k', 'b', 'n2');
    const kinds = anomalyKinds(checkHistory(h.records));
    assert.ok(kinds.includes('register/strong:divergent-final'), kinds.join());
  });
});

describe('register checker: eventual writes', () => {
  // e was invoked after the final value's write a was acknowledged: had e survived,
  // it would have followed a in the log.
  const lostEventual = (): HistoryBuilder => new HistoryBuilder().write(1, 'strong', 'k', 'a', [0, 10]).write(2, 'eventual', 'k', 'e', [40, 50]).finalRead('k', 'a');

  it('an ok eventual write overwritten in the final state is no loss, and reads of it are fine', () => {
    const h = new HistoryBuilder().write(2, 'eventual', 'k', 'e', [0, 10]).read(3, 'strong', 'k', 'e', [100, 101]).write(1, 'strong', 'k', 'a', [200, 210]).finalRead('k', 'a');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(allowedLossKinds(results), []);
  });

  it('an ok eventual write is unordered for linearizability: seen late, or never', () => {
    const h = new HistoryBuilder()
      .write(2, 'eventual', 'k', 'e', [0, 10])
      .write(1, 'strong', 'k', 'a', [20, 30])
      .read(3, 'strong', 'k', 'a', [31, 32])
      .read(3, 'strong', 'k', 'e', [40, 41]) // e took effect after a, long after its ack
      .write(2, 'eventual', 'k', 'gone', [50, 51])
      .nemesis(52, 'kill')
      .finalRead('k', 'e');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it('a lost ok eventual write near a kill, pause or partition is an allowed loss', () => {
    for (const fault of ['kill', 'pause', 'partition'] as const) {
      const h = lostEventual().nemesis(45, fault);
      const results = checkHistory(h.records);
      assert.deepEqual(anomalyKinds(results), [], fault);
      assert.deepEqual(allowedLossKinds(results), ['register/eventual:lost'], fault);
      assert.match(results.find((r) => r.level === 'eventual')?.allowedLosses?.[0]?.message ?? '', new RegExp(`${fault} n1 at 45 ms`));
    }
  });

  it('a leader change seen within the window explains a loss; the window is [invoke − 1 s, complete + 5 s]', () => {
    // The change happened between a node's two samples: it explains the loss if that span meets the window.
    const changed = (beforeMs: number, afterMs: number): HistoryBuilder => lostEventual().leader(beforeMs, 'n2', 'n1', 3).leader(afterMs, 'n2', 'n3', 4);
    assert.deepEqual(anomalyKinds(checkHistory(changed(5040, 5050).records)), []);
    assert.deepEqual(anomalyKinds(checkHistory(changed(5050, 9000).records)), []);
    assert.deepEqual(anomalyKinds(checkHistory(changed(5051, 5100).records)), ['register/eventual:lost-without-failover']);
    assert.deepEqual(anomalyKinds(checkHistory(changed(-2000, -961).records)), ['register/eventual:lost-without-failover']);
    const early = lostEventual().nemesis(-960, 'kill');
    assert.deepEqual(anomalyKinds(checkHistory(early.records)), []);
    const tooEarly = lostEventual().nemesis(-961, 'kill');
    assert.deepEqual(anomalyKinds(checkHistory(tooEarly.records)), ['register/eventual:lost-without-failover']);
  });

  it('a lost eventual write with no leader failure near it, or only a clock jump, is an anomaly', () => {
    assert.deepEqual(anomalyKinds(checkHistory(lostEventual().records)), ['register/eventual:lost-without-failover']);
    const clock = lostEventual().nemesis(45, 'clock').leader(10, 'n2', 'n1', 3).leader(20, 'n2', 'n1', 3);
    assert.deepEqual(anomalyKinds(checkHistory(clock.records)), ['register/eventual:lost-without-failover']);
  });
});
