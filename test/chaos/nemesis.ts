// Injects faults on a seeded schedule. Each kind of fault (kill, pause, partition,
// clock) runs its own loop: a healthy gap, then a fault held for a while, then healed;
// the loops are independent, so faults of different kinds overlap as they would in
// life. Kills and pauses together never take down more than a minority, so the
// cluster keeps a majority for most of a run and the history has something to check;
// a partition may still leave no majority anywhere for a while.

import { SeededRandom } from '../../src/raft/rand.js';
import type { ChaosCluster } from './cluster.js';
import type { NemesisEvent } from './history.js';
import type { LeaderMonitor } from './monitor.js';
import { cutsBetween, type ChaosNetwork, type Endpoint } from './net/network.js';
import type { Recorder } from './recorder.js';

export type FaultKind = NemesisEvent['fault'];
export const faultKinds: readonly FaultKind[] = ['kill', 'pause', 'partition', 'clock'];

export interface NemesisOptions {
  readonly faults: readonly FaultKind[];
  readonly seed: number;
  /** Healthy time between two faults of one kind, ms (uniform in [min, max]). */
  readonly gapMs: readonly [number, number];
  /** How long a fault is held, ms. */
  readonly holdMs: readonly [number, number];
  /** Largest clock jump, ms. */
  readonly clockJumpMs: number;
}

export class Nemesis {
  private stopping = false;
  private wake: (() => void)[] = [];
  private readonly loops: Promise<void>[] = [];
  /** Nodes currently killed or paused by us. */
  private readonly down = new Set<string>();
  /** Errors a fault action threw (a restart that failed, say): reported with the verdict. */
  readonly errors: string[] = [];

  constructor(
    private readonly opts: NemesisOptions,
    private readonly cluster: ChaosCluster,
    private readonly net: ChaosNetwork,
    private readonly monitor: LeaderMonitor,
    private readonly rec: Recorder,
  ) {}

  start(): void {
    this.opts.faults.forEach((kind, i) => {
      const rng = new SeededRandom((this.opts.seed * 7919 + i * 104729) >>> 0);
      this.loops.push(this.loop(kind, rng));
    });
  }

