// The real KeyMesh processes of a chaos run: start, kill -9, restart on the same data,
// freeze and thaw, and set a node's clock offset. A node that exits without being
// killed by us has crashed: that is a finding, kept for the verdict.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { KeyMeshClient } from '../../src/client/client.js';
import { keymeshBin } from '../helpers/process.js';
import { callWithTimeout } from './clients.js';
import type { ChaosNetwork } from './net/network.js';

export type NodeState = 'up' | 'killed' | 'paused';

const readyTimeoutMs = 30_000;
const stopTimeoutMs = 5_000;
const configTimeoutMs = 3_000;

class ChaosNode {
  child: ChildProcess | null = null;
  private nodeState: NodeState = 'killed';
  /** Waiting for a frozen node to run again, or to go down. */
  private thawWaiters: (() => void)[] = [];
  clockOffsetMs = 0;
  /** Set while we expect the process to exit (kill, stop). */
  expectingExit = false;
  /** Resolves once a (re)started process answers PING; null while none is starting. */
  starting: Promise<void> | null = null;
  readonly log: WriteStream;

  constructor(
    readonly id: string,
    readonly dir: string,
    logPath: string,
  ) {
    this.log = createWriteStream(logPath, { flags: 'a' });
  }

  get state(): NodeState {
    return this.nodeState;
  }

  set state(s: NodeState) {
    this.nodeState = s;
    if (s !== 'paused') for (const wake of this.thawWaiters.splice(0)) wake();
  }

  /** Resolves once the node is not frozen. */
  thawed(): Promise<void> {
    return this.nodeState === 'paused' ? new Promise((resolve) => this.thawWaiters.push(resolve)) : Promise.resolve();
  }
}

export interface ClusterOptions {
  readonly tickMs: number;
  readonly leaseReads: boolean;
  /** Extra `keymesh server` arguments for every node. */
  readonly extraArgs: readonly string[];
}

export class ChaosCluster {
  private readonly nodes = new Map<string, ChaosNode>();
  /** Crashes: nodes that exited on their own, with how. */
  readonly crashes: string[] = [];

  constructor(
    readonly ids: readonly string[],
    private readonly net: ChaosNetwork,
    outDir: string,
    private readonly opts: ClusterOptions,
  ) {
    mkdirSync(join(outDir, 'logs'), { recursive: true });
    for (const id of ids) {
      const dir = join(outDir, 'data', id);
      mkdirSync(dir, { recursive: true });
      this.nodes.set(id, new ChaosNode(id, dir, join(outDir, 'logs', `${id}.log`)));
    }
  }

  state(id: string): NodeState {
    return this.node(id).state;
  }

  upNodes(): string[] {
    return this.ids.filter((id) => this.node(id).state === 'up');
  }

  async start(): Promise<void> {
    for (const id of this.ids) this.spawn(this.node(id));
    await Promise.all(this.ids.map((id) => this.waitReady(id)));
  }

  kill(id: string): Promise<void> {
    const n = this.node(id);
    assert.notEqual(n.state, 'killed', `${id} is already down`);
    n.expectingExit = true;
    const exited = this.exitOf(n);
    n.child!.kill('SIGKILL');
    n.state = 'killed';
    return exited;
  }

  async restart(id: string): Promise<void> {
    const n = this.node(id);
    assert.equal(n.state, 'killed', `${id} is running`);
    this.spawn(n);
    n.starting = this.waitReady(id);
    try {
      await n.starting;
    } finally {
      n.starting = null;
    }
  }

  pause(id: string): void {
    const n = this.node(id);
    assert.equal(n.state, 'up');
    n.child!.kill('SIGSTOP');
    n.state = 'paused';
  }

  resume(id: string): void {
    const n = this.node(id);
    assert.equal(n.state, 'paused');
    n.child!.kill('SIGCONT');
    n.state = 'up';
  }

  /** Moves a node's wall clock by `ms` (CONFIG SET clock-offset-ms); remembered across restarts. */
  async setClockOffset(id: string, ms: number): Promise<void> {
    const n = this.node(id);
    n.clockOffsetMs = ms;
    // Returns only once the node runs with the offset, or is down and starts with it.
    for (;;) {
      // A node still starting was spawned with the offset it had then: set this one once it listens.
      if (n.starting !== null) await n.starting.catch(() => {});
      // A frozen node cannot take it, yet keeps the old offset once thawed: wait for the thaw.
      else if (n.state === 'paused') await n.thawed();
      else if (n.state !== 'up' || n.clockOffsetMs !== ms) return; // the next start applies it
      else {
        const child = n.child;
        try {
          await this.configSet(id, 'clock-offset-ms', String(ms));
          return;
        } catch (err) {
          // Another fault hit the node meanwhile (the loops run concurrently): frozen, it
          // is tried again once thawed; killed or restarted, a start applies the offset.
          if (n.state === 'up' && n.child === child) throw err;
        }
      }
    }
  }

