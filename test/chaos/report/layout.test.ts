import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LeaderSample, NemesisEvent, Op, OpType, RunMeta } from '../history.js';
import { pairFaults } from './faults.js';
import { networkMode, reproduceCommand, validity } from './header.js';
import { LogScale, SCATTER_CELL_PX, latencyPerSecond, scatterPoints, throughputPerSecond } from './latency.js';
import { opTitle } from './op-text.js';
import { TimeScale, labelLanes, niceStep } from './plot.js';
import type { OpMark } from './run-model.js';
import { clip, escapeHtml, historyText, printable } from './text.js';
import { beliefSegments, timelineBars } from './timeline.js';

let nextIndex = 1;
function op(client: number, invokeMs: number, completeMs: number, outcome: OpType = 'ok'): Op {
  return { type: 'op', index: nextIndex++, process: client, client, node: 'n1', level: 'strong', key: 'k', invokeMs, completeMs, outcome, workload: 'register', f: 'write', value: 'v' };
}
const NO_MARKS: ReadonlyMap<number, OpMark> = new Map();

describe('timeline bars', () => {
  // A pixel is 10 ms in these tests.
  const PX_MS = 10;

  it('merges quick ok operations less than a pixel apart, per client', () => {
    const ops = [op(0, 0, 2), op(0, 5, 8), op(0, 12, 14), op(1, 0, 2), op(1, 5, 7)];
    const bars = timelineBars(ops, PX_MS, NO_MARKS);
    assert.deepEqual(bars.map((b) => [b.client, b.count, b.startMs, b.endMs, b.op === undefined]), [[0, 3, 0, 14, true], [1, 2, 0, 7, true]]);
    assert.equal(bars[0]?.latencyMinMs, 2);
    assert.equal(bars[0]?.latencyMaxMs, 3);
  });

  it('does not merge across a gap of a pixel or more', () => {
    const bars = timelineBars([op(0, 0, 2), op(0, 12, 14), op(0, 14.5, 15)], PX_MS, NO_MARKS);
    assert.deepEqual(bars.map((b) => b.count), [1, 2]);
    assert.ok(bars[0]?.op !== undefined, 'a run of one is a single-operation bar');
  });

  it('gives fail, info, marked and long operations their own bar', () => {
    const failed = op(0, 3, 4, 'fail');
    const info = op(0, 5, 6, 'info');
    const marked = op(0, 7, 8);
    const long = op(0, 9, 30);
    const ops = [op(0, 0, 1), op(0, 1.5, 2.5), failed, info, marked, long, op(0, 31, 32)];
    const bars = timelineBars(ops, PX_MS, new Map([[marked.index, 'anomaly' as const]]));
    const singles = bars.filter((b) => b.op !== undefined).map((b) => b.op?.index);
    assert.deepEqual(singles.sort(), [failed.index, info.index, marked.index, long.index, (ops[6] as Op).index].sort());
    assert.equal(bars.find((b) => b.op === undefined)?.count, 2);
    assert.equal(bars.find((b) => b.op === marked)?.mark, 'anomaly');
    assert.equal(bars.reduce((n, b) => n + b.count, 0), ops.length);
  });

  it('a quick failure between quick ok operations does not split their bar', () => {
    const ops = [op(0, 0, 2), op(0, 3, 4, 'fail'), op(0, 5, 7)];
    const bars = timelineBars(ops, PX_MS, NO_MARKS);
    assert.deepEqual(bars.map((b) => [b.outcome, b.count]).sort(), [['fail', 1], ['ok', 2]]);
  });
});

