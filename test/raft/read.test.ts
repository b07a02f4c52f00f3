import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net, enc } from './harness.js';

describe('ReadIndex (thesis §6.4)', () => {
  it('a leader serves a read only after a heartbeat round confirms it is still leader', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const a = net.get('a');
    const mark = net.sent.length;
    assert.deepEqual(a.node.readIndex('r1'), { ok: true });
    net.processReady();
    assert.equal(a.readStates.length, 0, 'not before the quorum answered');
    assert.ok(net.sentOfType('Heartbeat', mark).length >= 2, 'a heartbeat round went out');
    net.deliver();
    assert.deepEqual(a.readStates, [{ ctx: 'r1', index: a.node.status().commit }]);
  });

  it('a leader cut off from the majority never answers a read', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.isolate('a');
    net.raft('a').readIndex('r1');
    for (let i = 0; i < 30; i++) {
      net.tick('a');
      net.deliver();
    }
    assert.equal(net.get('a').readStates.length, 0);
  });

  it('a new leader answers reads only after it has committed an entry of its own term', () => {
    const net = new Net(['a', 'b', 'c']);
    // The leader's no-op never reaches anyone, so nothing of its term commits.
    net.setDrop((m) => m.type === 'Append' && m.entries.length > 0);
    net.elect('a');
    const a = net.get('a');
    a.node.readIndex('early');
    net.tickAll(5);
    assert.equal(a.readStates.length, 0, 'the commit index might still be stale');
    net.heal();
    net.tickAll(5);
    assert.equal(a.readStates.length, 1);
    assert.equal(a.node.logTerm((a.readStates[0] as { index: number }).index), a.node.status().term);
  });

  it('the read index covers every write committed before the read was requested', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const w = net.raft('a').propose(enc('x=1'));
    assert.ok(w.ok);
    net.deliver();
    net.raft('a').readIndex('r');
    net.deliver();
    assert.ok((net.get('a').readStates[0]?.index ?? 0) >= w.index);
  });

  it('a follower forwards the read to the leader and gets the read index back', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.raft('a').propose(enc('v'));
    net.deliver();
    const b = net.get('b');
    assert.deepEqual(b.node.readIndex('fr'), { ok: true });
    net.deliver();
    assert.equal(b.readStates.length, 1);
    assert.equal(b.readStates[0]?.ctx, 'fr');
    assert.equal(b.readStates[0]?.index, net.raft('a').status().commit);
  });

  it('a follower that knows no leader refuses the read', () => {
    const net = new Net(['a', 'b', 'c']);
    assert.deepEqual(net.raft('b').readIndex('x'), { ok: false, reason: 'noLeader' });
  });

  it('pending reads are bounded by maxPendingReads', () => {
    const net = new Net(['a', 'b', 'c'], { maxPendingReads: 3 });
    net.elect('a');
    net.isolate('a');
    const results = [1, 2, 3, 4].map((i) => net.raft('a').readIndex(`r${i}`).ok);
    assert.deepEqual(results, [true, true, true, false]);
  });

  it('a single-voter leader answers reads at once', () => {
    const net = new Net(['solo']);
    net.elect('solo');
    net.raft('solo').readIndex('r');
    net.processReady();
    assert.equal(net.get('solo').readStates.length, 1);
  });
});

describe('lease-based reads (optional)', () => {
  const lease = { leaseReads: true, checkQuorum: true, leaseDriftMarginTicks: 2 };

  it('within the lease the leader answers without a heartbeat round', () => {
    const net = new Net(['a', 'b', 'c'], lease);
    net.tickAll(10); // let the post-restart quiet period pass
    net.elect('a');
    net.tickAll(2); // a heartbeat round acknowledged by a quorum starts the lease
    const mark = net.sent.length;
    net.raft('a').readIndex('fast');
    net.processReady();
    assert.equal(net.get('a').readStates.length, 1);
    assert.equal(net.sentOfType('Heartbeat', mark).length, 0);
  });

  it('after the lease runs out the leader falls back to a heartbeat round', () => {
    const net = new Net(['a', 'b', 'c'], lease);
    net.tickAll(10);
    net.elect('a');
    net.tickAll(2);
    net.isolate('a');
    net.tick('a', 10); // longer than electionTimeoutTicks − drift margin
    net.raft('a').readIndex('slow');
    net.processReady();
    assert.equal(net.get('a').readStates.length, 0);
  });

  it('a lease has always expired by the time another leader can exist', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Net(['a', 'b', 'c'], lease, seed);
      for (let i = 0; i < 100 && net.leaders().length === 0; i++) net.tickAll();
      const old = net.leaders()[0] as string;
      net.tickAll(3);
      net.isolate(old);
      let checked = false;
      for (let i = 0; i < 100 && !checked; i++) {
        net.tickAll();
        if (net.leaders().some((id) => id !== old)) {
          const a = net.get(old);
          if (a.node.status().role === 'leader') {
            a.node.readIndex(`late${seed}`);
            net.processReady();
            assert.equal(a.readStates.length, 0, `seed ${seed}: deposed leader served a lease read`);
          }
          checked = true;
        }
      }
      assert.ok(checked, `seed ${seed}: no new leader`);
    }
  });

  it('handing leadership over ends the lease at once', () => {
    const net = new Net(['a', 'b', 'c'], lease);
    net.tickAll(10);
    net.elect('a');
    net.tickAll(2);
    net.setDrop((m) => m.type === 'TimeoutNow');
    net.raft('a').transferLeadership('b');
    net.deliver();
    // The transfer is abandoned after an election timeout, but the TimeoutNow may
    // still be in flight: no lease for a while.
    for (let i = 0; i < 12; i++) net.tickAll();
    assert.equal(net.raft('a').status().leadTransferee, null, 'transfer abandoned');
    net.raft('a').readIndex('after-transfer');
    net.processReady();
    assert.equal(net.get('a').readStates.length, 0);
    net.deliver();
    assert.equal(net.get('a').readStates.length, 1, 'answered by a heartbeat round instead');
    for (let i = 0; i < 12; i++) net.tickAll();
    net.raft('a').readIndex('lease-again');
    net.processReady();
    assert.equal(net.get('a').readStates.length, 2, 'later, leases resume');
  });

  it('lease reads require CheckQuorum', () => {
    assert.throws(() => new Net(['a'], { leaseReads: true, checkQuorum: false }), /checkQuorum/);
  });
});
