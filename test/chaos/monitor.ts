// Watches who leads: asks every node for INFO replication a few times a second and
// records each change of (leader, term) a node reports. The nemesis reads the current
// leader from here, the eventual checker explains losses by leader changes, and the
// report draws the leader strip.

import { KeyMeshClient } from '../../src/client/client.js';
import { callWithTimeout, sleep } from './clients.js';
import type { ChaosNetwork } from './net/network.js';
import type { Recorder } from './recorder.js';

export interface NodeView {
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
}

const pollEveryMs = 200;
const pollTimeoutMs = 500;

export class LeaderMonitor {
  private stopped = false;
  private readonly loops: Promise<void>[] = [];
  private readonly views = new Map<string, NodeView>();

  constructor(
    private readonly ids: readonly string[],
    private readonly net: ChaosNetwork,
    private readonly rec: Recorder | null,
  ) {}

  start(): void {
    for (const id of this.ids) this.loops.push(this.watch(id));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }

  /** The leader of the highest term any node reported lately, or null. */
  leader(): string | null {
    let best: NodeView | null = null;
    for (const v of this.views.values()) if (v.leader !== null && (best === null || v.term > best.term)) best = v;
    return best?.leader ?? null;
  }

  /** One fresh look at a node, or null when it does not answer in time. */
  static async probe(net: ChaosNetwork, id: string): Promise<NodeView | null> {
    const { host, port } = net.clientAddress(id);
    let c: KeyMeshClient;
    try {
      c = await KeyMeshClient.connect({ host, port, timeoutMs: pollTimeoutMs });
    } catch {
      return null;
    }
    try {
      return await viewOf(c);
    } finally {
      c.destroy();
    }
  }

  private async watch(id: string): Promise<void> {
    let conn: KeyMeshClient | null = null;
    let last: NodeView | null = null;
    while (!this.stopped) {
      try {
        if (conn === null) {
          const { host, port } = this.net.clientAddress(id);
          conn = await KeyMeshClient.connect({ host, port, timeoutMs: pollTimeoutMs });
        }
        const v = await viewOf(conn);
        if (v === null) {
          conn.destroy();
          conn = null;
        } else {
          this.views.set(id, v);
          if (last === null || last.leader !== v.leader || last.term !== v.term) {
            this.rec?.leader({ node: id, leader: v.leader, term: v.term });
          }
          last = v;
        }
      } catch {
        conn?.destroy();
        conn = null;
      }
      await sleep(pollEveryMs);
    }
    conn?.destroy();
  }
}

async function viewOf(c: KeyMeshClient): Promise<NodeView | null> {
  const r = await callWithTimeout(c, ['INFO', 'replication'], pollTimeoutMs);
  if (r.kind !== 'reply' || r.value.type !== 'string') return null;
  const text = r.value.value.toString('latin1');
  const field = (name: string): string | undefined => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim();
  const leader = field('raft_leader_id');
  return {
    leader: leader === undefined || leader === '' ? null : leader,
    term: Number(field('raft_term') ?? 0),
    commit: Number(field('raft_commit_index') ?? 0),
    applied: Number(field('raft_applied_index') ?? 0),
  };
}
