// The network a chaos run puts its nodes on, and cuts. Two ways to build it:
// - netns: each node in its own Linux network namespace on a private bridge; faults are
//   blackhole routes in the kernel. Needs root and `ip`.
// - proxy: everything on 127.0.0.1, every link through a TCP proxy of ours that can stall
//   it. Works anywhere.
// 'auto' takes netns when a trial of it works, and says why when it does not.

import { checkNodeIds, type Endpoint } from './cuts.js';
import { createNetnsNetwork, netnsUnavailableReason } from './netns.js';
import { createProxyNetwork } from './proxy.js';

export { cutsBetween, type Endpoint } from './cuts.js';

export interface ChaosNetwork {
  readonly mode: 'netns' | 'proxy';
  /** One line saying which mode and why. */
  readonly description: string;
  /** Host the node binds (`--bind`). */
  bindHost(id: string): string;
  clientPort(id: string): number;
  peerPort(id: string): number;
  /** The exact `--peers` value to start node `id` with. */
  peersArg(id: string): string;
  /** Where the test's clients connect to reach node `id`. */
  clientAddress(id: string): { host: string; port: number };
  /** argv prefix for spawning node `id` (e.g. ['ip','netns','exec',name]); [] in proxy mode. */
  spawnPrefix(id: string): string[];
  /** Replaces the set of cut links: traffic between each unordered pair stops (both ways) until healed. */
  setCuts(pairs: ReadonlyArray<readonly [Endpoint, Endpoint]>): Promise<void>;
  /** Same as setCuts([]). */
  heal(): Promise<void>;
  /** Whether setDelay works in this mode. */
  readonly canDelay: boolean;
  /** Adds `ms` of latency to every node-to-node link (0 removes it); throws when !canDelay. */
  setDelay(ms: number): Promise<void>;
  /** Tears everything down; idempotent; also runs on process exit. */
  close(): Promise<void>;
}

export type NetworkMode = 'auto' | 'netns' | 'proxy';

export interface NetworkOptions {
  mode: NetworkMode;
  /**
   * netns mode: names namespaces and interfaces and picks the subnet; its letters and digits
   * are used (at most 6), with a variant when a live run holds the same tag. Default: from the pid.
   */
  tag?: string;
}

export async function createNetwork(ids: readonly string[], opts: NetworkOptions): Promise<ChaosNetwork> {
  checkNodeIds(ids);
  if (opts.mode === 'proxy') return createProxyNetwork(ids, 'proxy: requested');
  const unavailable = netnsUnavailableReason();
  if (opts.mode === 'netns') {
    if (unavailable !== null) throw new Error(`netns mode is unavailable: ${unavailable}`);
    return createNetnsNetwork(ids, opts.tag);
  }
  if (unavailable !== null) return createProxyNetwork(ids, `proxy: ${unavailable}`);
  try {
    return await createNetnsNetwork(ids, opts.tag);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    return createProxyNetwork(ids, `proxy: netns trial failed (${why})`);
  }
}
