// The frames waiting for one peer's socket, bounded in bytes.
//
// Raft tolerates lost messages (it resends on the next heartbeat or append), so
// when a slow or dead follower lets the queue fill, the oldest frames are dropped
// rather than letting memory grow or the leader wait. Snapshot chunks go last:
// they are the expensive ones to resend and the slowest to be asked for again.

import assert from 'node:assert/strict';

export type QueuedKind = 'raft' | 'snapshot' | 'forward';

export interface QueuedFrame {
  readonly bytes: Buffer;
  readonly kind: QueuedKind;
  /** Forward request id, so a dropped request can fail its caller at once. */
  readonly requestId: number;
}

/** Compaction threshold: below it, dead slots are cheaper than rebuilding the array. */
const COMPACT_MIN_SLOTS = 1024;

export class FrameQueue {
  /** Dropped frames leave a null slot; `head` skips them. */
  private slots: (QueuedFrame | null)[] = [];
  private head = 0;
  /** Every live slot in [head, scan) is a snapshot: where the search for a droppable frame resumes. */
  private scan = 0;
  private liveBytes = 0;
  private live = 0;

  get bytes(): number {
    return this.liveBytes;
  }

  get length(): number {
    return this.live;
  }

  push(f: QueuedFrame): void {
    this.slots.push(f);
    this.liveBytes += f.bytes.length;
    this.live++;
  }

  shift(): QueuedFrame | undefined {
    while (this.head < this.slots.length) {
      const f = this.slots[this.head++];
      if (f === null || f === undefined) continue;
      this.remove(f);
      this.maybeCompact();
      return f;
    }
    return undefined;
  }

  /**
   * Drops frames, oldest non-snapshot first, until at most `maxBytes` remain;
   * calls `dropped` for each. Snapshot chunks are dropped only when nothing else is left.
   */
  trimTo(maxBytes: number, dropped: (f: QueuedFrame) => void): void {
    if (this.scan < this.head) this.scan = this.head;
    while (this.liveBytes > maxBytes && this.scan < this.slots.length) {
      const f = this.slots[this.scan];
      if (f !== null && f !== undefined && f.kind !== 'snapshot') {
        this.slots[this.scan] = null;
        this.remove(f);
        dropped(f);
      }
      this.scan++;
    }
    for (let i = this.head; this.liveBytes > maxBytes && i < this.slots.length; i++) {
      const f = this.slots[i];
      if (f === null || f === undefined) continue;
      this.slots[i] = null;
      this.remove(f);
      dropped(f);
    }
    assert.ok(this.liveBytes <= maxBytes, 'frame queue over its bound after trimming');
    this.maybeCompact();
  }

  /** Removes every frame `pred` selects (forward requests when their connection is lost). */
  removeWhere(pred: (f: QueuedFrame) => boolean, removed: (f: QueuedFrame) => void): void {
    for (let i = this.head; i < this.slots.length; i++) {
      const f = this.slots[i];
      if (f === null || f === undefined || !pred(f)) continue;
      this.slots[i] = null;
      this.remove(f);
      removed(f);
    }
    this.maybeCompact();
  }

  clear(): QueuedFrame[] {
    const out: QueuedFrame[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const f = this.slots[i];
      if (f !== null && f !== undefined) out.push(f);
    }
    this.slots = [];
    this.head = 0;
    this.scan = 0;
    this.liveBytes = 0;
    this.live = 0;
    return out;
  }

  private remove(f: QueuedFrame): void {
    this.liveBytes -= f.bytes.length;
    this.live--;
    assert.ok(this.liveBytes >= 0 && this.live >= 0, 'frame queue accounting went negative');
  }

  /** Keeps dead slots (shifted or dropped) from outnumbering live ones, so a queue that never drains stays bounded. */
  private maybeCompact(): void {
    if (this.live === 0) {
      this.slots.length = 0;
      this.head = 0;
      this.scan = 0;
      return;
    }
    const dead = this.slots.length - this.live;
    if (dead < COMPACT_MIN_SLOTS || dead < this.live) return;
    const kept: QueuedFrame[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const f = this.slots[i];
      if (f !== null && f !== undefined) kept.push(f);
    }
    assert.equal(kept.length, this.live, 'frame queue lost track of a frame');
    this.slots = kept;
    this.head = 0;
    this.scan = 0;
  }
}
