import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net, appliedData, dec, enc } from './harness.js';
import type { Entry } from '../../src/raft/types.js';

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push({ index: i, term, type: 'normal', data: enc(`t${term}i${i}`) });
  return out;
}

function logOf(net: Net, id: string): string[] {
  const st = net.raft(id).status();
  return (net.raft(id).logEntries(st.firstIndex, st.lastIndex) ?? []).map((e) => `${e.index}/${e.term}`);
}

/** Give node `id` a prepared persisted log and term, as if it had lived through earlier terms. */
function prepare(net: Net, id: string, extra: Entry[], term: number): void {
  const st = net.get(id).storage;
  st.append(extra);
  st.setHardState({ ...st.hardState(), term });
  net.restart(id);
}

describe('log replication (Raft §5.3)', () => {
  it('an entry is committed once the leader has replicated it on a majority of the servers', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e']);
    net.elect('a');
    net.setDrop((m) => m.to === 'd' || m.to === 'e');
    const r = net.raft('a').propose(enc('x'));
    assert.ok(r.ok);
    net.deliver();
    assert.equal(net.raft('a').status().commit, r.index);
    assert.deepEqual(appliedData(net.get('a')), ['x']);
  });

  it('an entry on a minority is not committed', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e']);
    net.elect('a');
    net.setDrop((m) => m.to === 'c' || m.to === 'd' || m.to === 'e');
    const r = net.raft('a').propose(enc('x'));
    assert.ok(r.ok);
    net.deliver();
    assert.ok(net.raft('a').status().commit < r.index);
    net.heal();
    net.tickAll(3);
    assert.equal(net.raft('a').status().commit, r.index, 'commits once a majority is reachable');
  });

  it('followers apply committed entries in log order', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    for (const v of ['1', '2', '3']) net.raft('a').propose(enc(v));
    net.deliver();
    net.tickAll(2);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(appliedData(net.get(id)), ['1', '2', '3']);
  });

  it('if a follower log conflicts with the leader, the conflicting entries are deleted and replaced', () => {
    const net = new Net(['a', 'b', 'c']);
    prepare(net, 'c', entries(4, 8, 2), 2); // uncommitted entries from a term c once led
    prepare(net, 'a', entries(4, 5, 3), 3);
    prepare(net, 'b', entries(4, 5, 3), 3);
    net.elect('a');
    net.raft('a').propose(enc('new'));
    net.deliver();
    net.tickAll(2);
    assert.deepEqual(logOf(net, 'c'), logOf(net, 'a'));
    assert.ok(!logOf(net, 'c').includes('8/2'));
  });

  it('a leader never overwrites or deletes entries in its own log', () => {
    const net = new Net(['a', 'b', 'c']);
    prepare(net, 'a', entries(4, 6, 3), 3);
    prepare(net, 'c', entries(4, 9, 2), 2);
    net.elect('a');
    const before = logOf(net, 'a');
    net.tickAll(5);
    const after = logOf(net, 'a');
    assert.deepEqual(after.slice(0, before.length), before);
  });

  it('a leader commits only entries of its current term by counting replicas (§5.4.2, Figure 8)', () => {
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    const net = new Net(ids, { maxSizePerMsgBytes: 1 });
    // bootstrap occupies 1..5. s1 led term 2 and wrote index 6; s4 and s5 got (6, 3) from a term-3 leader.
    prepare(net, 's1', entries(6, 6, 2), 4);
    prepare(net, 's4', entries(6, 6, 3), 4);
    prepare(net, 's5', entries(6, 6, 3), 4);
    prepare(net, 's2', [], 4);
    prepare(net, 's3', [], 4);
    // Entries of the new term (the leader's no-op at 7) never arrive.
    net.setDrop((m) => m.type === 'Append' && m.entries.some((e) => e.term === 5));
    net.elect('s1');
    assert.equal(net.raft('s1').status().term, 5);
    // Hand-deliver (6, 2) alone to s2 and s3, as an earlier append of s1 would have.
    const six = net.get('s1').storage.entries(6, 7, 1000);
    for (const id of ['s2', 's3']) {
      net.raft(id).step({ type: 'Append', from: 's1', to: id, term: 5, prevIndex: 5, prevTerm: 1, entries: six, commit: 5 });
    }
    net.deliver();
    assert.equal(net.raft('s2').logTerm(6), 2, '(6, 2) now sits on a majority');
    assert.equal(net.raft('s3').logTerm(6), 2);
    assert.equal(net.raft('s1').status().commit, 5, 'but it is from an older term, so it is not committed by counting');
    net.heal();
    net.tickAll(3);
    assert.equal(net.raft('s1').status().commit, 7, 'committing the no-op of term 5 commits (6, 2) with it');
  });

  it('fast backtracking: a follower with a long conflicting suffix is repaired in one rejection per term', () => {
    const net = new Net(['a', 'b', 'c']);
    prepare(net, 'a', entries(4, 60, 2), 2);
    prepare(net, 'b', entries(4, 20, 3), 3);
    prepare(net, 'c', entries(4, 20, 3), 3);
    net.elect('b');
    net.tickAll(3);
    const rejects = net.sentOfType('AppendResp').filter((m) => m.from === 'a' && m.reject);
    assert.ok(rejects.length <= 2, `expected ≤ 2 rejections, got ${rejects.length}`);
    assert.deepEqual(logOf(net, 'a'), logOf(net, 'b'));
  });

  it('fast backtracking: a follower missing many entries is probed from its last index', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 40; i++) net.raft('a').propose(enc(`v${i}`));
    net.deliver();
    net.heal();
    const mark = net.sent.length;
    net.tickAll(2);
    const rejects = net.sentOfType('AppendResp', mark).filter((m) => m.from === 'c' && m.reject);
    assert.ok(rejects.length <= 1, `expected ≤ 1 rejection, got ${rejects.length}`);
    assert.deepEqual(logOf(net, 'c'), logOf(net, 'a'));
  });

  it('a follower in replicate state has at most maxInflightMsgs unacknowledged appends', () => {
    const net = new Net(['a', 'b', 'c'], { maxInflightMsgs: 4 });
    net.elect('a');
    net.tickAll(1);
    assert.equal(net.raft('a').status().progress.get('b')?.state, 'replicate');
    net.setDrop((m) => m.type === 'AppendResp' && m.from === 'b');
    const mark = net.sent.length;
    for (let i = 0; i < 20; i++) {
      net.raft('a').propose(enc(`v${i}`));
      net.deliver();
    }
    const appends = net.sentOfType('Append', mark).filter((m) => m.to === 'b' && m.entries.length > 0);
    assert.equal(appends.length, 4);
    net.heal();
    net.tickAll(4);
    assert.equal(net.raft('b').status().lastIndex, net.raft('a').status().lastIndex, 'the window reopens on acks');
  });

  it('a follower in probe state receives one append at a time until it answers', () => {
    const net = new Net(['a', 'b', 'c']);
    net.isolate('c'); // c never answered, so the leader does not know where c's log matches
    net.elect('a');
    for (let i = 0; i < 30; i++) {
      net.tick('a');
      net.deliver();
    }
    for (let i = 0; i < 10; i++) {
      net.raft('a').propose(enc(`v${i}`));
      net.deliver();
    }
    const st = net.raft('a').status().progress.get('c');
    assert.equal(st?.state, 'probe');
    const toC = net.sentOfType('Append').filter((m) => m.to === 'c' && m.entries.length > 0);
    assert.ok(toC.length <= 2, `probe sent ${toC.length} appends without answers`);
  });

  it('an append carries at most maxSizePerMsgBytes of entries (a larger single entry goes alone)', () => {
    const net = new Net(['a', 'b', 'c'], { maxSizePerMsgBytes: 400 });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 12; i++) net.raft('a').propose(new Uint8Array(100));
    net.raft('a').propose(new Uint8Array(1000));
    net.deliver();
    net.heal();
    net.tickAll(4);
    for (const m of net.sentOfType('Append').filter((x) => x.to === 'c')) {
      const bytes = m.entries.reduce((s, e) => s + e.data.byteLength + 24, 0);
      assert.ok(m.entries.length <= 1 || bytes <= 400, `append of ${bytes} bytes`);
    }
    assert.deepEqual(logOf(net, 'c'), logOf(net, 'a'));
  });

  it('the leader refuses proposals beyond maxUncommittedEntriesBytes', () => {
    const net = new Net(['a', 'b', 'c'], { maxUncommittedEntriesBytes: 500 });
    net.elect('a');
    net.isolate('a');
    let refused = 0;
    for (let i = 0; i < 10; i++) {
      const r = net.raft('a').propose(new Uint8Array(100));
      if (!r.ok) {
        assert.equal(r.reason, 'tooLarge');
        refused++;
      }
    }
    assert.ok(refused >= 5);
  });

  it('a follower answers proposals with the known leader', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const r = net.raft('b').propose(enc('x'));
    assert.deepEqual(r, { ok: false, reason: 'notLeader', leaderId: 'a' });
  });

  it('a restarted node recovers term, vote, log and commit from storage', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    for (const v of ['1', '2']) net.raft('a').propose(enc(v));
    net.deliver();
    net.tickAll(2);
    const before = net.raft('b').status();
    const b = net.restart('b');
    const after = b.node.status();
    assert.equal(after.term, before.term);
    assert.equal(after.vote, before.vote);
    assert.equal(after.lastIndex, before.lastIndex);
    assert.equal(after.commit, before.commit);
    net.processReady();
    assert.deepEqual(appliedData(b), ['1', '2'], 'committed entries are replayed to the state machine');
  });

  it('what was not handed out as persisted does not survive a crash', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const a = net.raft('a');
    const r = a.propose(enc('lost'));
    assert.ok(r.ok);
    // Crash before the Ready with the entry was processed.
    const restarted = net.restart('a');
    assert.ok(restarted.node.status().lastIndex < r.index);
  });
});

