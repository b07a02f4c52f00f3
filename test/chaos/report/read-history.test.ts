import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistoryRecord } from '../history.js';
import { readHistory } from './index.js';
import { parseHistory } from './read-history.js';
import { NASTY_KEY, syntheticHistory, syntheticResults } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'chaos-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const META = JSON.stringify({ type: 'meta', seed: 1, nodes: ['n1'], timeS: 1, nemeses: [], workloads: ['register'], levels: ['strong'], clients: 1, network: 'proxy', startedAt: 'x' });
const WRITE = { type: 'op', index: 1, process: 0, client: 0, node: 'n1', level: 'strong', key: 'k', invokeMs: 1, completeMs: 2, outcome: 'ok', workload: 'register', f: 'write', value: 'v' };
const line = (o: object): string => JSON.stringify(o);

/** The error parseHistory throws for these lines. */
function problem(lines: readonly string[]): string {
  try {
    parseHistory(lines.join('\n'), 'h.jsonl');
  } catch (err) {
    return (err as Error).message;
  }
  assert.fail('expected the history to be rejected');
}

describe('readHistory', () => {
  it('reads back what a run wrote, latin1 bytes in keys included', () => {
    const records = syntheticHistory({ seed: 2, ops: 300, timeS: 10, clients: 3 });
    const path = join(dir, 'history.jsonl');
    writeFileSync(path, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
    const read = readHistory(path);
    assert.deepEqual(read, records);
    assert.ok(read.some((r) => r.type === 'op' && r.key === NASTY_KEY));
  });

  it('names the file and line of a line that is not JSON', () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, [META, line(WRITE), '{"type":"op",', line(WRITE)].join('\n'));
    assert.throws(() => readHistory(path), (err: Error) => err.message.startsWith(`${path}:3: not JSON`));
  });

  it('names the line and field of a record of the wrong shape', () => {
    assert.match(problem([META, line(WRITE), line({ ...WRITE, invokeMs: 'soon' })]), /^h\.jsonl:3: bad op record: field "invokeMs" is "soon"$/);
    assert.match(problem([META, line({ ...WRITE, outcome: 'maybe' })]), /^h\.jsonl:2: .*"outcome"/);
    assert.match(problem([META, line({ ...WRITE, f: 'incr' })]), /^h\.jsonl:2: .*"f" is "incr"/);
    assert.match(problem([META, line({ ...WRITE, value: null })]), /^h\.jsonl:2: .*"value" is null/);
    assert.match(problem([META, line({ ...WRITE, completeMs: 0 })]), /^h\.jsonl:2: .*completeMs is before invokeMs/);
    assert.match(problem([META, line({ type: 'nemesis', timeMs: 1, phase: 'begin', fault: 'kill', nodes: [], detail: '' })]), /^h\.jsonl:2: .*"phase"/);
    assert.match(problem([META, line({ type: 'leader', timeMs: 1, node: 'n1', leader: 7, term: 1 })]), /^h\.jsonl:2: .*"leader" is 7/);
    assert.match(problem([META, line({ type: 'gossip' })]), /^h\.jsonl:2: unknown record type "gossip"/);
    assert.match(problem([META, '[1,2]']), /^h\.jsonl:2: not a JSON object/);
  });

  it('wants exactly one meta record, first', () => {
    assert.match(problem([line(WRITE)]), /^h\.jsonl:1: the first record must be the run's meta record/);
    assert.match(problem([META, line(WRITE), META]), /^h\.jsonl:3: a second meta record/);
    assert.match(problem(['', '  ']), /^h\.jsonl: empty history/);
  });

  it('accepts every record type and skips blank lines', () => {
    const records = parseHistory([META, '', line(WRITE), line({ ...WRITE, index: 2, f: 'read', value: null }), line({ type: 'leader', timeMs: 1, node: 'n1', leader: null, term: 0 }), ''].join('\n'), 'h');
    assert.deepEqual(records.map((r: HistoryRecord) => r.type), ['meta', 'op', 'op', 'leader']);
  });
});

describe('report cli', () => {
  const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
  const records = syntheticHistory({ seed: 4, ops: 200, timeS: 10, clients: 2 });
  const history = join(dir, 'cli-history.jsonl');
  writeFileSync(history, records.map((r) => JSON.stringify(r)).join('\n'));

  it('renders a history with its results', () => {
    const results = join(dir, 'results.json');
    writeFileSync(results, JSON.stringify({ verdict: 'INVALID seed=4 anomalies=1', results: syntheticResults(records, [1], []) }));
    const r = spawnSync(process.execPath, [cli, history, results], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.stdout.startsWith('<!DOCTYPE html>'));
    assert.ok(r.stdout.includes('INVALID seed=4 anomalies=1'));
    assert.ok(r.stdout.includes('<h2>Checks</h2>'));
  });

  it('renders a history alone with no check section', () => {
    const r = spawnSync(process.execPath, [cli, history], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(!r.stdout.includes('<h2>Checks</h2>'));
  });

  it('fails with the bad line, or with usage', () => {
    const bad = join(dir, 'cli-bad.jsonl');
    writeFileSync(bad, `${META}\nnope\n`);
    const r = spawnSync(process.execPath, [cli, bad], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.ok(r.stderr.includes(`${bad}:2: not JSON`), r.stderr);
    assert.equal(spawnSync(process.execPath, [cli], { encoding: 'utf8' }).status, 2);
  });
});
