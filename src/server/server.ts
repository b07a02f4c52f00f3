// A KeyMesh node's client-facing server: the listener, the client registry, the
// background cron (active expiry, idle timeouts), and the services commands may use.

import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Logger } from 'pino';
import { Keyspace } from '../keyspace/database.js';
import { buildCommandTable } from '../commands/table.js';
import type { CommandSpec } from '../commands/types.js';
import { StateMachine } from '../cluster/state-machine.js';
import { ImmediateWritePath, type WritePath } from '../cluster/write-path.js';
import { Expirer } from '../cluster/expirer.js';
import { Persistence } from '../cluster/persistence.js';
import type { FsyncPolicy } from '../cluster/durable-write-path.js';
import type { WalFileSystem } from '../storage/wal.js';
import type { ClusterNode, ConsistencyLevel } from '../cluster/raft-node.js';
import type { PeerAddress } from '../cluster/node/peers.js';
import type { PeerNetwork } from '../cluster/node/network.js';
import type { DecoderLimits } from '../protocol/decoder.js';
import { Config } from './config.js';
import type { ClientState } from './client-state.js';
import { Connection } from './connection.js';
import { Dispatcher } from './dispatch.js';
import { ServerStats, usedMemoryBytes, type InfoProvider, type NodeServices, type PersistenceControl } from './services.js';
import { createLogger } from './log.js';
import { VERSION } from '../version.js';

export interface ServerOptions {
  config?: Config;
  log?: Logger;
  /** Wall clock, Unix ms; tests inject one to control expiry. */
  clock?: () => number;
  /** Called when a client runs SHUTDOWN (the CLI exits the process). */
  onShutdown?: () => void;
  /** Log file operations; tests inject failures (disk full) here. */
  walFs?: WalFileSystem;
  /** Carries Raft traffic when `peers` is set; tests pass an in-process network. */
  peerNetwork?: (self: PeerAddress, peers: readonly PeerAddress[]) => PeerNetwork;
}

/** Share of each cron period active expiry may use (Redis: 25% in its slow cycle). */
const activeExpireBudgetShare = 0.25;

export class Server implements NodeServices {
  readonly config: Config;
  readonly log: Logger;
  readonly stats = new ServerStats();
  readonly keyspace: Keyspace;
  readonly commands: ReadonlyMap<string, CommandSpec>;
  readonly stateMachine: StateMachine;
  writePath: WritePath;
  readonly expirer: Expirer;
  readonly dispatcher: Dispatcher;
  readonly clients = new Map<number, ClientState>();
  readonly connections = new Map<number, Connection>();
  readonly infoProviders = new Map<string, InfoProvider>();
  readonly runId = randomBytes(20).toString('hex');
  readonly version = VERSION;
  readonly startTimeMs: number;
  readonly clock: () => number;
  tcpPort = 0;
  /** The disk side of the node (the Raft node in a cluster); null when running memory-only. */
  persistence: (PersistenceControl & { close(): Promise<void> }) | null = null;
  /** The Raft node when running in a cluster (`peers` set); null for a single node. */
  cluster: ClusterNode | null = null;
  private readonly peerNetwork: ServerOptions['peerNetwork'];
  private readonly listener: net.Server;
  private nextClientId = 1;
  private cron: NodeJS.Timeout | undefined;
  private readonly onShutdown: () => void;
  private readonly walFs: WalFileSystem | undefined;
  private closing = false;
  private clockOffsetMs: number;

  constructor(opts: ServerOptions = {}) {
    this.config = opts.config ?? new Config();
    this.log = opts.log ?? createLogger(this.config.str('loglevel'));
    const wallClock = opts.clock ?? Date.now;
    this.clockOffsetMs = this.config.int('clock-offset-ms');
    this.clock = () => wallClock() + this.clockOffsetMs;
    this.onShutdown = opts.onShutdown ?? (() => void this.close());
    this.walFs = opts.walFs;
    this.peerNetwork = opts.peerNetwork;
    this.startTimeMs = this.clock();
    this.keyspace = new Keyspace(this.config.int('databases'));
    this.commands = buildCommandTable();
    this.stateMachine = new StateMachine(this.keyspace, this.commands);
    this.writePath = new ImmediateWritePath(this.stateMachine);
    this.expirer = new Expirer(this.keyspace, { propose: (c, s) => this.writePath.propose(c, s) }, this.clock);
    this.dispatcher = new Dispatcher(this.commands, this.stats, () => this.config.str('requirepass') !== '');
    this.listener = net.createServer({ noDelay: true, allowHalfOpen: true }, this.onConnection);
    this.config.onChange = (name) => {
      if (name === 'hz' && this.cron !== undefined) this.startCron();
      if (name === 'clock-offset-ms') this.clockOffsetMs = this.config.int(name);
    };
  }

  decoderLimits(): Partial<DecoderLimits> {
    return {
      maxBulkBytes: this.config.int('proto-max-bulk-len'),
      maxQueryBufferBytes: this.config.int('client-query-buffer-limit'),
    };
  }

  get appliedIndex(): number {
    return this.stateMachine.appliedIndex;
  }

  get outputLimitBytes(): number {
    return this.config.int('client-output-buffer-limit-bytes');
  }