describe('fault intervals', () => {
  const ev = (timeMs: number, phase: 'start' | 'stop', fault: NemesisEvent['fault'], nodes: string[], detail = ''): NemesisEvent => ({ type: 'nemesis', timeMs, phase, fault, nodes, detail });

  it('pairs each stop with the start of the same fault on the same nodes', () => {
    const faults = pairFaults([ev(1, 'start', 'pause', ['n1'], 'a'), ev(2, 'start', 'pause', ['n2'], 'b'), ev(3, 'stop', 'pause', ['n2']), ev(4, 'stop', 'pause', ['n1'], 'resumed')]);
    assert.deepEqual(faults.map((f) => [f.detail, f.startMs, f.endMs, f.stopDetail]), [['a', 1, 4, 'resumed'], ['b', 2, 3, undefined]]);
  });

  it('falls back to the same fault on other nodes, and keeps starts and stops without a partner', () => {
    const faults = pairFaults([ev(1, 'start', 'kill', ['n1']), ev(2, 'stop', 'kill', ['n3']), ev(3, 'stop', 'clock', ['n2']), ev(5, 'start', 'partition', ['n1', 'n2'])]);
    assert.deepEqual(faults.map((f) => [f.fault, f.startMs, f.endMs]), [['kill', 1, 2], ['clock', null, 3], ['partition', 5, null]]);
  });
});

describe('leader strip', () => {
  const sample = (timeMs: number, leader: string | null, term: number): LeaderSample => ({ type: 'leader', timeMs, node: 'n1', leader, term });

  it('holds each belief until the node reports another, the last one to the end', () => {
    const segs = beliefSegments([sample(0, 'n1', 1), sample(200, 'n1', 1), sample(400, null, 2), sample(600, 'n2', 2), sample(5000, 'n2', 2), sample(6000, 'n2', 3)], 9000);
    assert.deepEqual(segs.map((s) => [s.leader, s.term, s.startMs, s.endMs]), [['n1', 1, 0, 400], [null, 2, 400, 600], ['n2', 2, 600, 6000], ['n2', 3, 6000, 9000]]);
    assert.deepEqual(beliefSegments([], 9000), []);
  });
});

describe('latency plot', () => {
  const scale = new TimeScale(10_000);

  it('keeps one ok dot per cell but every failure and marked operation', () => {
    const yScale = new LogScale(1, 1000, 0, 200);
    const same = [op(0, 100, 110), op(1, 100, 110), op(2, 100, 110)];
    const failures = [op(0, 100, 110, 'fail'), op(1, 100, 110, 'info'), op(2, 100, 110, 'fail')];
    const marked = op(3, 100, 110);
    const points = scatterPoints([...same, ...failures, marked], scale, yScale, new Map([[marked.index, 'allowed-loss' as const]]));
    assert.equal(points.filter((p) => p.op.outcome === 'ok' && p.mark === undefined).length, 1);
    assert.equal(points.filter((p) => p.detailed).length, 4);
    const apart = scatterPoints([op(0, 100, 110), op(0, 100 + (SCATTER_CELL_PX + 1) * scale.msPerPx, 110 + (SCATTER_CELL_PX + 1) * scale.msPerPx)], scale, yScale, NO_MARKS);
    assert.equal(apart.length, 2, 'dots a cell apart both stay');
  });

  it('puts latencies on a log axis from a decade below to a decade above', () => {
    const y = new LogScale(3, 250, 0, 300);
    assert.equal(y.lowMs, 1);
    assert.equal(y.highMs, 1000);
    assert.equal(y.y(1), 300);
    assert.equal(y.y(1000), 0);
    assert.ok(Math.abs(y.y(10) - 200) < 1e-9);
    assert.equal(y.y(0), 300, 'zero latency sits on the floor');
  });

  it('gives nearest-rank p50, p99 and max of ok operations per second of invoke', () => {
    const ops = Array.from({ length: 100 }, (_, i) => op(0, 1000 + i, 1000 + i + (i + 1)));
    ops.push(op(0, 1500, 9999, 'info'), op(0, 3000, 3004));
    assert.deepEqual(latencyPerSecond(ops), [
      { second: 1, p50Ms: 50, p99Ms: 99, maxMs: 100 },
      { second: 3, p50Ms: 4, p99Ms: 4, maxMs: 4 },
    ]);
  });

  it('counts completions per second by outcome, for every second', () => {
    const counts = throughputPerSecond([op(0, 0, 500), op(0, 600, 900, 'fail'), op(0, 1000, 2500), op(0, 1000, 3000, 'info')], 3000);
    assert.deepEqual(counts.map((c) => [c.second, c.ok, c.fail, c.info]), [[0, 2 - 1, 1, 0], [1, 0, 0, 0], [2, 1, 0, 1]]);
  });
});

