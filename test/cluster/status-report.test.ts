import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Status } from '../../src/raft/raft.js';
import type { PeerLinkStats } from '../../src/cluster/node/network.js';
import type { PeerAddress } from '../../src/cluster/node/peers.js';
import { clusterInfoText, clusterNodesText, replicationFields, type NodeReport } from '../../src/cluster/node/status-report.js';

const addresses = new Map<string, PeerAddress>(
  ['n1', 'n2', 'n3', 'n4'].map((id, i) => [id, { id, host: '127.0.0.1', port: 9000 + i, peerPort: 19000 + i }]),
);

function link(connected: boolean, over: Partial<PeerLinkStats> = {}): PeerLinkStats {
  return {
    connected,
    lastContactMs: 0,
    messagesSent: 0,
    bytesSent: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    socketWrites: 0,
    drops: 0,
    reconnects: 0,
    queueBytes: 0,
    ...over,
  };
}

function status(over: Partial<Status>): Status {
  return {
    id: 'n1',
    term: 7,
    vote: 'n1',
    role: 'leader',
    leaderId: 'n1',
    commit: 100,
    applied: 99,
    firstIndex: 1,
    lastIndex: 105,
    conf: { voters: ['n1', 'n2', 'n3'], learners: ['n4'] },
    leadTransferee: null,
    progress: new Map(),
    ...over,
  };
}

function report(raft: Status, links: Record<string, PeerLinkStats>, over: Partial<NodeReport> = {}): NodeReport {
  return {
    id: raft.id,
    raft,
    applied: 98,
    addresses,
    link: (peer) => links[peer],
    failed: false,
    forwardedWrites: 3,
    earlyAckedWrites: 2,
    leaderChanges: 1,
    snapshotIndex: 50,
    logFirstIndex: 51,
    snapshotsTaken: 4,
    snapshotsInstalled: 0,
    nowMs: 10_000,
    ...over,
  };
}

const leaderStatus = status({
  progress: new Map([
    ['n1', { match: 105, next: 106, state: 'replicate' }],
    ['n2', { match: 104, next: 105, state: 'replicate' }],
    ['n3', { match: 60, next: 61, state: 'probe' }],
    ['n4', { match: 0, next: 1, state: 'snapshot' }],
  ]),
});
const leaderLinks = {
  n2: link(true, { lastContactMs: 9_990, messagesSent: 40, bytesSent: 4000, socketWrites: 30, messagesReceived: 40, bytesReceived: 800 }),
  n3: link(false, { lastContactMs: 4_000, reconnects: 2, drops: 5, queueBytes: 1234 }),
  n4: link(true),
};

test('INFO replication on a leader: followers with their lag, Raft fields, and each peer link', () => {
  const fields = new Map(replicationFields(report(leaderStatus, leaderLinks)));
  assert.equal(fields.get('role'), 'master');
  assert.equal(fields.has('master_host'), false);
  assert.equal(fields.get('connected_slaves'), 3);
  assert.equal(fields.get('slave0'), 'id=n2,ip=127.0.0.1,port=9001,state=replicate,match=104,lag=1');
  assert.equal(fields.get('slave1'), 'id=n3,ip=127.0.0.1,port=9002,state=probe,match=60,lag=45');
  assert.equal(fields.get('slave2'), 'id=n4,ip=127.0.0.1,port=9003,state=snapshot,match=0,lag=105');
  assert.equal(fields.get('raft_applied_index'), 98);
  assert.equal(fields.get('master_repl_offset'), 98);
  assert.equal(fields.get('raft_voters'), 'n1,n2,n3');
  assert.equal(fields.get('raft_learners'), 'n4');
  assert.equal(fields.get('raft_snapshot_index'), 50);
  assert.equal(
    fields.get('raft_peer0'),
    'id=n2,link=up,last_contact_ms_ago=10,msgs_sent=40,bytes_sent=4000,socket_writes=30,msgs_received=40,bytes_received=800,drops=0,reconnects=0,queue_bytes=0',
  );
  assert.equal(
    fields.get('raft_peer1'),
    'id=n3,link=down,last_contact_ms_ago=6000,msgs_sent=0,bytes_sent=0,socket_writes=0,msgs_received=0,bytes_received=0,drops=5,reconnects=2,queue_bytes=1234',
  );
  // A peer never heard from says so rather than showing the age of the epoch.
  assert.match(String(fields.get('raft_peer2')), /^id=n4,link=up,last_contact_ms_ago=-1,/);
});

