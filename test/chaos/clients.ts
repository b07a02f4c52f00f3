// The concurrent clients of a run. Each worker slot runs one operation at a time on one
// connection at its consistency level. When an operation's outcome is unknown (timeout,
// dropped connection) the worker abandons that connection and continues as a new
// process on the next node, as Jepsen's clients do, so a process never has two
// operations in flight.

import { KeyMeshClient } from '../../src/client/client.js';
import { SeededRandom } from '../../src/raft/rand.js';
import type { Level, Workload } from './history.js';
import type { ChaosNetwork } from './net/network.js';
import type { Recorder } from './recorder.js';
import { planOp, recordOf, type OpResult, type PlannedOp } from './workload.js';

export interface ClientOptions {
  readonly clients: number;
  readonly levels: readonly Level[];
  readonly workloads: readonly Workload[];
  readonly nodes: readonly string[];
  readonly opTimeoutMs: number;
  /** Mean pause between one worker's operations. */
  readonly thinkMs: number;
  readonly seed: number;
}

const connectTimeoutMs = 1000;

/** Sends one command and waits at most timeoutMs; a timeout leaves the connection unusable. */
export async function callWithTimeout(c: KeyMeshClient, argv: readonly string[], timeoutMs: number): Promise<OpResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<OpResult>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'lost', why: `timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  const reply = c.call(...argv).then(
    (value): OpResult => ({ kind: 'reply', value }),
    (err: unknown): OpResult => ({ kind: 'lost', why: `connection lost: ${err instanceof Error ? err.message : String(err)}` }),
  );
  try {
    return await Promise.race([reply, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export class ClientPool {
  private stopping = false;
  private nextProcess = 0;
  private readonly workers: Promise<void>[] = [];
  /** Every key an operation touched, for the final reads. */
  readonly keys = new Map<string, Workload>();

  constructor(
    private readonly opts: ClientOptions,
    private readonly net: ChaosNetwork,
    private readonly rec: Recorder,
  ) {}

  start(): void {
    for (let slot = 0; slot < this.opts.clients; slot++) this.workers.push(this.worker(slot));
  }

  /** Stops issuing operations and waits for those in flight (each bounded by its timeout). */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.workers);
  }

  private async worker(slot: number): Promise<void> {
    const o = this.opts;
    const rng = new SeededRandom((o.seed * 1000 + slot) >>> 0);
    const level = o.levels[slot % o.levels.length]!;
    let nodeIndex = slot % o.nodes.length;
    let conn: KeyMeshClient | null = null;
    let proc = this.nextProcess++;
    let seq = 0;
    const abandon = (): void => {
      conn?.destroy();
      conn = null;
      proc = this.nextProcess++;
      nodeIndex = (nodeIndex + 1) % o.nodes.length;
    };
    while (!this.stopping) {
      const node = o.nodes[nodeIndex]!;
      if (conn === null) {
        conn = await this.connect(node, level);
        if (conn === null) {
          nodeIndex = (nodeIndex + 1) % o.nodes.length;
          await sleep(100);
          continue;
        }
      }
      const plan: PlannedOp = planOp(o.workloads, rng, this.rec.now(), `${slot}.${seq++}`);
      if (!this.keys.has(plan.key)) this.keys.set(plan.key, plan.workload);
      const invokeMs = this.rec.now();
      const r = await callWithTimeout(conn, plan.argv, o.opTimeoutMs);
      const completeMs = this.rec.now();
      this.rec.op(recordOf(plan, { process: proc, client: slot, node, level, invokeMs, completeMs }, r));
      if (r.kind === 'lost') abandon();
      await sleep(rng.intBelow(2 * o.thinkMs + 1));
    }
    conn?.destroy();
  }

  private async connect(node: string, level: Level): Promise<KeyMeshClient | null> {
    const { host, port } = this.net.clientAddress(node);
    let c: KeyMeshClient;
    try {
      c = await KeyMeshClient.connect({ host, port, timeoutMs: connectTimeoutMs });
    } catch {
      return null;
    }
    const r = await callWithTimeout(c, ['CONSISTENCY', level], connectTimeoutMs);
    if (r.kind === 'reply' && r.value.type === 'string') return c;
    c.destroy();
    return null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
