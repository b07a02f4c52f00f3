// What commands may ask of the node beyond the keyspace: settings, statistics, the
// client registry, the command table, and control (shutdown). The server implements it;
// tests can provide a small fake.

import type { Config } from './config.js';
import type { ClientState } from './client-state.js';
import type { CommandSpec } from '../commands/types.js';
import type { ClusterNode } from '../cluster/raft-node.js';

/** Samples kept per instantaneous metric (Redis's STATS_METRIC_SAMPLES). */
const instantaneousSamples = 16;

/**
 * A rate averaged over the last few samples of a growing counter, as Redis's
 * trackInstantaneousMetric: smooth enough to read, recent enough to mean "now".
 */
export class InstantaneousMetric {
  private readonly samples = new Float64Array(instantaneousSamples);
  private next = 0;
  private lastReading = -1;
  private lastTimeMs = 0;

  /** Records `reading` (the counter's current value) taken at `nowMs`. */
  sample(reading: number, nowMs: number): void {
    if (this.lastReading >= 0 && nowMs > this.lastTimeMs) {
      const rate = ((reading - this.lastReading) * 1000) / (nowMs - this.lastTimeMs);
      this.samples[this.next] = Math.max(rate, 0);
      this.next = (this.next + 1) % instantaneousSamples;
    }
    this.lastReading = reading;
    this.lastTimeMs = nowMs;
  }

  /** Per-second rate, averaged over the ring. */
  get perSecond(): number {
    let sum = 0;
    for (let i = 0; i < instantaneousSamples; i++) sum += this.samples[i]!;
    return sum / instantaneousSamples;
  }

  reset(): void {
    this.samples.fill(0);
    this.lastReading = -1;
  }
}

/** Counters INFO reports; CONFIG RESETSTAT zeroes the resettable ones. */
export class ServerStats {
  totalConnectionsReceived = 0;
  totalCommandsProcessed = 0;
  rejectedConnections = 0;
  expiredKeys = 0;
  keyspaceHits = 0;
  keyspaceMisses = 0;
  netInputBytes = 0;
  netOutputBytes = 0;
  totalErrorReplies = 0;
  /** Per-command calls and microseconds, for INFO commandstats. */
  readonly commandCalls = new Map<string, { calls: number; usec: number; failed: number }>();
  /** Rates for INFO's instantaneous_* fields; fed by `sampleInstantaneous` from the server cron. */
  readonly opsPerSec = new InstantaneousMetric();
  readonly inputBytesPerSec = new InstantaneousMetric();
  readonly outputBytesPerSec = new InstantaneousMetric();
  /** Highest memory use seen by a sample or INFO (used_memory_peak). */
  peakMemoryBytes = 0;

  /** Takes one sample of the rates (Redis does it every 100 ms) and of memory use. */
  sampleInstantaneous(nowMs: number, memoryBytes: number): void {
    this.opsPerSec.sample(this.totalCommandsProcessed, nowMs);
    this.inputBytesPerSec.sample(this.netInputBytes, nowMs);
    this.outputBytesPerSec.sample(this.netOutputBytes, nowMs);
    if (memoryBytes > this.peakMemoryBytes) this.peakMemoryBytes = memoryBytes;
  }

  reset(): void {
    this.totalConnectionsReceived = 0;
    this.totalCommandsProcessed = 0;
    this.rejectedConnections = 0;
    this.expiredKeys = 0;
    this.keyspaceHits = 0;
    this.keyspaceMisses = 0;
    this.netInputBytes = 0;
    this.netOutputBytes = 0;
    this.totalErrorReplies = 0;
    this.commandCalls.clear();
    this.opsPerSec.reset();
    this.inputBytesPerSec.reset();
    this.outputBytesPerSec.reset();
    this.peakMemoryBytes = 0;
  }
}

/** INFO used_memory: what V8 holds for JS objects plus Buffers outside its heap. */
export function usedMemoryBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
}

/** One section of INFO as name/value lines, contributed by a subsystem (e.g. persistence). */
export type InfoProvider = () => [string, string | number][];

/** What SAVE, BGSAVE, LASTSAVE and SHUTDOWN need of the disk side. */
export interface PersistenceControl {
  /** Takes a snapshot; resolves when it is on disk (joins one already running). */
  snapshot(): Promise<void>;
  readonly snapshotInProgress: boolean;
  /** Unix ms of the last successful snapshot, or of start-up. */
  readonly lastSaveMs: number;
}

export interface NodeServices {
  /** The disk side; null when the node runs memory-only. */
  readonly persistence: PersistenceControl | null;
  /** The Raft runtime when the node is part of a cluster (`peers` set); null on a single node. */
  readonly cluster: ClusterNode | null;
  readonly config: Config;
  readonly stats: ServerStats;
  /** Connected clients by id. */
  readonly clients: ReadonlyMap<number, ClientState>;
  /** The command table, for COMMAND and the dispatcher. */
  readonly commands: ReadonlyMap<string, CommandSpec>;
  /** 40 hex chars, new each start (INFO run_id). */
  readonly runId: string;
  readonly version: string;
  readonly startTimeMs: number;
  /** The port actually bound (differs from config when it was 0). */
  readonly tcpPort: number;
  /** Index of the last log entry applied to the keyspace (INFO master_repl_offset). */
  readonly appliedIndex: number;
  /** Extra INFO sections by lower-case name (persistence, replication…). */
  readonly infoProviders: Map<string, InfoProvider>;
  /** Local wall clock in Unix ms (injectable for tests). */
  clock(): number;
  /** Closes a client after its pending replies are sent; false if no such client. */
  killClient(id: number): boolean;
  /** Stops the node: stop accepting, close clients, persist, exit. */
  shutdown(): void;
  /** Blocks the event loop (DEBUG SLEEP) — for tests of timeouts, as Redis. */
  sleep(ms: number): void;
}