test('INFO replication on a follower names its leader and whether the link to it is up', () => {
  const follower = status({ id: 'n2', role: 'follower', leaderId: 'n1', vote: 'n1' });
  const up = new Map(replicationFields(report(follower, { n1: link(true), n3: link(false) })));
  assert.equal(up.get('role'), 'slave');
  assert.equal(up.get('master_host'), '127.0.0.1');
  assert.equal(up.get('master_port'), 9000);
  assert.equal(up.get('master_link_status'), 'up');
  assert.equal(up.get('connected_slaves'), 0);
  const down = new Map(replicationFields(report(follower, { n1: link(false) })));
  assert.equal(down.get('master_link_status'), 'down');
  const leaderless = new Map(replicationFields(report(status({ id: 'n2', role: 'candidate', leaderId: null }), {})));
  assert.equal(leaderless.get('master_host'), '?');
  assert.equal(leaderless.get('master_link_status'), 'down');
  // Without transport counters (an in-process network) there are no peer lines.
  assert.equal([...leaderless.keys()].some((k) => k.startsWith('raft_peer')), false);
});

test('CLUSTER INFO: ok with a leader, fail without one or when the log failed', () => {
  const text = clusterInfoText(report(leaderStatus, leaderLinks));
  assert.match(text, /^cluster_enabled:1\r\ncluster_state:ok\r\ncluster_known_nodes:4\r\ncluster_size:3\r\ncluster_current_epoch:7\r\n/);
  assert.match(text, /raft_node_id:n1\r\nraft_role:leader\r\nraft_leader_id:n1\r\nraft_commit_index:100\r\nraft_applied_index:98\r\nraft_last_index:105\r\n$/);
  assert.match(clusterInfoText(report(status({ leaderId: null, role: 'candidate' }), {})), /cluster_state:fail/);
  assert.match(clusterInfoText(report(leaderStatus, leaderLinks, { failed: true })), /cluster_state:fail/);
});

test('CLUSTER NODES: Redis layout, link states, and Raft fields', () => {
  const lines = clusterNodesText(report(leaderStatus, leaderLinks)).trimEnd().split('\n');
  assert.deepEqual(lines, [
    'n1 127.0.0.1:9000@19000 myself,leader n1 0 0 7 connected term=7 commit=100 applied=98 last=105 match=105 lag=0',
    'n2 127.0.0.1:9001@19001 follower n1 0 0 7 connected term=7 match=104 lag=1',
    'n3 127.0.0.1:9002@19002 follower n1 0 0 7 disconnected term=7 match=60 lag=45',
    'n4 127.0.0.1:9003@19003 learner n1 0 0 7 connected term=7 match=0 lag=105',
  ]);
  // Seen from a follower: a down link to the other follower is normal (idle), to the leader it is not.
  const follower = status({ id: 'n2', role: 'follower', leaderId: 'n1', conf: { voters: ['n1', 'n2', 'n3'], learners: [] } });
  const seen = clusterNodesText(report(follower, { n1: link(false), n3: link(false) })).trimEnd().split('\n');
  assert.match(seen[0]!, /^n1 \S+ leader n1 0 0 7 disconnected term=7$/);
  assert.match(seen[1]!, /^n2 \S+ myself,follower n1 0 0 7 connected term=7 commit=100 applied=98 last=105$/);
  assert.match(seen[2]!, /^n3 \S+ follower n1 0 0 7 idle term=7$/);
});
