// What commands may ask of the node beyond the keyspace: settings, statistics, the
// client registry, the command table, and control (shutdown). The server implements it;
// tests can provide a small fake.

import type { Config } from './config.js';
import type { ClientState } from './client-state.js';
import type { CommandSpec } from '../commands/types.js';

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
  }
}

/** One section of INFO as name/value lines, contributed by a subsystem (e.g. persistence). */
export type InfoProvider = () => [string, string | number][];

export interface NodeServices {
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