describe('plot helpers', () => {
  it('picks round tick steps', () => {
    assert.equal(niceStep(120_000, 12), 10_000);
    assert.equal(niceStep(30_000, 12), 5_000);
    assert.equal(niceStep(7, 4), 2);
    assert.equal(niceStep(0.5, 4), 1);
  });

  it('puts overlapping labels in separate lanes, reusing a lane once it is free', () => {
    assert.deepEqual(labelLanes([0, 10, 20, 200], [100, 100, 100, 50], 4), [0, 1, 2, 0]);
    assert.deepEqual(labelLanes([0, 1, 2], [100, 100, 100], 2), [0, 1, 1], 'overlap in the last lane when lanes run out');
  });
});

describe('text from the history', () => {
  it('escapes markup and shows unprintable bytes', () => {
    assert.equal(escapeHtml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
    assert.equal(printable('a\x00b\x7f\x9c\xe9\\\u202e'), 'a\\x00b\\x7f\\x9c\xe9\\\\\\u{202e}');
    assert.equal(printable('\ud800x'), '\\u{d800}x', 'a lone surrogate');
    assert.equal(historyText('<\x01>'), '&lt;\\x01&gt;');
  });

  it('clips long text and says by how much', () => {
    assert.equal(clip('abcdef', 4), 'abcd…(+2 chars)');
    assert.equal(clip('abc', 4), 'abc');
  });

  it('describes an operation for hover text, without the value of a failed one', () => {
    const base = { type: 'op', index: 7, process: 3, client: 1, node: 'n2', level: 'quorum', key: 'k<1>', invokeMs: 1000, completeMs: 1012.6 } as const;
    assert.equal(opTitle({ ...base, outcome: 'ok', workload: 'append', f: 'read', tokens: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] }), '#7 read "k<1>" [7 tokens: a b c … e f g] → ok 12.6 ms | n2 quorum | process 3 | 1.000–1.013 s');
    assert.equal(opTitle({ ...base, outcome: 'fail', workload: 'counter', f: 'incr', result: null, error: '-CLUSTERDOWN' }), '#7 incr "k<1>" → fail 12.6 ms | n2 quorum | process 3 | 1.000–1.013 s | -CLUSTERDOWN');
    assert.equal(opTitle({ ...base, outcome: 'info', workload: 'register', f: 'write', value: 'v\n', final: true }), '#7 write "k<1>" "v\\x0a" → info 12.6 ms | n2 quorum final | process 3 | 1.000–1.013 s');
  });
});

describe('header', () => {
  const meta: RunMeta = { type: 'meta', seed: 42, nodes: ['n1', 'n2', 'n3'], timeS: 30, nemeses: [], workloads: ['counter'], levels: ['eventual', 'quorum'], clients: 4, network: 'netns (running as root)', startedAt: '' };

  it('builds the command that reruns the seed', () => {
    assert.equal(reproduceCommand(meta), 'npm run chaos -- --seed 42 --nodes 3 --time 30 --nemesis none --workload counter --consistency eventual,quorum --clients 4 --network netns');
    assert.equal(networkMode({ ...meta, network: 'proxy: netns trial failed (x)' }), 'proxy');
    assert.ok(!reproduceCommand({ ...meta, network: 'mystery' }).includes('--network'));
    assert.ok(reproduceCommand({ ...meta, nemeses: ["it's"] }).includes(`--nemesis 'it'\\''s'`), 'odd words are shell-quoted');
  });

  it('takes validity from the results, else from the verdict line', () => {
    const result = { workload: 'counter', level: 'strong', anomalies: [], counts: {} } as const;
    assert.equal(validity([{ ...result, valid: true }], ''), 'valid');
    assert.equal(validity([{ ...result, valid: true }, { ...result, valid: false }], 'VALID'), 'invalid');
    assert.equal(validity([], 'INVALID seed=1'), 'invalid');
    assert.equal(validity([], 'VALID seed=1'), 'valid');
    assert.equal(validity([], ''), 'unchecked');
  });
});