  /** Recovers data from disk (when persistence is on), then listens. Returns the bound port. */
  async start(): Promise<number> {
    if (this.config.str('peers') !== '') await this.openCluster();
    else if (this.config.bool('persistence')) await this.openPersistence();
    return this.listen();
  }

  private async openPersistence(): Promise<void> {
    const config = this.config;
    const p = await Persistence.open(this.stateMachine, {
      dir: config.str('dir'),
      fsync: () => config.str('appendfsync') as FsyncPolicy,
      snapshotThresholdBytes: () => config.int('snapshot-threshold'),
      repair: config.bool('repair-log'),
      log: this.log,
      clock: this.clock,
      ...(this.walFs ? { walFs: this.walFs } : {}),
    });
    this.persistence = p;
    this.writePath = p.writePath;
    this.infoProviders.set('persistence', () => p.info());
    this.expirer.sweepAll();
  }

  /** Joins the cluster named by `peers`: the Raft log replaces the single-node durable path. */
  private async openCluster(): Promise<void> {
    const config = this.config;
    // Loaded here, not at the top: a single node starts without the Raft and transport code.
    const [{ ClusterNode }, { parsePeers }, { TransportNetwork }] = await Promise.all([
      import('../cluster/raft-node.js'),
      import('../cluster/node/peers.js'),
      import('../cluster/node/network.js'),
    ]);
    const peers = parsePeers(config.str('peers'));
    const id = config.str('node-id');
    const self = peers.find((p) => p.id === id);
    if (self === undefined) throw new Error(`node-id '${id}' is not in peers (${peers.map((p) => p.id).join(', ')})`);
    if (!config.bool('persistence')) throw new Error('a cluster node needs persistence (its Raft log lives in the data directory)');
    const node = await ClusterNode.open({
      self,
      peers,
      dir: config.str('dir'),
      fsync: () => config.str('appendfsync') as FsyncPolicy,
      repair: config.bool('repair-log'),
      tickMs: config.int('cluster-tick-ms'),
      leaseReads: config.bool('cluster-lease-reads'),
      join: config.bool('cluster-join'),
      snapshotThresholdBytes: () => config.int('snapshot-threshold'),
      defaultConsistency: () => config.str('consistency') as ConsistencyLevel,
      sm: this.stateMachine,
      expirer: this.expirer,
      network: this.peerNetwork?.(self, peers) ?? new TransportNetwork(self, peers, this.log, config.str('cluster-secret')),
      log: this.log,
      clock: this.clock,
      ...(this.walFs ? { walFs: this.walFs } : {}),
    });
    this.cluster = node;
    this.persistence = node;
    this.writePath = node;
    this.infoProviders.set('replication', () => node.info());
    this.infoProviders.set('cluster', () => [['cluster_enabled', 1]]);
  }

  async listen(): Promise<number> {
    this.listener.listen(this.config.int('port'), this.config.str('bind'));
    await once(this.listener, 'listening');
    const addr = this.listener.address();
    this.tcpPort = typeof addr === 'object' && addr !== null ? addr.port : this.config.int('port');
    this.startCron();
    this.log.info({ port: this.tcpPort, bind: this.config.str('bind') }, 'ready to accept connections');
    return this.tcpPort;
  }

  private startCron(): void {
    if (this.cron !== undefined) clearInterval(this.cron);
    const periodMs = 1000 / this.config.int('hz');
    this.cron = setInterval(() => this.cronTick(periodMs), periodMs);
    this.cron.unref();
  }

  /** Background work at `hz`: bounded active expiry and idle-client timeouts, as Redis's serverCron. */
  private cronTick(periodMs: number): void {
    this.expirer.cycle(periodMs * activeExpireBudgetShare, this.config.int('active-expire-effort'));
    this.stats.sampleInstantaneous(this.clock(), usedMemoryBytes());
    const timeoutS = this.config.int('timeout');
    if (timeoutS > 0) {
      const now = this.clock();
      for (const conn of this.connections.values()) {
        if (now - conn.client.lastInteractionMs > timeoutS * 1000) conn.destroy();
      }
    }
  }

  private readonly onConnection = (socket: net.Socket): void => {
    this.stats.totalConnectionsReceived++;
    if (this.closing || this.connections.size >= this.config.int('maxclients')) {
      this.stats.rejectedConnections++;
      socket.end('-ERR max number of clients reached\r\n');
      return;
    }
    const conn = new Connection(this, socket, this.nextClientId++);
    this.connections.set(conn.client.id, conn);
    this.clients.set(conn.client.id, conn.client);
  };

  removeConnection(conn: Connection): void {
    this.connections.delete(conn.client.id);
    this.clients.delete(conn.client.id);
  }

  killClient(id: number): boolean {
    const conn = this.connections.get(id);
    if (conn === undefined) return false;
    conn.client.closeAfterReply = true;
    // Killing oneself is answered first (Redis replies OK, then closes).
    setImmediate(() => conn.close());
    return true;
  }

  shutdown(): void {
    this.log.warn('user requested shutdown');
    this.onShutdown();
  }

  sleep(ms: number): void {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  }

  /** Stops listening, closes every client, stops timers. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.cron !== undefined) clearInterval(this.cron);
    const closed = new Promise<void>((resolve) => this.listener.close(() => resolve()));
    for (const conn of this.connections.values()) conn.close();
    for (const conn of this.connections.values()) conn.destroy();
    await closed;
    await this.persistence?.close();
    await this.cluster?.close();
  }
}
