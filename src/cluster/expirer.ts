// Turns expired keys into logged deletions — only on the node that leads (DESIGN.md:
// followers never delete on their own, they answer expired keys as missing).
//
// Reads report keys they found expired; the active cycle finds the rest. Both are
// batched per database into one `expired` entry per event-loop turn.

import type { Database, Keyspace } from '../keyspace/database.js';
import { ActiveExpirer, activeExpireOptions } from '../keyspace/active-expire.js';
import { Reply } from '../protocol/reply.js';
import type { ReplySink, WritePath } from './write-path.js';

/** Deletions have no client waiting: their replies are dropped. */
class DiscardSink implements ReplySink {
  readonly reply = new Reply();
  replyReady(): void {
    this.reply.out = '';
  }
}

export class Expirer {
  private readonly pending = new Map<Database, Set<string>>();
  private flushScheduled = false;
  private readonly sink = new DiscardSink();
  private readonly active: ActiveExpirer;
  /** False on followers: they neither propose deletions nor run the active cycle. */
  leader = true;

  constructor(
    private readonly keyspace: Keyspace,
    private readonly writePath: WritePath,
    private readonly clock: () => number,
  ) {
    this.active = new ActiveExpirer(keyspace);
  }

  /** A read found `key` expired: schedule its deletion (deduplicated within the turn). */
  noteExpired(db: Database, key: string): void {
    if (!this.leader) return;
    let set = this.pending.get(db);
    if (set === undefined) this.pending.set(db, (set = new Set()));
    set.add(key);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    for (const [db, keys] of this.pending) this.propose(db, [...keys]);
    this.pending.clear();
  };

  /** One active-expiry cycle within `budgetMs`; called from the server's cron at `hz`. */
  cycle(budgetMs: number, effort: number): number {
    if (!this.leader) return 0;
    const found = this.active.cycle(this.clock(), budgetMs, activeExpireOptions(effort), this.clock);
    let n = 0;
    for (const [db, keys] of found) {
      n += keys.length;
      this.propose(db, keys);
    }
    return n;
  }

  /**
   * Proposes deletion of every key already expired (after loading from disk: keys whose
   * TTL passed while the node was down). In batches, to bound entry size.
   */
  sweepAll(batchKeys = 1000): number {
    if (!this.leader) return 0;
    const now = this.clock();
    let n = 0;
    for (const db of this.keyspace.dbs) {
      let keys: string[] = [];
      for (const [key, at] of db.expires) {
        if (at > now) continue;
        keys.push(key);
        if (keys.length === batchKeys) {
          this.propose(db, keys);
          n += keys.length;
          keys = [];
        }
      }
      this.propose(db, keys);
      n += keys.length;
    }
    return n;
  }

  private propose(db: Database, keys: string[]): void {
    if (keys.length === 0) return;
    this.writePath.propose({ db: db.id, timeMs: this.clock(), argv: ['expired', ...keys] }, this.sink);
    this.sink.reply.out = '';
  }

  reset(): void {
    this.active.reset();
    this.pending.clear();
  }
}