describe('appends are batched per Ready', () => {
  it('proposals made between two Readys reach each follower as one Append', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.tickAll(2);
    const mark = net.sent.length;
    for (const v of ['1', '2', '3', '4', '5']) assert.ok(net.raft('a').propose(enc(v)).ok);
    net.processReady();
    const appends = net.sentOfType('Append', mark);
    assert.deepEqual(appends.map((m) => m.to).sort(), ['b', 'c'], 'one Append per follower');
    for (const m of appends) assert.deepEqual(m.entries.map((e) => dec(e.data)), ['1', '2', '3', '4', '5']);
    net.deliver();
    net.tickAll(2);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(appliedData(net.get(id)), ['1', '2', '3', '4', '5']);
  });

  it('a commit move and a new proposal share one Append per follower', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.tickAll(2);
    const first = net.raft('a').propose(enc('x'));
    assert.ok(first.ok);
    net.processReady();
    // The followers acknowledge; the leader commits 'x' and, in the same turn, takes 'y'.
    const batch = net.pending;
    net.pending = [];
    for (const m of batch) net.raft(m.to).step(m);
    net.processReady();
    for (const m of net.pending.splice(0)) net.raft(m.to).step(m);
    const mark = net.sent.length;
    assert.ok(net.raft('a').propose(enc('y')).ok);
    net.processReady();
    const appends = net.sentOfType('Append', mark).filter((m) => m.from === 'a');
    assert.deepEqual(appends.map((m) => m.to).sort(), ['b', 'c']);
    for (const m of appends) {
      assert.equal(m.commit, first.index, 'carries the new commit index');
      assert.deepEqual(m.entries.map((e) => dec(e.data)), ['y']);
    }
    net.deliver();
    net.tickAll(2);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(appliedData(net.get(id)), ['x', 'y']);
  });
});
