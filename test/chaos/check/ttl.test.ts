import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory } from './index.js';
import { HistoryBuilder, anomalyKinds } from './history-builder.js';
import { clockMarginMs } from './ttl.js';

const day = 24 * 3600 * 1000;

describe('ttl checker: what a store that expires keys correctly may answer', () => {
  it('accepts values before their expiry, nil after it, and PTTLs within what is left', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 500, [0, 10])
      .ttlRead(2, 'strong', 's', 'a', [100, 110])
      .pttl(3, 'quorum', 's', 440, [60, 65]) // at most 10 + 500 − 60 = 450 left
      .ttlRead(2, 'eventual', 's', 'a', [505, 506]) // may still be live: stamped as late as 10
      .ttlRead(2, 'strong', 's', null, [700, 710])
      .pttl(3, 'strong', 's', -2, [720, 730])
      .ttlWrite(4, 'quorum', 's', 'b', 300, [800, 900], 'info') // stamped at an unknown time
      .ttlRead(2, 'eventual', 's', 'b', [5000, 5001]) // so nothing says it expired by now
      .ttlFinal('s', null, 'n1')
      .ttlFinal('s', null, 'n2');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), []);
    assert.deepEqual(results.map((r) => `${r.workload}/${r.level}`), ['ttl/strong', 'ttl/quorum', 'ttl/eventual']);
    assert.ok(results.reduce((n, r) => n + (r.counts['expiryChecks'] ?? 0), 0) > 0);
  });

  it('a read that finds the key missing is fine when a write that may follow has a TTL short enough', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 10_000, [0, 10])
      .ttlWrite(2, 'strong', 's', 'b', 50, [5, 20], 'info') // may overwrite a, then expire
      .ttlRead(3, 'strong', 's', null, [200, 210]);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it('keys with a TTL of a day are registers: a write they lose is caught', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 'l', 'a', day, [0, 10])
      .ttlWrite(1, 'strong', 'l', 'b', day, [20, 30])
      .ttlRead(2, 'strong', 'l', 'b', [40, 50])
      .pttl(2, 'strong', 'l', day - 100, [60, 70])
      .ttlFinal('l', 'a');
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/strong:lost', 'ttl/strong:nonlinearizable']);
  });
});

describe('ttl checker: expiry anomalies', () => {
  it('a value read after it expired everywhere is an expired read', () => {
    const late = 10 + 500 + clockMarginMs + 1;
    const h = new HistoryBuilder()
      .ttlWrite(1, 'eventual', 's', 'a', 500, [0, 10])
      .ttlRead(2, 'quorum', 's', 'a', [late, late + 5]);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/quorum:expired-read']);
  });

  it('within the margin it is not', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 500, [0, 10])
      .ttlRead(2, 'strong', 's', 'a', [10 + 500 + clockMarginMs, 700]);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), []);
  });

  it('a PTTL of -1 is a lost TTL, whatever the clocks did', () => {
    const h = new HistoryBuilder()
      .nemesis(0, 'clock', 'start')
      .ttlWrite(1, 'strong', 'l', 'a', day, [10, 20])
      .pttl(2, 'eventual', 'l', -1, [30, 40]);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/eventual:ttl-lost']);
  });

  it('a PTTL above what any write left is too long (a TTL counted from apply, not from the stamp)', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 1000, [0, 10])
      .pttl(2, 'eventual', 's', 1000, [400, 405]); // at most 10 + 1000 − 400 = 610 left
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/eventual:ttl-too-long']);
  });

  it('a strong read that misses a key no write can have expired is a premature expiry', () => {
    const h = new HistoryBuilder()
      .ttlWrite(2, 'strong', 's', 'b', 50, [0, 5]) // acknowledged before a began: a overwrote it
      .ttlWrite(1, 'strong', 's', 'a', 2000, [10, 20])
      .ttlRead(3, 'strong', 's', null, [100, 110])
      .pttl(3, 'strong', 's', -2, [120, 130])
      .ttlRead(4, 'eventual', 's', null, [140, 150]); // an eventual read may lag: no promise
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/strong:premature-expiry', 'ttl/strong:premature-expiry']);
  });

  it('a value no write gave the key is a phantom', () => {
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 500, [0, 10])
      .ttlWrite(1, 'strong', 's', 'f', 500, [20, 30], 'fail')
      .ttlRead(2, 'strong', 's', 'zz', [40, 50])
      .ttlRead(2, 'strong', 's', 'f', [60, 70])
      .pttl(3, 'strong', 't', 100, [0, 5]);
    assert.deepEqual(anomalyKinds(checkHistory(h.records)), ['ttl/strong:phantom', 'ttl/strong:phantom', 'ttl/strong:phantom']);
  });

  it("a clock moved on another node while the value is read does not excuse an expired read; on the serving node it does", () => {
    const late = 10 + 500 + clockMarginMs + 1;
    const h = new HistoryBuilder()
      .ttlWrite(1, 'strong', 's', 'a', 500, [0, 10])
      .nemesis(late - 5, 'clock', 'start', 'n2')
      .ttlRead(2, 'strong', 's', 'a', [late, late + 5]) // served by n1, whose clock is true
      .nemesis(late + 10, 'clock', 'stop', 'n2')
      .nemesis(late + 20, 'clock', 'start', 'n1')
      .ttlRead(2, 'strong', 's', 'a', [late + 30, late + 35]) // n1's own clock may lag
      .nemesis(late + 40, 'clock', 'stop', 'n1');
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['ttl/strong:expired-read']);
    assert.equal(results[0]!.anomalies[0]!.ops?.[0], 2);
  });

  it('timing checks are skipped while a clock was moved, and resume once it is back', () => {
    const late = 10 + 500 + clockMarginMs + 1;
    const h = new HistoryBuilder()
      .nemesis(5, 'clock', 'start')
      .ttlWrite(1, 'strong', 's', 'a', 500, [0, 10])
      .ttlRead(2, 'strong', 's', 'a', [late, late + 5]) // the stamping clock may have run ahead
      .nemesis(late + 10, 'clock', 'stop')
      .ttlWrite(1, 'strong', 's', 'b', 500, [2000, 2010])
      .ttlRead(2, 'strong', 's', 'b', [2000 + late, 2000 + late + 5]);
    const results = checkHistory(h.records);
    assert.deepEqual(anomalyKinds(results), ['ttl/strong:expired-read']);
    const strong = results.find((r) => r.level === 'strong')!;
    assert.equal(strong.anomalies[0]!.ops?.[1], 4);
    assert.equal(strong.counts['expiryChecksSkipped'], 1);
  });
});
