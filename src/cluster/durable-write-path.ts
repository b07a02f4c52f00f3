// The write path of a node that persists its log: propose → append → flush → apply → reply.
//
// Every proposal of one event-loop turn (from any number of clients) is appended to the
// log and then shares one write(2) and, with `always`, one fdatasync; the group is
// scheduled with setImmediate so all the turn's reads have been parsed first. The
// entries are applied and their replies released only once the disk has done what the
// fsync policy promises:
//   always   — written and fdatasync'ed: nothing acknowledged is lost, even on power loss;
//   everysec — written to the OS (survives a process crash); a timer fdatasyncs each second;
//   no       — written to the OS; the OS decides when it reaches the disk.
// The write(2) runs synchronously on the event loop (Wal.writeNow): into the page cache
// it takes microseconds, less than handing it to the thread pool and waiting for the
// event loop to hear back, which is what a reply would otherwise wait for. So everysec
// and no answer in the same turn; always waits only for the fdatasync, which stays off
// the event loop (reads and other clients go on meanwhile). When the log cannot take the
// synchronous path (a new segment is due, a compaction or truncation is queued) the
// group goes through the asynchronous flush with the same promises.
// One group is in flight at a time; proposals arriving meanwhile form the next group.
//
// A node without peers runs this instead of a Raft group of one (DESIGN.md has one write
// path): the same steps and promises, without the Raft core's per-entry bookkeeping and
// Ready round trips, which cost a group of one 10-25% of its SET/s with everysec (23-30
// against 20-22 µs of CPU per SET, measured side by side). Commands see one interface
// (WritePath) either way, and both keep their log in the same WAL (storage/wal.ts).
//
// A failed write (disk full, I/O error) answers every write of its group with a MISCONF
// error, and the entries are cut from the log so they never apply later. Until a write
// succeeds again new writes are answered the same way at once, while reads go on.

import assert from 'node:assert/strict';
import type { Logger } from 'pino';
import type { LogCommand } from '../commands/types.js';
import { RECORD_HEADER_BYTES, WalFailedError, type Wal } from '../storage/wal.js';
import { encodeLogCommand } from './log-codec.js';
import type { StateMachine } from './state-machine.js';
import type { ReplySink, WritePath } from './write-path.js';

export type FsyncPolicy = 'always' | 'everysec' | 'no';

interface PendingWrite {
  readonly index: number;
  readonly cmd: LogCommand;
  readonly sink: ReplySink;
}

/** How long after a failed write before another is attempted (Redis retries once a second too). */
const retryAfterFailureMs = 1000;

export class DurableWritePath implements WritePath {
  private queue: PendingWrite[] = [];
  private flushScheduled = false;
  private flushing = false;
  private everysecTimer: NodeJS.Timeout | undefined;
  /** Set while writes are refused: the error text and when to try again. */
  private failure: { message: string; retryAtMs: number } | null = null;
  /** Term stamped on entries; 1 until replication brings real terms. */
  term = 1;
  /** Observers of applied entries (snapshot scheduling, statistics). */
  onApplied: (index: number) => void = () => {};
  lastFsyncMs = 0;
  writeErrors = 0;
  /** Bytes of entries appended since start (payloads plus framing), for snapshot scheduling. */
  bytesAppended = 0;

  constructor(
    private readonly sm: StateMachine,
    private readonly wal: Wal,
    private readonly policy: () => FsyncPolicy,
    private readonly log: Logger,
    private readonly clock: () => number = Date.now,
  ) {
    this.everysecTimer = setInterval(this.syncEverySecond, 1000);
    this.everysecTimer.unref();
  }

  /** The last error that refused writes, for INFO persistence; null when healthy. */
  get lastError(): string | null {
    return this.failure?.message ?? null;
  }

