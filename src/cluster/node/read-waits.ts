// What a read waits for before it may run on this node (raft-node.ts's readGate):
//
// - AppliedWaits: until the state machine has applied up to an index (a `quorum`
//   connection's last observed index, or a confirmed read index).
// - ReadIndexRequests: a read index confirmed by the leader. Reads of one event-loop
//   turn share one request (one ReadIndex message, one heartbeat round on the leader);
//   a request refused while no leader is known is asked again when one appears or an
//   election timeout passes.
//
// Every wait ends: resolved, or with a CLUSTERDOWN text once its deadline passes
// (`expire`, driven by the node's tick) or the node closes (`abandon`).

import type { ReadState } from '../../raft/types.js';

interface AppliedWaiter {
  readonly index: number;
  readonly deadlineMs: number;
  readonly resolve: (err: string | null) => void;
}

export class AppliedWaits {
  private waiters: AppliedWaiter[] = [];

  constructor(
    /** The state machine's applied index. */
    private readonly applied: () => number,
    private readonly waitMs: number,
  ) {}

  get size(): number {
    return this.waiters.length;
  }

  /** Resolves to null once `index` is applied, or to an error text after `waitMs`. */
  wait(index: number, nowMs: number): Promise<string | null> {
    if (this.applied() >= index) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiters.push({ index, deadlineMs: nowMs + this.waitMs, resolve });
    });
  }

  /** Resolves the waits the applied index now covers; call after applying entries. */
  release(): void {
    if (this.waiters.length === 0) return;
    const applied = this.applied();
    const keep: AppliedWaiter[] = [];
    for (const w of this.waiters) {
      if (w.index <= applied) w.resolve(null);
      else keep.push(w);
    }
    this.waiters = keep;
  }

  expire(nowMs: number): void {
    if (this.waiters.length === 0) return;
    const keep: AppliedWaiter[] = [];
    for (const w of this.waiters) {
      if (nowMs < w.deadlineMs) keep.push(w);
      else w.resolve(`CLUSTERDOWN This node has not applied the log up to index ${w.index} within ${this.waitMs} ms (applied: ${this.applied()})`);
    }
    this.waiters = keep;
  }

  abandon(err: string): void {
    for (const w of this.waiters) w.resolve(err);
    this.waiters = [];
  }
}

interface ReadBatch {
  readonly ctx: string;
  readonly deadlineMs: number;
  retryAtMs: number;
  readonly waiters: ((r: number | string) => void)[];
}

export interface ReadIndexDeps {
  /** Prefixes request contexts, so they are unique across the cluster. */
  readonly nodeId: string;
  /** Hands a ReadIndex request to the Raft core (answered later through `serve`). */
  readonly request: (ctx: string) => void;
  readonly waitMs: number;
  /** How long an unanswered request waits before it is asked again (an election timeout). */
  readonly retryMs: number;
  readonly appliedWaits: AppliedWaits;
  /** Where the cluster stands, for the error text of a read that could not be confirmed. */
  readonly situation: () => string;
  readonly now: () => number;
}

export class ReadIndexRequests {
  private readonly batches = new Map<string, ReadBatch>();
  /** The batch still gathering this turn's reads; sent at the turn's end. */
  private open: ReadBatch | null = null;
  private seq = 0;

  constructor(private readonly deps: ReadIndexDeps) {}

  /** A read index confirmed by the leader and applied here, or an error text. */
  request(): Promise<number | string> {
    return new Promise((resolve) => {
      let b = this.open;
      if (b === null) {
        const batch: ReadBatch = { ctx: `${this.deps.nodeId}:${++this.seq}`, deadlineMs: this.deps.now() + this.deps.waitMs, retryAtMs: 0, waiters: [] };
        this.open = b = batch;
        this.batches.set(batch.ctx, batch);
        setImmediate(() => {
          this.open = null;
          if (this.batches.has(batch.ctx)) this.issue(batch, this.deps.now());
        });
      }
      b.waiters.push(resolve);
    });
  }

  private issue(b: ReadBatch, nowMs: number): void {
    b.retryAtMs = nowMs + this.deps.retryMs;
    // A refusal (no leader yet) is retried on the next leader change or timeout.
    this.deps.request(b.ctx);
  }

  /** The core's answers: each batch's waiters get its index once it is applied here. */
  serve(states: readonly ReadState[]): void {
    for (const rs of states) {
      const b = this.batches.get(rs.ctx);
      if (b === undefined) continue;
      this.batches.delete(rs.ctx);
      const index = rs.index;
      void this.deps.appliedWaits.wait(index, this.deps.now()).then((err) => {
        for (const w of b.waiters) w(err ?? index);
      });
    }
  }

  /** A leader appeared: requests it may not have seen are asked again at the next expire. */
  leaderKnown(): void {
    for (const b of this.batches.values()) b.retryAtMs = 0;
  }

  /** Fails requests past their deadline and asks again those due for a retry. */
  expire(nowMs: number): void {
    for (const b of this.batches.values()) {
      if (nowMs >= b.deadlineMs) {
        this.batches.delete(b.ctx);
        const err = `CLUSTERDOWN The read could not be confirmed with a leader within ${this.deps.waitMs} ms (${this.deps.situation()})`;
        for (const w of b.waiters) w(err);
      } else if (nowMs >= b.retryAtMs && this.open !== b) {
        this.issue(b, nowMs);
      }
    }
  }

  abandon(err: string): void {
    for (const b of this.batches.values()) for (const w of b.waiters) w(err);
    this.batches.clear();
    this.open = null;
  }
}
