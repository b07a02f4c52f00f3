import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryRecord } from '../history.js';
import { checkHistory, verdictLine } from './index.js';
import { HistoryBuilder } from './history-builder.js';

const meta: HistoryRecord = {
  type: 'meta',
  seed: 7,
  nodes: ['n1', 'n2', 'n3'],
  timeS: 1,
  nemeses: ['kill'],
  workloads: ['register', 'counter', 'append'],
  levels: ['strong', 'quorum', 'eventual'],
  clients: 4,
  network: 'proxy',
  startedAt: '2026-01-01T00:00:00Z',
};

describe('checkHistory and verdictLine', () => {
  it('returns one result per (workload, level) present, ignoring non-operation records', () => {
    const h = new HistoryBuilder().write(1, 'quorum', 'k', 'a', [0, 10]).incr(2, 'eventual', 'c', 1, [0, 10]).nemesis(5, 'pause').leader(6, 'n1', 'n1', 1).appendFinal('l', []);
    const results = checkHistory([meta, ...h.records]);
    assert.deepEqual(
      results.map((r) => `${r.workload}/${r.level}`),
      ['register/quorum', 'counter/eventual', 'append/strong'],
    );
    assert.ok(results.every((r) => r.valid));
    assert.deepEqual(checkHistory([meta]), []);
  });

  it('a valid verdict counts operations by outcome', () => {
    const h = new HistoryBuilder()
      .write(1, 'strong', 'k', 'a', [0, 10])
      .write(1, 'quorum', 'k', 'b', [20, 30], 'fail')
      .write(2, 'quorum', 'k', 'c', [20, 30], 'info')
      .incr(3, 'eventual', 'c', 1, [0, 10])
      .finalRead('k', 'a');
    const line = verdictLine(checkHistory(h.records), 42);
    // The counter key had no final read: its losses could not be checked, and the line says so.
    assert.equal(line, 'VALID seed=42 ops=5 ok=3 fail=1 info=1 anomalies=0 allowed-losses=0 keys-without-final=1 checked=register/strong,register/quorum,counter/eventual');
    h.counterFinal('c', 1);
    assert.equal(verdictLine(checkHistory(h.records), 42), 'VALID seed=42 ops=6 ok=4 fail=1 info=1 anomalies=0 allowed-losses=0 checked=register/strong,register/quorum,counter/strong,counter/eventual');
  });

  it('an invalid verdict names the anomaly kinds by count and where they were found', () => {
    const h = new HistoryBuilder()
      .write(1, 'quorum', 'k', 'a', [0, 10])
      .write(2, 'quorum', 'k', 'b', [20, 30])
      .write(2, 'quorum', 'k', 'c', [40, 50])
      .read(3, 'eventual', 'k', 'zzz', [0, 1])
      .finalRead('k', 'a');
    const line = verdictLine(checkHistory(h.records), 9);
    assert.equal(line, 'INVALID seed=9 ops=5 ok=5 fail=0 info=0 anomalies=4 (lost=2, nonlinearizable=1, phantom=1) in register/strong, register/quorum, register/eventual allowed-losses=0');
  });

  it('an exhausted search makes the verdict invalid and says what that means', () => {
    const h = new HistoryBuilder();
    for (let i = 0; i < 6; i++) h.write(i, 'strong', 'k', `v${i}`, [0, 100]).read(10 + i, 'strong', 'k', `v${i}`, [0, 100]);
    const line = verdictLine(checkHistory(h.records, { searchStepsMax: 2 }), 1);
    assert.match(line, /^INVALID seed=1 .* anomalies=1 \(exhausted=1\) in register\/strong .*not a proven violation$/);
  });
});