  propose(cmd: LogCommand, sink: ReplySink): boolean {
    if (this.failure !== null && this.clock() < this.failure.retryAtMs) {
      sink.reply.error(this.failure.message);
      return true;
    }
    const index = this.wal.lastIndex + 1;
    const data = encodeLogCommand(cmd);
    try {
      this.wal.append([{ index, term: this.term, data }]);
    } catch (err) {
      // Only a log that failed for good refuses appends (see WalFailedError).
      this.fail(err);
      sink.reply.error(this.failure!.message);
      return true;
    }
    this.bytesAppended += data.length + RECORD_HEADER_BYTES;
    this.queue.push({ index, cmd, sink });
    // While a group is being flushed its completion starts the next one: no turn needs
    // an immediate of its own until then.
    if (!this.flushScheduled && !this.flushing) {
      this.flushScheduled = true;
      setImmediate(this.flushGroup);
    }
    return false;
  }

  private readonly flushGroup = (): void => {
    this.flushScheduled = false;
    if (this.flushing || this.queue.length === 0) return;
    const group = this.queue;
    this.queue = [];
    const sync = this.policy() === 'always';
    let written: boolean;
    try {
      written = this.wal.writeNow();
    } catch (err) {
      this.groupFailed(group, err);
      return;
    }
    if (written && !sync) {
      this.groupDurable(group, false);
      return;
    }
    this.flushing = true;
    this.wal.flush({ sync }).then(
      () => this.groupDurableAfterFlush(group, sync),
      (err: unknown) => this.groupFailed(group, err),
    );
  };

  private groupDurableAfterFlush(group: PendingWrite[], synced: boolean): void {
    this.flushing = false;
    this.groupDurable(group, synced);
    if (this.queue.length > 0 && !this.flushScheduled) this.flushGroup();
  }

  private groupDurable(group: PendingWrite[], synced: boolean): void {
    assert(!this.flushing, 'a group applies only when no flush of it is pending');
    if (synced) this.lastFsyncMs = this.clock();
    this.failure = null;
    for (const w of group) {
      assert.equal(w.index, this.sm.appliedIndex + 1, 'entries apply in log order');
      this.sm.appliedIndex = w.index;
      this.sm.apply(w.cmd, w.sink.reply);
      w.sink.replyReady();
    }
    this.onApplied(this.sm.appliedIndex);
  }

  private groupFailed(group: PendingWrite[], err: unknown): void {
    this.fail(err);
    const message = this.failure!.message;
    // Everything not yet applied — this group and any proposed meanwhile — is cut from
    // the log and refused, so no client is told "error" for a write that later applies.
    const refused = group.concat(this.queue);
    this.queue = [];
    if (!(err instanceof WalFailedError)) {
      // The cut is queued behind the failed writes; if the disk is still full it is
      // retried with the next flush, before anything appended later.
      this.wal.truncateSuffix(refused[0]!.index).catch((e: unknown) => {
        this.log.warn({ err: String(e) }, 'cutting failed entries from the log is pending until the disk accepts writes');
      });
    }
    this.flushing = false;
    for (const w of refused) {
      w.sink.reply.error(message);
      w.sink.replyReady();
    }
  }

  /** Enters the refusing state: for a while after a write error, for good after a failed fsync. */
  private fail(err: unknown): void {
    this.writeErrors++;
    const reason = err instanceof Error ? err.message : String(err);
    const permanent = err instanceof WalFailedError;
    const message = permanent
      ? `MISCONF The log failed and this node refuses writes until it is restarted: ${reason}`
      : `MISCONF Errors writing to the log: ${reason}`;
    if (this.failure === null) this.log.error({ err: reason }, 'log write failed; refusing writes until the disk accepts them again');
    this.failure = { message, retryAtMs: permanent ? Infinity : this.clock() + retryAfterFailureMs };
  }

  private readonly syncEverySecond = (): void => {
    if (this.policy() !== 'everysec' || this.failure !== null) return;
    this.wal.flush({ sync: true }).then(
      () => {
        this.lastFsyncMs = this.clock();
      },
      (err: unknown) => {
        this.log.error({ err: String(err) }, 'background fsync failed');
      },
    );
  };

  /** Waits for every proposed write to be applied (used before SHUTDOWN and snapshots). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  close(): void {
    if (this.everysecTimer !== undefined) clearInterval(this.everysecTimer);
  }
}
