import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Net, appliedData, enc } from './harness.js';
import { MemoryLog } from '../../src/raft/storage.js';
import { Inflights } from '../../src/raft/progress.js';
import type { Entry } from '../../src/raft/types.js';

/** The leader's application takes a snapshot at its applied index and compacts. */
function compact(net: Net, id: string, data: Uint8Array, retain = 0): number {
  const tn = net.get(id);
  const st = tn.node.status();
  tn.storage.createSnapshot(st.applied, st.conf, data, retain);
  return st.applied;
}

function filled(n: number): Uint8Array {
  const d = new Uint8Array(n);
  for (let i = 0; i < n; i++) d[i] = i % 251;
  return d;
}

describe('snapshots and log compaction (Raft §7)', () => {
  it('a follower too far behind receives the snapshot in chunks, reassembled and handed in ready()', () => {
    const net = new Net(['a', 'b', 'c'], { snapshotChunkBytes: 100 });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.raft('a').propose(enc(`v${i}`));
    net.deliver();
    const data = filled(1050);
    const snapIndex = compact(net, 'a', data);
    net.raft('a').propose(enc('after'));
    net.heal();
    const mark = net.sent.length;
    net.tickAll(20);
    const chunks = net.sentOfType('Snapshot', mark).filter((m) => m.to === 'c');
    assert.equal(chunks.length, 11, 'ceil(1050 / 100) chunks');
    assert.ok(chunks.every((m) => m.data.byteLength <= 100));
    const c = net.get('c');
    assert.equal(c.installed.length, 1);
    assert.equal(c.installed[0]?.meta.index, snapIndex);
    assert.deepEqual(c.installed[0]?.data, data);
    assert.deepEqual(appliedData(c), ['after'], 'entries after the snapshot are replicated normally');
    assert.equal(c.node.status().lastIndex, net.raft('a').status().lastIndex);
  });

  it('a lost chunk is sent again and the snapshot still arrives whole', () => {
    const net = new Net(['a', 'b', 'c'], { snapshotChunkBytes: 64 });
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.raft('a').propose(enc(`v${i}`));
    net.deliver();
    const data = filled(500);
    compact(net, 'a', data);
    let dropped = 0;
    net.setDrop((m) => m.type === 'Snapshot' && m.offset === 192 && dropped++ < 2);
    net.tickAll(40);
    assert.equal(dropped >= 1, true);
    assert.deepEqual(net.get('c').installed[0]?.data, data);
  });

  it('a follower that already holds the snapshot index does not install it', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    net.raft('a').propose(enc('x'));
    net.deliver();
    net.tickAll(2);
    const idx = compact(net, 'a', filled(10));
    const c = net.get('c');
    c.node.step({ type: 'Snapshot', from: 'a', to: 'c', term: c.node.status().term, meta: { index: idx, term: c.node.logTerm(idx) ?? 0, confState: c.node.status().conf }, totalBytes: 10, offset: 0, data: filled(10), done: true });
    net.processReady();
    assert.equal(c.installed.length, 0);
  });

  it('chunks from another sender or term are never mixed into a reassembly', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    const c = net.get('c');
    const term = c.node.status().term;
    const meta = { index: 50, term: 2, confState: c.node.status().conf };
    c.node.step({ type: 'Snapshot', from: 'a', to: 'c', term, meta, totalBytes: 4, offset: 0, data: new Uint8Array([1, 1]), done: false });
    // A new leader of a later term continues "the same" snapshot from offset 2.
    c.node.step({ type: 'Snapshot', from: 'b', to: 'c', term: term + 1, meta, totalBytes: 4, offset: 2, data: new Uint8Array([2, 2]), done: true });
    net.processReady();
    assert.equal(c.installed.length, 0, 'the half from a must not be completed with b\'s bytes');
    const resp = net.sentOfType('SnapshotResp').filter((m) => m.to === 'b').at(-1);
    assert.equal(resp?.nextOffset, 0, 'b is asked to start over');
  });

  it('a follower refuses a snapshot larger than maxSnapshotBytes', () => {
    const net = new Net(['a', 'b', 'c'], { maxSnapshotBytes: 100 });
    net.elect('a');
    const c = net.get('c');
    const mark = net.sent.length;
    c.node.step({ type: 'Snapshot', from: 'a', to: 'c', term: c.node.status().term, meta: { index: 50, term: 2, confState: c.node.status().conf }, totalBytes: 1000, offset: 0, data: filled(100), done: false });
    net.processReady();
    const resp = net.sentOfType('SnapshotResp', mark)[0];
    assert.equal(resp?.reject, true);
  });

  it('a node restarts from its snapshot plus the entries after it', () => {
    const net = new Net(['a', 'b', 'c']);
    net.elect('a');
    for (let i = 0; i < 6; i++) net.raft('a').propose(enc(`v${i}`));
    net.deliver();
    net.tickAll(2);
    const idx = compact(net, 'b', filled(20), 2);
    net.raft('a').propose(enc('tail'));
    net.deliver();
    net.tickAll(2);
    const b = net.restart('b');
    assert.equal(b.node.status().applied, idx);
    net.processReady();
    assert.deepEqual(appliedData(b), ['tail'], 'only entries after the snapshot are replayed');
  });
});

describe('MemoryLog', () => {
  const e = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array(0) });

  it('appending at an existing index replaces the suffix', () => {
    const log = new MemoryLog();
    log.append([e(1, 1), e(2, 1), e(3, 1)]);
    log.append([e(2, 2)]);
    assert.equal(log.lastIndex(), 2);
    assert.equal(log.term(2), 2);
  });

  it('refuses a gap', () => {
    const log = new MemoryLog();
    log.append([e(1, 1)]);
    assert.throws(() => log.append([e(3, 1)]), /gap/);
  });

  it('compaction keeps retained entries and the term of the entry before them', () => {
    const log = new MemoryLog();
    log.append([e(1, 1), e(2, 1), e(3, 2), e(4, 2), e(5, 3)]);
    log.createSnapshot(4, { voters: ['a'], learners: [] }, new Uint8Array(0), 1);
    assert.equal(log.firstIndex(), 4);
    assert.equal(log.term(3), 2, 'term of the compacted boundary entry is kept');
    assert.equal(log.term(2), undefined);
    assert.equal(log.snapshot().meta.index, 4);
    assert.deepEqual(log.entries(4, 6, 1 << 20).map((x) => x.index), [4, 5]);
  });

  it('entries() honours the byte budget but always returns one entry', () => {
    const log = new MemoryLog();
    log.append([1, 2, 3].map((i) => ({ index: i, term: 1, type: 'normal' as const, data: new Uint8Array(100) })));
    assert.equal(log.entries(1, 4, 1).length, 1);
    assert.equal(log.entries(1, 4, 260).length, 2);
  });

  it('persisted term never goes backwards', () => {
    const log = new MemoryLog();
    log.setHardState({ term: 5, vote: null, commit: 0 });
    assert.throws(() => log.setHardState({ term: 4, vote: null, commit: 0 }));
  });
});

describe('Inflights', () => {
  it('frees every message acknowledged by a cumulative ack', () => {
    const f = new Inflights(3);
    f.add(5);
    f.add(7);
    f.add(9);
    assert.ok(f.full());
    f.freeLE(7);
    assert.equal(f.size(), 1);
    f.add(11);
    f.add(12);
    assert.throws(() => f.add(13), /overflow/);
  });
});
