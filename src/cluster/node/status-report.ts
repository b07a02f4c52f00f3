// What a node says about itself and its cluster: INFO replication's fields, CLUSTER INFO
// and CLUSTER NODES. Pure formatting of one snapshot of the node's state (NodeReport),
// taken by the runtime when asked, so the texts can be tested without a cluster.

import type { Status } from '../../raft/raft.js';
import type { NodeId } from '../../raft/types.js';
import type { PeerLinkStats } from './network.js';
import type { PeerAddress } from './peers.js';

export type InfoField = [string, string | number];

/** The node's state when a report is asked for. */
export interface NodeReport {
  readonly id: NodeId;
  readonly raft: Status;
  /** Index of the last entry the state machine applied. */
  readonly applied: number;
  readonly addresses: ReadonlyMap<NodeId, PeerAddress>;
  /** The transport's view of the link to a peer; undefined when it keeps none. */
  readonly link: (peer: NodeId) => PeerLinkStats | undefined;
  /** The node stopped taking part (its log failed). */
  readonly failed: boolean;
  readonly forwardedWrites: number;
  readonly earlyAckedWrites: number;
  readonly leaderChanges: number;
  readonly snapshotIndex: number;
  readonly logFirstIndex: number;
  readonly snapshotsTaken: number;
  readonly snapshotsInstalled: number;
  /** Wall clock, Unix ms, for "last heard from" ages. */
  readonly nowMs: number;
}

/** INFO replication fields (Redis's names where they fit, `raft_*` for the rest). */
export function replicationFields(r: NodeReport): InfoField[] {
  const st = r.raft;
  const leading = st.role === 'leader';
  const fields: InfoField[] = [['role', leading ? 'master' : 'slave']];
  if (!leading) {
    const leader = st.leaderId === null ? undefined : r.addresses.get(st.leaderId);
    const up = leader !== undefined && linkState(r, leader.id) === 'connected';
    fields.push(['master_host', leader?.host ?? '?'], ['master_port', leader?.port ?? 0], ['master_link_status', up ? 'up' : 'down']);
  }
  const followers = [...st.progress].filter(([id]) => id !== r.id);
  fields.push(['connected_slaves', followers.length]);
  followers.forEach(([id, pr], k) => {
    const a = r.addresses.get(id);
    fields.push([`slave${k}`, `id=${id},ip=${a?.host ?? '?'},port=${a?.port ?? 0},state=${pr.state},match=${pr.match},lag=${st.lastIndex - pr.match}`]);
  });
  fields.push(
    ['raft_node_id', r.id],
    ['raft_role', st.role],
    ['raft_leader_id', st.leaderId ?? ''],
    ['raft_term', st.term],
    ['raft_commit_index', st.commit],
    ['raft_applied_index', r.applied],
    ['raft_last_index', st.lastIndex],
    ['raft_voters', st.conf.voters.join(',')],
    ['raft_learners', st.conf.learners.join(',')],
    ['raft_forwarded_writes', r.forwardedWrites],
    ['raft_early_acked_writes', r.earlyAckedWrites],
    ['raft_leader_changes', r.leaderChanges],
    ['raft_snapshot_index', r.snapshotIndex],
    ['raft_log_first_index', r.logFirstIndex],
    ['raft_snapshots_taken', r.snapshotsTaken],
    ['raft_snapshots_installed', r.snapshotsInstalled],
    ['master_repl_offset', r.applied],
  );
  peerLinkFields(r, fields);
  return fields;
}

/** One `raft_peerK` line per other member: the transport's counters, to see batching and loss. */
function peerLinkFields(r: NodeReport, fields: InfoField[]): void {
  let k = 0;
  for (const id of r.raft.conf.voters.concat(r.raft.conf.learners)) {
    if (id === r.id) continue;
    const l = r.link(id);
    if (l === undefined) continue;
    const ago = l.lastContactMs === 0 ? -1 : Math.max(0, r.nowMs - l.lastContactMs);
    fields.push([
      `raft_peer${k++}`,
      `id=${id},link=${l.connected ? 'up' : 'down'},last_contact_ms_ago=${ago},msgs_sent=${l.messagesSent},bytes_sent=${l.bytesSent},` +
        `socket_writes=${l.socketWrites},msgs_received=${l.messagesReceived},bytes_received=${l.bytesReceived},` +
        `drops=${l.drops},reconnects=${l.reconnects},queue_bytes=${l.queueBytes}`,
    ]);
  }
}

/** CLUSTER INFO text. */
export function clusterInfoText(r: NodeReport): string {
  const st = r.raft;
  const lines: InfoField[] = [
    ['cluster_enabled', 1],
    ['cluster_state', st.leaderId === null || r.failed ? 'fail' : 'ok'],
    ['cluster_known_nodes', st.conf.voters.length + st.conf.learners.length],
    ['cluster_size', st.conf.voters.length],
    ['cluster_current_epoch', st.term],
    ['cluster_my_epoch', st.term],
    ['raft_node_id', r.id],
    ['raft_role', st.role],
    ['raft_leader_id', st.leaderId ?? ''],
    ['raft_commit_index', st.commit],
    ['raft_applied_index', r.applied],
    ['raft_last_index', st.lastIndex],
  ];
  return lines.map(([k, v]) => `${k}:${v}\r\n`).join('');
}

/**
 * CLUSTER NODES, one line per member in Redis's layout
 * (`id addr@peerport flags leader-id ping-sent pong-recv epoch link-state`) followed by
 * Raft fields; match and lag are known on the leader only.
 */
export function clusterNodesText(r: NodeReport): string {
  const st = r.raft;
  const members = [...st.conf.voters.map((id) => [id, 'voter'] as const), ...st.conf.learners.map((id) => [id, 'learner'] as const)];
  let out = '';
  for (const [id, kind] of members) {
    const a = r.addresses.get(id);
    const flags: string[] = [];
    if (id === r.id) flags.push('myself');
    flags.push(id === st.leaderId ? 'leader' : kind === 'learner' ? 'learner' : 'follower');
    const pr = st.progress.get(id);
    const raft = [`term=${st.term}`];
    if (id === r.id) raft.push(`commit=${st.commit}`, `applied=${r.applied}`, `last=${st.lastIndex}`);
    if (pr !== undefined) raft.push(`match=${pr.match}`, `lag=${st.lastIndex - pr.match}`);
    const addr = a === undefined ? ':0@0' : `${a.host}:${a.port}@${a.peerPort}`;
    out += `${id} ${addr} ${flags.join(',')} ${st.leaderId ?? '-'} 0 0 ${st.term} ${linkState(r, id)} ${raft.join(' ')}\n`;
  }
  return out;
}

/**
 * A member's link as CLUSTER NODES shows it. Followers talk only to the leader, so
 * between two followers an idle link is normal and shown as `idle`, not as a failure.
 */
function linkState(r: NodeReport, id: NodeId): string {
  if (id === r.id) return 'connected';
  const stats = r.link(id);
  if (stats === undefined || stats.connected) return 'connected';
  return r.raft.role === 'leader' || id === r.raft.leaderId ? 'disconnected' : 'idle';
}
