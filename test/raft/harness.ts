// A tiny synchronous network for interaction tests: every message is delivered
// in order unless a filter drops it. Tests read as scripts: tick this, deliver,
// expect that.
import assert from 'node:assert/strict';
import { MemoryLog } from '../../src/raft/storage.js';
import { RaftNode, defaultRaftConfig } from '../../src/raft/raft.js';
import type { RaftConfig } from '../../src/raft/raft.js';
import { SeededRandom } from '../../src/raft/rand.js';
import type { Entry, Message, NodeId, ReadState, Snapshot } from '../../src/raft/types.js';

export interface TestNode {
  node: RaftNode;
  storage: MemoryLog;
  applied: Entry[];
  readStates: ReadState[];
  installed: Snapshot[];
}

export type Filter = (m: Message) => boolean;

export class Net {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages produced but not yet delivered. */
  pending: Message[] = [];
  /** Every message ever produced, for assertions. */
  sent: Message[] = [];
  private drop: Filter = () => false;
  private readonly overrides: Partial<RaftConfig>;

  constructor(ids: readonly NodeId[], overrides: Partial<RaftConfig> = {}, seed = 1) {
    this.overrides = overrides;
    let s = seed;
    for (const id of ids) this.add(id, MemoryLog.bootstrap(ids), s++);
  }

  add(id: NodeId, storage: MemoryLog, seed = 99): TestNode {
    const cfg: RaftConfig = { ...defaultRaftConfig(id, new SeededRandom(seed)), ...this.overrides };
    const tn: TestNode = { node: new RaftNode(cfg, storage), storage, applied: [], readStates: [], installed: [] };
    this.nodes.set(id, tn);
    return tn;
  }

  /** Simulate a crash and restart from what was persisted. */
  restart(id: NodeId, seed = 77): TestNode {
    const old = this.get(id);
    return this.add(id, old.storage, seed);
  }

  get(id: NodeId): TestNode {
    const tn = this.nodes.get(id);
    assert.ok(tn !== undefined, `no node ${id}`);
    return tn;
  }

  raft(id: NodeId): RaftNode {
    return this.get(id).node;
  }

  setDrop(f: Filter): void {
    this.drop = f;
  }

  /** Cut every link touching `id`. */
  isolate(...ids: NodeId[]): void {
    this.drop = (m) => ids.includes(m.from) || ids.includes(m.to);
  }

  heal(): void {
    this.drop = () => false;
  }

  /** Persist, collect messages, apply and advance every node's Ready. */
  processReady(): void {
    for (const tn of this.nodes.values()) {
      while (tn.node.hasReady()) {
        const rd = tn.node.ready();
        if (rd.snapshotToInstall !== null) {
          tn.storage.installSnapshot(rd.snapshotToInstall);
          tn.installed.push(rd.snapshotToInstall);
        }
        tn.storage.append(rd.entriesToPersist);
        if (rd.hardState !== null) tn.storage.setHardState(rd.hardState);
        for (const m of rd.messages) {
          this.sent.push(m);
          this.pending.push(m);
        }
        for (const e of rd.committedEntries) tn.applied.push(e);
        for (const r of rd.readStates) tn.readStates.push(r);
        tn.node.advance(rd);
      }
    }
  }

  /** Deliver until quiet (bounded so a livelock fails the test instead of hanging). */
  deliver(maxRounds = 1000): void {
    this.processReady();
    for (let round = 0; round < maxRounds && this.pending.length > 0; round++) {
      const batch = this.pending;
      this.pending = [];
      for (const m of batch) {
        if (this.drop(m)) continue;
        const to = this.nodes.get(m.to);
        if (to === undefined) continue;
        to.node.step(m);
      }
      this.processReady();
    }
    assert.equal(this.pending.length, 0, 'network did not quiesce');
  }

  /** Drop everything in flight. */
  discard(): void {
    this.processReady();
    this.pending = [];
  }

  tick(id: NodeId, n = 1): void {
    for (let i = 0; i < n; i++) this.raft(id).tick();
  }

  tickAll(n = 1): void {
    for (let i = 0; i < n; i++) {
      for (const tn of this.nodes.values()) tn.node.tick();
      this.deliver();
    }
  }

  /** Make `id` time out and run the election to completion. */
  elect(id: NodeId): void {
    const r = this.raft(id);
    for (let i = 0; i < 100 && r.status().role !== 'leader'; i++) {
      r.tick();
      this.deliver();
    }
    assert.equal(r.status().role, 'leader', `${id} failed to become leader`);
  }

  leaders(): NodeId[] {
    return [...this.nodes.entries()].filter(([, tn]) => tn.node.status().role === 'leader').map(([id]) => id);
  }

  /** Messages sent since `mark` matching type. */
  sentOfType<T extends Message['type']>(type: T, since = 0): (Message & { type: T })[] {
    return this.sent.slice(since).filter((m): m is Message & { type: T } => m.type === type);
  }
}

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Payloads of applied normal, non-empty entries. */
export function appliedData(tn: TestNode): string[] {
  return tn.applied.filter((e) => e.type === 'normal' && e.data.byteLength > 0).map((e) => dec(e.data));
}
