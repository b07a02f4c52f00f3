// The runner's own logic: how replies become history records (what counts as certainly
// failed versus indeterminate), and the partitions the nemesis draws.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeededRandom } from '../../src/raft/rand.js';
import { choosePartition } from './nemesis.js';
import { planOp, recordOf, type OpContext } from './workload.js';

const ctx: OpContext = { process: 3, client: 1, node: 'n2', level: 'strong', invokeMs: 10, completeMs: 12 };
const rng = new SeededRandom(1);

test('replies become records: ok values, certain failures, and indeterminate writes', () => {
  const set = { workload: 'register', f: 'write', key: 'k', argv: ['SET', 'k', 'v1'], payload: 'v1' } as const;
  assert.deepEqual(recordOf(set, ctx, { kind: 'reply', value: { type: 'string', value: 'OK' } }), { ...ctx, key: 'k', outcome: 'ok', workload: 'register', f: 'write', value: 'v1' });
  const error = (message: string) => recordOf(set, ctx, { kind: 'reply', value: { type: 'error', message } }).outcome;
  assert.equal(error('CLUSTERDOWN No leader within 2000 ms (no leader known)'), 'fail');
  assert.equal(error('CLUSTERDOWN The write was not applied: leadership changed before it was committed (its log entry 7 was replaced)'), 'fail');
  assert.equal(error('CLUSTERDOWN The leader changed while the write was forwarded; it was not applied'), 'fail');
  assert.equal(error('CLUSTERDOWN This node stopped leading while the write was in flight and no leader settled it within 2000 ms; it may or may not have been applied'), 'info');
  assert.equal(error('ERR something nobody expected'), 'info', 'an unknown error on a write is indeterminate');
  assert.equal(recordOf(set, ctx, { kind: 'lost', why: 'timed out' }).outcome, 'info');

  const get = { workload: 'register', f: 'read', key: 'k', argv: ['GET', 'k'] } as const;
  assert.equal(recordOf(get, ctx, { kind: 'lost', why: 'timed out' }).outcome, 'fail', 'a read that got no answer constrains nothing');
  assert.deepEqual(recordOf(get, ctx, { kind: 'reply', value: { type: 'null' } }), { ...ctx, key: 'k', workload: 'register', f: 'read', outcome: 'ok', value: null });

  const incr = { workload: 'counter', f: 'incr', key: 'c', argv: ['INCR', 'c'] } as const;
  assert.deepEqual(recordOf(incr, ctx, { kind: 'reply', value: { type: 'int', value: 5 } }), { ...ctx, key: 'c', workload: 'counter', f: 'incr', outcome: 'ok', result: 5 });
  const cread = { workload: 'counter', f: 'read', key: 'c', argv: ['GET', 'c'] } as const;
  assert.deepEqual(recordOf(cread, ctx, { kind: 'reply', value: { type: 'string', value: Buffer.from('42') } }), { ...ctx, key: 'c', workload: 'counter', f: 'read', outcome: 'ok', value: 42 });

  const aread = { workload: 'append', f: 'read', key: 'a', argv: ['GET', 'a'] } as const;
  const r = recordOf(aread, ctx, { kind: 'reply', value: { type: 'string', value: Buffer.from('1.0 2.0 1.1 ') } });
  assert.deepEqual(r, { ...ctx, key: 'a', workload: 'append', f: 'read', outcome: 'ok', tokens: ['1.0', '2.0', '1.1'] });
});

test('planned operations carry unique payloads and stay on their workload keys', () => {
  for (let i = 0; i < 200; i++) {
    const p = planOp(['register', 'counter', 'append'], rng, i * 100, `u${i}`);
    if (p.workload === 'register') assert.match(p.key, /^reg:\d+:\d$/);
    if (p.workload === 'counter') assert.match(p.key, /^ctr:\d$/);
    if (p.workload === 'append') assert.match(p.key, /^app:\d$/);
    if (p.f === 'write') assert.deepEqual(p.argv, ['SET', p.key, `u${i}`]);
    if (p.f === 'append') assert.deepEqual(p.argv, ['APPEND', p.key, `u${i} `]);
  }
});

test('partitions: every variant cuts exactly the links between its sides', () => {
  const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const p = choosePartition(ids, 'n3', new SeededRandom(seed));
    seen.add(p.detail.split(/[ :]/)[0]!);
    const cut = new Set(p.cuts.map(([a, b]) => [a, b].sort().join('-')));
    assert.equal(cut.size, p.cuts.length, 'no link cut twice');
    if (p.groups.length === 2) {
      const [a, b] = p.groups as [string[], string[]];
      assert.equal(a.length + b.length, ids.length);
      assert.equal(cut.size, a.length * b.length);
      for (const x of a) for (const y of b) assert.ok(cut.has([x, y].sort().join('-')));
      if (p.detail.startsWith('isolate leader')) assert.deepEqual(a, ['n3']);
    } else {
      // A bridge: one node keeps every link; the other four are split two and two.
      const touched = new Set(p.cuts.flat());
      assert.equal(touched.size, 4);
      assert.equal(cut.size, 4);
    }
  }
  assert.deepEqual([...seen].sort(), ['bridge', 'isolate', 'random']);
});
