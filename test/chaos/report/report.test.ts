import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { HistoryRecord, Op } from '../history.js';
import { renderReport } from './index.js';
import { NASTY_KEY, syntheticHistory, syntheticResults } from './synthetic.js';
import { assertWellFormed } from './well-formed.js';

const opsOf = (records: readonly HistoryRecord[]): Op[] => records.filter((r): r is Op => r.type === 'op');
const count = (s: string, needle: string | RegExp): number => s.split(needle).length - 1;

/** The timeline's svg element (the first plot). */
function timelineSvg(html: string): string {
  const start = html.indexOf('<svg');
  return html.slice(start, html.indexOf('</svg>', start) + 6);
}

/** Ops drawn as their own bar (titled with their index) and ops inside merged bars (summed data-ops). */
function barsOf(svg: string): { single: number[]; merged: number; mergedBars: number } {
  const single = [...svg.matchAll(/<rect [^>]*><title>#(\d+) /g)].map((m) => Number(m[1]));
  const runs = [...svg.matchAll(/data-ops="(\d+)"/g)].map((m) => Number(m[1]));
  return { single, merged: runs.reduce((a, b) => a + b, 0), mergedBars: runs.length };
}

describe('chaos report: a synthetic run of a few thousand operations', () => {
  const records = syntheticHistory({ seed: 11, ops: 4000, timeS: 60, clients: 10 });
  const ops = opsOf(records);
  const failed = ops.find((op) => op.outcome === 'fail') as Op;
  const quickOk = ops.filter((op) => op.outcome === 'ok' && op.completeMs - op.invokeMs < 1);
  const anomalyOps = [failed.index, (quickOk[10] as Op).index];
  const lossOp = (quickOk[20] as Op).index;
  const results = syntheticResults(records, anomalyOps, [lossOp]);
  const verdict = 'INVALID seed=11 ops=4000 anomalies=1 (nonlinearizable)';
  const html = renderReport(records, results, verdict);

  it('is a well-formed document with every section', () => {
    assert.ok(html.startsWith('<!DOCTYPE html>'));
    assert.ok(assertWellFormed(html) > ops.length / 10);
    for (const heading of ['Timeline', 'Latency', 'Checks', 'Faults']) assert.ok(html.includes(`<h2>${heading}</h2>`), heading);
    assert.equal(count(html, '<svg'), 3, 'timeline, latency, throughput');
    assert.ok(!/<script|<link|src=|href="http/i.test(html), 'no scripts or external assets');
  });

  it('shows the verdict big and the verdict line, and how to reproduce the run', () => {
    assert.match(html, /<div class="big">INVALID<\/div>/);
    assert.ok(html.includes(verdict));
    assert.ok(html.includes('npm run chaos -- --seed 11 --nodes 5 --time 60 --nemesis kill,pause,partition,clock --workload register,counter,append --consistency strong,quorum --clients 10 --network proxy'));
  });

  it('draws every operation: each fail, info and marked one as its own bar, quick ok ones merged', () => {
    const bars = barsOf(timelineSvg(html));
    assert.equal(new Set(bars.single).size, bars.single.length, 'an op has at most one bar');
    assert.equal(bars.single.length + bars.merged, ops.length, 'every op is in exactly one bar');
    const singles = new Set(bars.single);
    for (const op of ops) if (op.outcome !== 'ok') assert.ok(singles.has(op.index), `${op.outcome} op #${op.index} has its own bar`);
    for (const i of [...anomalyOps, lossOp]) assert.ok(singles.has(i), `marked op #${i} has its own bar`);
    assert.ok(bars.mergedBars > 0 && bars.merged > bars.mergedBars, 'some quick ok ops were merged');
  });

  it('outlines operations in anomalies and allowed losses', () => {
    assert.match(html, new RegExp(`<rect id="op${failed.index}" class="fail anomaly"`));
    assert.match(html, new RegExp(`<rect id="op${anomalyOps[1]}" class="ok anomaly"`));
    assert.match(html, new RegExp(`<rect id="op${lossOp}" class="ok allowed-loss"`));
    assert.ok(html.includes(`<a href="#op${failed.index}">#${failed.index}</a>`), 'the anomaly lists its ops, linked to their bars');
  });

  it('draws each fault as a band on every plot, labelled on the timeline, and the heal line', () => {
    for (const fault of ['kill', 'partition', 'clock']) assert.equal(count(html, `<rect class="band ${fault}"`), 3, fault);
    assert.equal(count(html, '<rect class="band pause"'), 6, 'two pauses on three plots');
    assert.equal(count(timelineSvg(html), '<text class="band-label'), 5);
    assert.ok(html.includes('kill: kill -9 leader n1'));
    assert.equal(count(html, '<g class="heal">'), 3);
    assert.ok(html.includes('+45000 ms on n4 &lt;&amp;&gt;'), 'fault details are escaped');
    assert.ok(html.includes('not stopped'), 'a fault that never stopped says so');
  });

  it('escapes keys and values from the history and shows unprintable bytes', () => {
    assert.ok(ops.some((op) => op.key === NASTY_KEY));
    assert.ok(!html.includes(NASTY_KEY));
    assert.ok(html.includes('&quot;&lt;script&gt;&amp;&quot;&quot;'), 'the key in a hover title');
    assert.ok(html.includes('<code>&lt;script&gt;&amp;&quot;</code>'), 'the key in the anomaly');
    assert.ok(!/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/.test(html), 'no control characters in the document');
    assert.ok(html.includes('bin\\x00ÿ\\x1b'), 'NUL and ESC shown escaped, latin1 kept');
  });

  it('lists check counts, the anomaly and the allowed loss apart', () => {
    assert.match(html, /<h3>register \/ strong: INVALID<\/h3>/);
    assert.match(html, /<h3>append \/ quorum: VALID<\/h3>/);
    assert.ok(html.includes('<h4>Anomalies (1)</h4>'));
    assert.ok(html.includes('<h4>Allowed losses (1)</h4>'));
    assert.ok(html.includes('read of &quot;v1&quot; &lt;after&gt; v2 &amp; v3'));
  });

  it('without check results, has no check section and says the run is not checked', () => {
    const plain = renderReport(records, [], '');
    assertWellFormed(plain);
    assert.ok(!plain.includes('<h2>Checks</h2>'));
    assert.match(plain, /<div class="big">NOT CHECKED<\/div>/);
  });

  it('a valid run says VALID', () => {
    const valid = renderReport(records, [{ workload: 'counter', level: 'strong', valid: true, anomalies: [], counts: { ok: 3 } }], 'VALID seed=11');
    assert.match(valid, /<div class="big">VALID<\/div>/);
    assert.match(valid, /<title>KeyMesh chaos, seed 11: VALID<\/title>/);
  });
});

describe('chaos report: sparse operations are never merged', () => {
  it('draws one bar per operation when they are further apart than a pixel', () => {
    // Re-time a synthetic run so each client's operations are 100 ms apart and 5 ms long
    // (a pixel is 20 s / 1200 ≈ 17 ms).
    const base = syntheticHistory({ seed: 3, ops: 300, timeS: 20, clients: 2 });
    const perClient = new Map<number, number>();
    const records = base.map((r) => {
      if (r.type !== 'op') return r;
      const k = perClient.get(r.client) ?? 0;
      perClient.set(r.client, k + 1);
      return { ...r, invokeMs: k * 100, completeMs: k * 100 + 5 };
    });
    const ops = opsOf(records);
    const bars = barsOf(timelineSvg(renderReport(records, [], '')));
    assert.equal(bars.mergedBars, 0);
    assert.deepEqual(bars.single.sort((a, b) => a - b), ops.map((op) => op.index).sort((a, b) => a - b));
  });
});

describe('chaos report: a 120 s run with 10 clients and 100k operations', () => {
  it('renders in a few seconds and under 8 MB, keeping every failure', () => {
    const records = syntheticHistory({ seed: 5, ops: 100_000, timeS: 120, clients: 10 });
    const ops = opsOf(records);
    assert.ok(ops.length > 90_000, `${ops.length} ops`);
    const started = performance.now();
    const html = renderReport(records, [], 'VALID seed=5');
    const elapsedMs = performance.now() - started;
    assert.ok(elapsedMs < 5000, `took ${Math.round(elapsedMs)} ms`);
    assert.ok(Buffer.byteLength(html) < 8e6, `${Buffer.byteLength(html)} bytes`);
    const bars = barsOf(timelineSvg(html));
    assert.equal(bars.single.length + bars.merged, ops.length);
    const failures = ops.filter((op) => op.outcome !== 'ok').length;
    assert.ok(failures > 500);
    assert.ok(bars.single.length >= failures);
    assert.ok(bars.mergedBars < ops.length / 10, 'merging shrank the timeline');
  });
});
