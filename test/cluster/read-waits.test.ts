import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { AppliedWaits, ReadIndexRequests } from '../../src/cluster/node/read-waits.js';

/** Settles what is already resolvable, so a test can see which promises have. */
async function settled<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, turn().then(() => 'pending' as const)]);
}

test('AppliedWaits: resolves at once when applied, on release once applied, else with CLUSTERDOWN at the deadline', async () => {
  let applied = 5;
  const w = new AppliedWaits(() => applied, 1000);
  assert.equal(await w.wait(5, 0), null);
  const at7 = w.wait(7, 0);
  const at9 = w.wait(9, 500);
  assert.equal(w.size, 2);
  w.release();
  assert.equal(await settled(at7), 'pending');
  applied = 8;
  w.release();
  assert.equal(await at7, null);
  assert.equal(w.size, 1);
  w.expire(1499);
  assert.equal(await settled(at9), 'pending');
  w.expire(1500);
  assert.equal(await at9, 'CLUSTERDOWN This node has not applied the log up to index 9 within 1000 ms (applied: 8)');
  assert.equal(w.size, 0);
  const late = w.wait(20, 0);
  w.abandon('CLUSTERDOWN bye');
  assert.equal(await late, 'CLUSTERDOWN bye');
});

function harness() {
  const h = {
    applied: 10,
    nowMs: 0,
    asked: [] as string[],
    appliedWaits: null as unknown as AppliedWaits,
    reads: null as unknown as ReadIndexRequests,
  };
  h.appliedWaits = new AppliedWaits(() => h.applied, 2000);
  h.reads = new ReadIndexRequests({
    nodeId: 'n1',
    request: (ctx) => h.asked.push(ctx),
    waitMs: 2000,
    retryMs: 500,
    appliedWaits: h.appliedWaits,
    situation: () => 'no leader known',
    now: () => h.nowMs,
  });
  return h;
}

test('ReadIndexRequests: the reads of one turn share one request; its index reaches each once applied', async () => {
  const h = harness();
  const a = h.reads.request();
  const b = h.reads.request();
  assert.deepEqual(h.asked, [], 'sent at the end of the turn, not at once');
  await turn();
  assert.deepEqual(h.asked, ['n1:1']);
  const c = h.reads.request();
  await turn();
  assert.deepEqual(h.asked, ['n1:1', 'n1:2'], 'a later turn makes a new request');
  // The first is confirmed at an index already applied, the second at one not yet applied.
  h.reads.serve([
    { ctx: 'n1:1', index: 9 },
    { ctx: 'n1:2', index: 12 },
    { ctx: 'other:1', index: 3 },
  ]);
  assert.equal(await a, 9);
  assert.equal(await b, 9);
  assert.equal(await settled(c), 'pending');
  h.applied = 12;
  h.appliedWaits.release();
  assert.equal(await c, 12);
  // An answer that arrives twice changes nothing.
  h.reads.serve([{ ctx: 'n1:1', index: 50 }]);
});

test('ReadIndexRequests: unanswered requests are asked again after retryMs or when a leader appears, and fail at the deadline', async () => {
  const h = harness();
  const r = h.reads.request();
  await turn();
  assert.deepEqual(h.asked, ['n1:1']);
  h.nowMs = 499;
  h.reads.expire(h.nowMs);
  assert.equal(h.asked.length, 1);
  h.nowMs = 500;
  h.reads.expire(h.nowMs);
  assert.deepEqual(h.asked, ['n1:1', 'n1:1']);
  h.nowMs = 600;
  h.reads.leaderKnown();
  h.reads.expire(h.nowMs);
  assert.deepEqual(h.asked, ['n1:1', 'n1:1', 'n1:1']);
  assert.equal(await settled(r), 'pending');
  h.nowMs = 2000;
  h.reads.expire(h.nowMs);
  assert.equal(await r, 'CLUSTERDOWN The read could not be confirmed with a leader within 2000 ms (no leader known)');
  h.reads.expire(5000);
  assert.equal(h.asked.length, 3, 'a failed request is not asked again');
});

test('ReadIndexRequests: abandon answers every waiting read, including one not yet sent', async () => {
  const h = harness();
  const sent = h.reads.request();
  await turn();
  const unsent = h.reads.request();
  h.reads.abandon('CLUSTERDOWN shutting down');
  assert.equal(await sent, 'CLUSTERDOWN shutting down');
  assert.equal(await unsent, 'CLUSTERDOWN shutting down');
  await turn();
  assert.deepEqual(h.asked, ['n1:1'], 'an abandoned batch is never sent');
});
