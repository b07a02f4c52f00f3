// In-process clusters for the replication tests: real Servers on port 0 (clients use TCP),
// Raft traffic through an in-process hub, each node's data in its own temp directory.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { LocalHub } from '../../src/cluster/node/network.js';
import { Config, type SettingValue } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';

export interface TestNode {
  readonly id: string;
  readonly dir: string;
  server: Server | null;
  port: number;
}

export class TestCluster {
  readonly hub = new LocalHub();
  readonly nodes: TestNode[] = [];
  private readonly clients: Redis[] = [];
  readonly peers: string;

  constructor(
    n: number,
    private readonly settings: Record<string, SettingValue> = {},
  ) {
    const ids = Array.from({ length: n }, (_, k) => `n${k + 1}`);
    this.peers = ids.map((id, k) => `${id}@127.0.0.1:${7001 + k}`).join(',');
    for (const id of ids) this.nodes.push({ id, dir: mkdtempSync(join(tmpdir(), `keymesh-${id}-`)), server: null, port: 0 });
  }

  static async start(n: number, settings: Record<string, SettingValue> = {}): Promise<TestCluster> {
    const c = new TestCluster(n, settings);
    await Promise.all(c.nodes.map((node) => c.startNode(node.id)));
    return c;
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  /** A node that is not in the initial configuration; start it with `cluster-join`. */
  addNodeDir(id: string): TestNode {
    const node: TestNode = { id, dir: mkdtempSync(join(tmpdir(), `keymesh-${id}-`)), server: null, port: 0 };
    this.nodes.push(node);
    return node;
  }

  async startNode(id: string, extra: Record<string, SettingValue> = {}): Promise<Server> {
    const node = this.node(id);
    const peers = this.peers.includes(`${id}@`) ? this.peers : `${this.peers},${id}@127.0.0.1:7099`;
    const config = new Config({ port: 0, dir: node.dir, 'node-id': id, peers, 'cluster-tick-ms': 20, ...this.settings, ...extra });
    const server = new Server({ config, log: pino({ level: 'silent' }), onShutdown: () => {}, peerNetwork: (self) => this.hub.connect(self.id) });
    node.port = await server.start();
    node.server = server;
    this.hub.isolate(id, false);
    return server;
  }

  async stopNode(id: string): Promise<void> {
    const node = this.node(id);
    const s = node.server;
    node.server = null;
    await s?.close();
  }

  /** A client of node `id` (closed with the cluster). */
  client(id: string): Redis {
    const r = new Redis({ port: this.node(id).port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: false });
    r.on('error', () => {});
    this.clients.push(r);
    return r;
  }

  /** The id of the node that leads, once every running node agrees on one. */
  async leader(timeoutMs = 5000): Promise<string> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const running = this.nodes.filter((n) => n.server !== null);
      const leaders = running.filter((n) => n.server!.cluster!.role === 'leader');
      if (leaders.length === 1) {
        const id = leaders[0]!.id;
        if (running.every((n) => n.server!.cluster!.leaderId === id || this.hubCut(n.id))) return id;
      }
      await sleep(10);
    }
    throw new Error('no leader elected in time');
  }

  private readonly cut = new Set<string>();
  private hubCut(id: string): boolean {
    return this.cut.has(id);
  }

  isolate(id: string, cut: boolean): void {
    if (cut) this.cut.add(id);
    else this.cut.delete(id);
    this.hub.isolate(id, cut);
  }

  followers(leader: string): string[] {
    return this.nodes.filter((n) => n.id !== leader && n.server !== null).map((n) => n.id);
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.disconnect();
    await Promise.all(this.nodes.map((n) => this.stopNode(n.id)));
    for (const n of this.nodes) rmSync(n.dir, { recursive: true, force: true });
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await cond()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The error message of a rejected call, or the reply if it did not fail. */
export async function errorOf(p: Promise<unknown>): Promise<string> {
  try {
    return `no error: ${String(await p)}`;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}
