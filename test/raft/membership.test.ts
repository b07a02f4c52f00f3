import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net, enc } from './harness.js';
import { MemoryLog } from '../../src/raft/storage.js';
import { encodeConfChange } from '../../src/raft/confchange.js';

function ready3(): Net {
  const net = new Net(['a', 'b', 'c']);
  net.elect('a');
  net.tickAll(1);
  return net;
}

describe('membership changes, one server at a time (thesis §4)', () => {
  it('a learner receives the log but does not count toward the quorum', () => {
    const net = ready3();
    assert.ok(net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' }).ok);
    net.add('l', new MemoryLog());
    net.tickAll(3);
    const l = net.raft('l');
    assert.equal(l.status().lastIndex, net.raft('a').status().lastIndex, 'the learner caught up');
    assert.deepEqual(l.status().conf, { voters: ['a', 'b', 'c'], learners: ['l'] }, 'it learned the membership from the log');
    // With b and c gone, a and l hold only one of three votes.
    net.setDrop((m) => ['b', 'c'].includes(m.to) || ['b', 'c'].includes(m.from));
    const r = net.raft('a').propose(enc('x'));
    assert.ok(r.ok);
    net.deliver();
    assert.equal(l.status().lastIndex, r.index, 'the learner has the entry');
    assert.ok(net.raft('a').status().commit < r.index, 'but it is not committed');
  });

  it('a learner never campaigns', () => {
    const net = ready3();
    net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' });
    net.add('l', new MemoryLog());
    net.tickAll(2);
    net.isolate('l');
    for (let i = 0; i < 100; i++) net.tick('l');
    assert.equal(net.raft('l').status().role, 'follower');
  });

  it('a promoted learner votes and counts', () => {
    const net = ready3();
    net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' });
    net.add('l', new MemoryLog());
    net.tickAll(3);
    assert.ok(net.raft('a').proposeConfChange({ type: 'addVoter', nodeId: 'l' }).ok);
    net.tickAll(3);
    for (const id of ['a', 'b', 'c', 'l']) assert.deepEqual(net.raft(id).status().conf.voters, ['a', 'b', 'c', 'l']);
    // Four voters: a majority is three, so a, b and l commit without c.
    net.setDrop((m) => m.to === 'c' || m.from === 'c');
    const r = net.raft('a').propose(enc('y'));
    assert.ok(r.ok);
    net.deliver();
    assert.equal(net.raft('a').status().commit, r.index);
  });

  it('a configuration change takes effect as soon as it is appended, before it commits', () => {
    const net = ready3();
    net.isolate('a');
    assert.ok(net.raft('a').proposeConfChange({ type: 'addVoter', nodeId: 'd' }).ok);
    assert.deepEqual(net.raft('a').status().conf.voters, ['a', 'b', 'c', 'd']);
    assert.ok(net.raft('a').status().progress.has('d'));
  });

  it('at most one configuration change may be pending', () => {
    const net = ready3();
    net.isolate('a');
    assert.ok(net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l1' }).ok);
    const second = net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l2' });
    assert.deepEqual(second, { ok: false, reason: 'confChangePending', leaderId: 'a' });
  });

  it('a new leader accepts changes only after committing an entry of its term', () => {
    const net = new Net(['a', 'b', 'c']);
    net.setDrop((m) => m.type === 'Append' && m.entries.length > 0);
    net.elect('a');
    assert.equal(net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' }).ok, false);
    net.heal();
    net.tickAll(2);
    assert.ok(net.raft('a').proposeConfChange({ type: 'addLearner', nodeId: 'l' }).ok);
  });

  it('changes that do nothing or leave no voter are refused', () => {
    const net = ready3();
    assert.equal(net.raft('a').proposeConfChange({ type: 'addVoter', nodeId: 'b' }).ok, false);
    const solo = new Net(['s']);
    solo.elect('s');
    assert.equal(solo.raft('s').proposeConfChange({ type: 'removeNode', nodeId: 's' }).ok, false);
  });

  it('after removing a follower, the smaller majority commits', () => {
    const net = ready3();
    assert.ok(net.raft('a').proposeConfChange({ type: 'removeNode', nodeId: 'c' }).ok);
    net.tickAll(2);
    net.isolate('c');
    const r = net.raft('a').propose(enc('z'));
    assert.ok(r.ok);
    net.deliver();
    assert.equal(net.raft('a').status().commit, r.index);
  });

  it('a leader that removes itself steps down once the change is committed', () => {
    const net = ready3();
    const r = net.raft('a').proposeConfChange({ type: 'removeNode', nodeId: 'a' });
    assert.ok(r.ok);
    assert.equal(net.raft('a').status().role, 'leader', 'it keeps leading while the change commits');
    net.deliver();
    assert.equal(net.raft('a').status().role, 'follower');
    for (let i = 0; i < 60 && net.leaders().length === 0; i++) net.tickAll();
    const leader = net.leaders()[0];
    assert.ok(leader === 'b' || leader === 'c', `new leader ${leader}`);
  });

  it('a leader that removed itself and restarted before the change committed campaigns to finish it', () => {
    // Simulator seed 92920: of voters {a, b}, only the removed a holds the change, so b
    // (whose log is behind) cannot win, and a, no voter in its latest configuration,
    // never campaigned. Now a campaigns as a voter of the committed configuration, is
    // elected by the new one ({b}), commits the change and steps down.
    const net = new Net(['a', 'b']);
    net.elect('a');
    net.tickAll(1);
    net.setDrop((m) => m.to === 'b');
    const r = net.raft('a').proposeConfChange({ type: 'removeNode', nodeId: 'a' });
    assert.ok(r.ok);
    net.deliver();
    assert.deepEqual(net.raft('a').status().conf.voters, ['b'], 'the change took effect on append');
    assert.ok(net.raft('a').status().commit < r.index, 'but it is not committed');
    net.restart('a');
    net.heal();
    for (let i = 0; i < 200 && !(net.leaders()[0] === 'b'); i++) net.tickAll();
    assert.deepEqual(net.leaders(), ['b']);
    const b = net.raft('b').status();
    assert.deepEqual(b.conf, { voters: ['b'], learners: [] });
    assert.ok(b.commit >= r.index, 'the removal committed');
    assert.notEqual(net.raft('a').status().role, 'leader');
  });

  it('a removed node that never learns its removal committed does not disrupt the cluster (PreVote, CheckQuorum)', () => {
    // It holds the change but not its commit, so it may campaign (see the test above);
    // the members, hearing from their leader, refuse it.
    const net = ready3();
    const r = net.raft('a').proposeConfChange({ type: 'removeNode', nodeId: 'c' });
    assert.ok(r.ok);
    net.tickAll(3);
    assert.deepEqual(net.raft('a').status().conf.voters, ['a', 'b']);
    const term = net.raft('a').status().term;
    for (let i = 0; i < 100; i++) net.tickAll();
    assert.deepEqual(net.leaders(), ['a']);
    assert.equal(net.raft('a').status().term, term);
    assert.equal(net.raft('b').status().term, term);
  });

  it('a follower reverts an appended change when the entry is overwritten', () => {
    const net = ready3();
    const b = net.raft('b');
    const st = b.status();
    // An old leader of this term's predecessor would have sent this; emulate a conflicting uncommitted entry.
    b.step({
      type: 'Append',
      from: 'a',
      to: 'b',
      term: st.term,
      prevIndex: st.lastIndex,
      prevTerm: b.logTerm(st.lastIndex) ?? 0,
      entries: [{ index: st.lastIndex + 1, term: st.term, type: 'confChange', data: encodeConfChange({ type: 'addVoter', nodeId: 'zz' }) }],
      commit: st.commit,
    });
    assert.ok(b.status().conf.voters.includes('zz'));
    net.discard();
    // A later leader overwrites that index with something else.
    b.step({
      type: 'Append',
      from: 'c',
      to: 'b',
      term: st.term + 1,
      prevIndex: st.lastIndex,
      prevTerm: b.logTerm(st.lastIndex) ?? 0,
      entries: [{ index: st.lastIndex + 1, term: st.term + 1, type: 'normal', data: new Uint8Array(0) }],
      commit: st.commit,
    });
    assert.ok(!b.status().conf.voters.includes('zz'));
  });
});

describe('leadership transfer (thesis §3.10)', () => {
  it('the leader sends TimeoutNow to an up-to-date target, which wins the next term at once', () => {
    const net = ready3();
    const term = net.raft('a').status().term;
    assert.deepEqual(net.raft('a').transferLeadership('b'), { ok: true });
    net.deliver();
    assert.equal(net.raft('b').status().role, 'leader');
    assert.equal(net.raft('b').status().term, term + 1);
    assert.equal(net.raft('a').status().role, 'follower');
  });

  it('a lagging target is caught up first', () => {
    const net = ready3();
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.raft('a').propose(enc(`v${i}`));
    net.deliver();
    net.heal();
    net.raft('a').transferLeadership('c');
    const timeoutNow = (): number => net.sentOfType('TimeoutNow').length;
    assert.equal(timeoutNow(), 0);
    net.deliver();
    assert.equal(timeoutNow(), 1);
    assert.equal(net.raft('c').status().role, 'leader');
  });

  it('proposals are refused while a transfer is in progress', () => {
    const net = ready3();
    net.isolate('b');
    net.raft('a').transferLeadership('b');
    assert.deepEqual(net.raft('a').propose(enc('x')), { ok: false, reason: 'transferring', leaderId: 'a' });
  });

  it('a transfer that does not finish within an election timeout is abandoned', () => {
    const net = ready3();
    net.setDrop((m) => m.type === 'TimeoutNow');
    net.raft('a').transferLeadership('b');
    for (let i = 0; i < 12; i++) net.tickAll();
    assert.equal(net.raft('a').status().role, 'leader');
    assert.equal(net.raft('a').status().leadTransferee, null);
    assert.ok(net.raft('a').propose(enc('x')).ok);
  });

  it('only a voter can be the target', () => {
    const net = ready3();
    assert.deepEqual(net.raft('a').transferLeadership('nobody'), { ok: false, reason: 'notVoter' });
    assert.deepEqual(net.raft('b').transferLeadership('c'), { ok: false, reason: 'notLeader' });
  });
});
