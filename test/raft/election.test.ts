import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net } from './harness.js';
import { MemoryLog } from '../../src/raft/storage.js';
import { RaftNode, defaultRaftConfig } from '../../src/raft/raft.js';
import { SeededRandom } from '../../src/raft/rand.js';

const noPreVote = { preVote: false, checkQuorum: false };

describe('leader election (Raft §5.2)', () => {
  it('if a follower receives no communication over a period of time, it begins an election', () => {
    const net = new Net(['a', 'b', 'c'], noPreVote);
    const a = net.raft('a');
    for (let i = 0; i < 20 && a.status().role === 'follower'; i++) a.tick();
    assert.equal(a.status().role, 'candidate');
    assert.equal(a.status().term, 2, 'a candidate increments its term');
    assert.equal(a.status().vote, 'a', 'a candidate votes for itself');
    net.processReady();
    const votes = net.sentOfType('Vote');
    assert.deepEqual(votes.map((m) => m.to).sort(), ['b', 'c']);
  });

  it('a candidate wins an election if it receives votes from a majority of the servers', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e'], noPreVote);
    // Two of the four others never answer: a still has 3 of 5.
    net.setDrop((m) => m.from === 'd' || m.from === 'e');
    net.elect('a');
    assert.equal(net.raft('a').status().role, 'leader');
    assert.equal(net.raft('b').status().leaderId, 'a');
  });

  it('a candidate without a majority does not become leader', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e'], noPreVote);
    net.setDrop((m) => m.from === 'c' || m.from === 'd' || m.from === 'e');
    const a = net.raft('a');
    for (let i = 0; i < 15; i++) {
      a.tick();
      net.deliver();
    }
    assert.notEqual(a.status().role, 'leader');
  });

  it('each server will vote for at most one candidate in a given term', () => {
    const net = new Net(['a', 'b', 'c'], noPreVote);
    const b = net.raft('b');
    b.step({ type: 'Vote', from: 'a', to: 'b', term: 5, lastLogIndex: 3, lastLogTerm: 1, transfer: false });
    b.step({ type: 'Vote', from: 'c', to: 'b', term: 5, lastLogIndex: 3, lastLogTerm: 1, transfer: false });
    net.processReady();
    const resps = net.sentOfType('VoteResp');
    assert.deepEqual(resps.map((m) => [m.to, m.reject]), [['a', false], ['c', true]]);
    assert.equal(b.status().vote, 'a');
  });

  it('the voter denies its vote if its own log is more up-to-date than that of the candidate', () => {
    const net = new Net(['a', 'b', 'c'], noPreVote);
    net.elect('a');
    assert.ok(net.raft('a').propose(new Uint8Array([1])).ok);
    net.deliver();
    // c has fallen behind (it missed the last entry) and campaigns.
    const b = net.raft('b');
    const last = b.status().lastIndex;
    b.step({ type: 'Vote', from: 'c', to: 'b', term: 9, lastLogIndex: last - 1, lastLogTerm: 2, transfer: false });
    net.processReady();
    const resp = net.sentOfType('VoteResp').at(-1);
    assert.equal(resp?.reject, true);
    assert.equal(b.status().term, 9, 'a higher term is adopted even when the vote is denied');
  });

  it('a vote request it denies does not restart the election timer (Figure 2), so a candidate that cannot win cannot starve one that can', () => {
    // Simulator seed 90568: two voters, the one behind with a faster clock. Each of its
    // campaigns showed the other a higher term, and restarting the timer there meant
    // the voter with the longer log never timed out: no leader, ever.
    const net = new Net(['a', 'b', 'c'], noPreVote);
    net.elect('a');
    net.setDrop((m) => m.to === 'c' || m.from === 'c');
    assert.ok(net.raft('a').propose(new Uint8Array([1])).ok);
    net.deliver();
    const longest = net.raft('b').status().lastIndex;
    assert.ok(net.raft('c').status().lastIndex < longest, 'c missed the last entry');
    // a is gone; c's clock runs three times as fast as b's.
    net.nodes.delete('a');
    net.heal();
    for (let i = 0; i < 200 && net.raft('b').status().role !== 'leader'; i++) {
      net.tick('c', 3);
      net.tick('b');
      net.deliver();
    }
    assert.equal(net.raft('b').status().role, 'leader', `b leads (c at term ${net.raft('c').status().term})`);
    assert.equal(net.raft('c').status().leaderId, 'b');
  });

  it('while waiting for votes, a candidate that hears from a leader of its term steps down', () => {
    const net = new Net(['a', 'b', 'c'], noPreVote);
    const b = net.raft('b');
    for (let i = 0; i < 20 && b.status().role !== 'candidate'; i++) b.tick();
    const term = b.status().term;
    b.step({ type: 'Heartbeat', from: 'c', to: 'b', term, commit: 0, readRound: 0 });
    assert.equal(b.status().role, 'follower');
    assert.equal(b.status().leaderId, 'c');
  });

  it('election timeouts are chosen randomly from a fixed interval, and deterministically from the seed', () => {
    const fire = (seed: number): number => {
      const n = new RaftNode({ ...defaultRaftConfig('a', new SeededRandom(seed)), ...noPreVote }, MemoryLog.bootstrap(['a', 'b', 'c']));
      let t = 0;
      while (n.status().role === 'follower') {
        n.tick();
        t++;
      }
      return t;
    };
    const seen = new Set<number>();
    for (let s = 1; s <= 30; s++) {
      const t = fire(s);
      assert.ok(t >= 10 && t < 20, `timeout ${t} outside [10, 20)`);
      assert.equal(fire(s), t, 'same seed, same timeout');
      seen.add(t);
    }
    assert.ok(seen.size > 3, 'timeouts are spread out');
  });

  it('if a server receives a request with a stale term number, it rejects it and reports the current term', () => {
    const net = new Net(['a', 'b', 'c'], noPreVote);
    const b = net.raft('b');
    b.step({ type: 'Heartbeat', from: 'c', to: 'b', term: 9, commit: 0, readRound: 0 });
    net.discard();
    const mark = net.sent.length;
    b.step({ type: 'Vote', from: 'a', to: 'b', term: 4, lastLogIndex: 99, lastLogTerm: 9, transfer: false });
    net.processReady();
    const resp = net.sentOfType('VoteResp', mark)[0];
    assert.equal(resp?.reject, true);
    assert.equal(resp?.term, 9);
  });

  it('a single-node cluster elects itself and commits', () => {
    const net = new Net(['solo']);
    net.elect('solo');
    const r = net.raft('solo').propose(new Uint8Array([7]));
    assert.ok(r.ok);
    net.deliver();
    assert.equal(net.raft('solo').status().commit, r.index);
  });

  it('at most one leader per term across repeated elections', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e'], {}, 42);
    const leaderOf = new Map<number, string>();
    for (let i = 0; i < 300; i++) {
      net.tickAll();
      for (const id of net.leaders()) {
        const term = net.raft(id).status().term;
        const prev = leaderOf.get(term);
        assert.ok(prev === undefined || prev === id, `two leaders in term ${term}`);
        leaderOf.set(term, id);
      }
      if (i % 60 === 59) net.isolate(net.leaders()[0] ?? 'a');
      if (i % 60 === 29) net.heal();
    }
    assert.ok(leaderOf.size >= 2);
  });
});