  clockOffset(id: string): number {
    return this.node(id).clockOffsetMs;
  }

  /** Thaws, restarts and re-clocks every node so the cluster can settle. */
  async healAll(): Promise<void> {
    for (const n of this.nodes.values()) if (n.state === 'paused') this.resume(n.id);
    await Promise.all([...this.nodes.values()].filter((n) => n.state === 'killed').map((n) => this.restart(n.id)));
    await Promise.all([...this.nodes.values()].map((n) => this.setClockOffset(n.id, 0)));
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        if (n.child !== null && n.state !== 'killed') {
          n.expectingExit = true;
          const exited = this.exitOf(n);
          n.child.kill('SIGCONT');
          n.child.kill('SIGTERM');
          const t = setTimeout(() => n.child?.kill('SIGKILL'), stopTimeoutMs);
          await exited;
          clearTimeout(t);
          n.state = 'killed';
        }
        await new Promise<void>((r) => n.log.end(r));
      }),
    );
  }

  private node(id: string): ChaosNode {
    const n = this.nodes.get(id);
    assert.ok(n !== undefined, `no node ${id}`);
    return n;
  }

  private spawn(n: ChaosNode): void {
    const args = [
      keymeshBin,
      'server',
      '--node-id',
      n.id,
      '--port',
      String(this.net.clientPort(n.id)),
      '--bind',
      this.net.bindHost(n.id),
      '--data-dir',
      n.dir,
      '--peers',
      this.net.peersArg(n.id),
      '--cluster-tick-ms',
      String(this.opts.tickMs),
      '--clock-offset-ms',
      String(n.clockOffsetMs),
      // The clock nemesis moves clocks with CONFIG SET, possibly over a netns address.
      '--enable-protected-configs',
      'yes',
      // Every reconnection after a kill or a partition goes through the authenticated handshake.
      '--cluster-secret',
      'chaos',
      ...(this.opts.leaseReads ? ['--cluster-lease-reads', 'yes'] : []),
      ...this.opts.extraArgs,
    ];
    const prefix = this.net.spawnPrefix(n.id);
    const [cmd, ...rest] = prefix.length > 0 ? [...prefix, process.execPath, ...args] : [process.execPath, ...args];
    n.log.write(`--- ${new Date().toISOString()} start: ${[cmd, ...rest].join(' ')}\n`);
    const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
    n.child = child;
    n.state = 'up';
    n.expectingExit = false;
    child.stdout!.pipe(n.log, { end: false });
    child.stderr!.pipe(n.log, { end: false });
    child.on('exit', (code, signal) => {
      if (n.child !== child) return;
      n.log.write(`--- ${new Date().toISOString()} exited: ${signal ?? `code ${code}`}\n`);
      if (!n.expectingExit) {
        this.crashes.push(`${n.id} exited on its own (${signal ?? `code ${code}`}); see logs/${n.id}.log`);
        n.state = 'killed';
      }
    });
  }

  private exitOf(n: ChaosNode): Promise<void> {
    const child = n.child!;
    if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once('exit', () => resolve()));
  }

  private async waitReady(id: string): Promise<void> {
    const n = this.node(id);
    const deadline = performance.now() + readyTimeoutMs;
    const { host, port } = this.net.clientAddress(id);
    while (performance.now() < deadline) {
      if (n.state !== 'up') throw new Error(`${id} exited while starting; see logs/${id}.log`);
      try {
        const c = await KeyMeshClient.connect({ host, port, timeoutMs: 500 });
        try {
          const v = await c.call('PING');
          if (v.type === 'string') return;
        } finally {
          c.destroy();
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${id} did not answer PING within ${readyTimeoutMs} ms; see logs/${id}.log`);
  }

  private async configSet(id: string, name: string, value: string): Promise<void> {
    const { host, port } = this.net.clientAddress(id);
    const c = await KeyMeshClient.connect({ host, port, timeoutMs: 2000 });
    try {
      const r = await callWithTimeout(c, ['CONFIG', 'SET', name, value], configTimeoutMs);
      if (r.kind === 'lost') throw new Error(`${id}: CONFIG SET ${name} ${value}: ${r.why}`);
      const v = r.value;
      if (v.type === 'error') throw new Error(`${id}: CONFIG SET ${name} ${value}: ${v.message}`);
    } finally {
      c.destroy();
    }
  }
}