  /** Ends every fault now (the loops heal what they hold) and waits for them. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const w of this.wake.splice(0)) w();
    await Promise.all(this.loops);
  }

  private get maxDown(): number {
    return Math.floor((this.cluster.ids.length - 1) / 2);
  }

  private async loop(kind: FaultKind, rng: SeededRandom): Promise<void> {
    while (!this.stopping) {
      await this.pause(between(rng, this.opts.gapMs));
      if (this.stopping) break;
      try {
        const undo = await this.begin(kind, rng);
        if (undo === null) continue;
        await this.pause(between(rng, kind === 'pause' ? [2000, Math.max(2500, this.opts.holdMs[1] / 2)] : this.opts.holdMs));
        await undo();
      } catch (err) {
        this.errors.push(`${kind}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /** Starts one fault; returns how to end it, or null when none could start now. */
  private async begin(kind: FaultKind, rng: SeededRandom): Promise<(() => Promise<void>) | null> {
    const c = this.cluster;
    const ids = c.ids;
    const leader = this.monitor.leader();
    const pickNode = (candidates: readonly string[]): string | null => {
      if (candidates.length === 0) return null;
      // Half the time the leader, when it is a candidate: that is where the interesting failures are.
      if (leader !== null && candidates.includes(leader) && rng.chance(0.5)) return leader;
      return rng.pick(candidates);
    };
    switch (kind) {
      case 'kill': {
        if (this.down.size >= this.maxDown) return null;
        const id = pickNode(c.upNodes().filter((n) => !this.down.has(n)));
        if (id === null) return null;
        this.down.add(id);
        this.event('start', kind, [id], `kill -9 ${id}${id === leader ? ' (leader)' : ''}`);
        await c.kill(id);
        return async () => {
          this.event('stop', kind, [id], `restart ${id}`);
          try {
            await c.restart(id);
          } finally {
            this.down.delete(id);
          }
        };
      }
      case 'pause': {
        if (this.down.size >= this.maxDown) return null;
        const id = pickNode(c.upNodes().filter((n) => !this.down.has(n)));
        if (id === null) return null;
        this.down.add(id);
        this.event('start', kind, [id], `SIGSTOP ${id}${id === leader ? ' (leader)' : ''}`);
        c.pause(id);
        return async () => {
          this.event('stop', kind, [id], `SIGCONT ${id}`);
          c.resume(id);
          this.down.delete(id);
        };
      }
      case 'partition': {
        if (this.net.canDelay && rng.chance(0.2)) {
          // Not a cut but a slow network: every node-to-node link delayed (netem or the proxy).
          const ms = 20 + rng.intBelow(281);
          this.event('start', kind, ids, `slow links: +${ms} ms on every node-to-node link`);
          await this.net.setDelay(ms);
          return async () => {
            this.event('stop', kind, ids, 'links back to full speed');
            await this.net.setDelay(0);
          };
        }
        const { groups, cuts, detail } = choosePartition(ids, leader, rng);
        this.event('start', kind, ids, detail + (groups.length > 0 ? `: ${groups.map((g) => `[${g.join(' ')}]`).join(' | ')}` : ''));
        await this.net.setCuts(cuts);
        return async () => {
          this.event('stop', kind, ids, 'heal');
          await this.net.heal();
        };
      }
      case 'clock': {
        const id = pickNode(c.upNodes().filter((n) => !this.down.has(n) && c.clockOffset(n) === 0));
        if (id === null) return null;
        const sign = rng.chance(0.5) ? 1 : -1;
        const ms = sign * (1000 + rng.intBelow(Math.max(1, this.opts.clockJumpMs - 1000)));
        this.event('start', kind, [id], `clock of ${id}${id === leader ? ' (leader)' : ''} ${ms > 0 ? '+' : ''}${ms} ms`);
        await c.setClockOffset(id, ms);
        return async () => {
          // Recorded once the clock is back (or the node is down, to restart with it
          // back): the ttl checker trusts expiry times outside [start, stop].
          await c.setClockOffset(id, 0);
          this.event('stop', kind, [id], `clock of ${id} back to true time`);
        };
      }
    }
  }

  private event(phase: 'start' | 'stop', fault: FaultKind, nodes: readonly string[], detail: string): void {
    this.rec.nemesis({ phase, fault, nodes, detail });
  }

  /** Sleeps, but wakes at once when the run stops. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake.push(done);
    });
  }
}

function between(rng: SeededRandom, [lo, hi]: readonly [number, number]): number {
  return lo + rng.intBelow(Math.max(1, hi - lo + 1));
}

/** One of: random halves, isolate one node, isolate the leader, or a bridge. */
export function choosePartition(
  ids: readonly string[],
  leader: string | null,
  rng: SeededRandom,
): { groups: string[][]; cuts: Array<[Endpoint, Endpoint]>; detail: string } {
  const shuffled = [...ids];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.intBelow(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const variants = ['halves', 'isolate', 'isolate-leader', 'bridge'] as const;
  let variant = rng.pick(variants);
  if (variant === 'isolate-leader' && leader === null) variant = 'isolate';
  if (variant === 'bridge' && ids.length < 3) variant = 'halves';
  switch (variant) {
    case 'halves': {
      const k = Math.floor(ids.length / 2);
      const groups = [shuffled.slice(0, k), shuffled.slice(k)];
      return { groups, cuts: cutsBetween(groups), detail: 'random halves' };
    }
    case 'isolate':
    case 'isolate-leader': {
      const lone = variant === 'isolate-leader' ? leader! : shuffled[0]!;
      const groups = [[lone], ids.filter((n) => n !== lone)];
      return { groups, cuts: cutsBetween(groups), detail: variant === 'isolate-leader' ? `isolate leader ${lone}` : `isolate ${lone}` };
    }
    case 'bridge': {
      // Two halves that cannot see each other, and one node that sees both.
      const [bridge, ...rest] = shuffled;
      const k = Math.floor(rest.length / 2);
      const a = rest.slice(0, k);
      const b = rest.slice(k);
      const cuts = cutsBetween([a, b]);
      return { groups: [], cuts, detail: `bridge through ${bridge}: [${a.join(' ')}] | [${b.join(' ')}]` };
    }
  }
}