describe('PreVote (thesis §9.6)', () => {
  it('a partitioned node does not increase its term while it cannot win', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const term = net.raft('a').status().term;
    net.isolate('c');
    for (let i = 0; i < 100; i++) {
      net.tick('c');
      net.deliver();
    }
    assert.equal(net.raft('c').status().term, term, 'pre-votes never bump the term');
    assert.equal(net.raft('c').status().role, 'preCandidate');
  });

  it('a partitioned node rejoining does not disrupt a healthy leader', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const term = net.raft('a').status().term;
    net.isolate('c');
    for (let i = 0; i < 50; i++) {
      net.tick('a');
      net.tick('b');
      net.tick('c');
      net.deliver();
    }
    net.heal();
    for (let i = 0; i < 50; i++) net.tickAll();
    assert.equal(net.raft('a').status().role, 'leader');
    assert.equal(net.raft('a').status().term, term);
    assert.equal(net.raft('c').status().leaderId, 'a');
  });

  it('without PreVote, a rejoining node with a higher term forces a new election', () => {
    const net = new Net(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    net.elect('a');
    const term = net.raft('a').status().term;
    net.isolate('c');
    for (let i = 0; i < 50; i++) {
      net.tick('c');
      net.deliver();
    }
    assert.ok(net.raft('c').status().term > term);
    net.heal();
    // c campaigns again once its election timer runs out (at most 20 ticks).
    for (let i = 0; i < 20 && net.raft('a').status().term === term; i++) net.tickAll(1);
    assert.ok(net.raft('a').status().term > term, 'the old leader was disrupted');
  });

  it('a pre-candidate that learns of a higher term adopts it', () => {
    const net = new Net(['a', 'b', 'c']);
    const a = net.raft('a');
    for (let i = 0; i < 30 && a.status().role !== 'preCandidate'; i++) a.tick();
    a.step({ type: 'PreVoteResp', from: 'b', to: 'a', term: 8, reject: true });
    assert.equal(a.status().role, 'follower');
    assert.equal(a.status().term, 8);
  });
});

describe('CheckQuorum', () => {
  it('a leader that loses its majority steps down', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    for (let i = 0; i < 25; i++) {
      net.tick('a');
      net.deliver();
    }
    assert.equal(net.raft('a').status().role, 'follower');
  });

  it('a leader with a majority stays leader', () => {
    const net = new Net(['a', 'b', 'c', 'd', 'e']);
    net.elect('a');
    net.setDrop((m) => m.from === 'e' || m.to === 'e' || m.from === 'd' || m.to === 'd');
    for (let i = 0; i < 60; i++) {
      net.tick('a');
      net.deliver();
    }
    assert.equal(net.raft('a').status().role, 'leader');
  });

  it('a follower that heard from the leader recently ignores vote requests', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const b = net.raft('b');
    const term = b.status().term;
    b.step({ type: 'Vote', from: 'c', to: 'b', term: term + 1, lastLogIndex: 99, lastLogTerm: 99, transfer: false });
    assert.equal(b.status().term, term);
    assert.equal(b.status().leaderId, 'a');
  });

  it('a deposed leader learns the new term from the response to its append', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    // b and c must both see the leader's lease run out before either can win.
    for (let i = 0; i < 60 && net.leaders().filter((id) => id !== 'a').length === 0; i++) {
      net.tick('b');
      net.tick('c');
      net.deliver();
    }
    const winner = net.leaders().find((id) => id !== 'a');
    assert.ok(winner !== undefined);
    const newTerm = net.raft(winner).status().term;
    net.heal();
    // a still thinks it is leader: it has not ticked since the partition.
    assert.equal(net.raft('a').status().role, 'leader');
    net.raft('a').propose(new Uint8Array([1]));
    net.deliver();
    assert.equal(net.raft('a').status().role, 'follower');
    assert.equal(net.raft('a').status().term, newTerm);
  });
});
