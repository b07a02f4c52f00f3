// Values of a loaded snapshot, kept as references into the snapshot's bytes until used.
//
// Loading a million-key snapshot at start-up spent about a fifth of its time making a
// string of every value and having the young-generation GC copy each one to the old one
// (1.5 s -> 1.2 s without it, bench/RESULTS.md).
// A key must be a string to be found in the keyspace's Map, but its value need not be
// one yet: the Map holds a small integer (a slot here, a V8 Smi: no allocation), and
// the slot says where the value's bytes are. The first read of a key makes its string
// (Database.get), and a background pass (Keyspace.materializeSome) makes the rest soon
// after start, so the snapshot's buffers are released within a second or so of start-up.
//
// A LazyValues only grows: slots are never reused and buffers never released while it
// is reachable. Once no map holds its slots the keyspace drops it as a whole; a snapshot
// being written keeps the one it started with (snapshot-view.ts).

import { latin1 } from '../protocol/latin1.js';

/** A value not yet made a string: a slot in the keyspace's LazyValues. */
export type LazyRef = number;

/** Largest slot: slots stay V8 small integers, so a Map holds them without allocating. */
const maxSlot = 2 ** 30;

/** `v` as a string: itself, or the value its slot in `lazy` refers to. */
export function resolveStored(lazy: LazyValues | null, v: string | LazyRef): string {
  if (typeof v !== 'number') return v;
  if (lazy === null) throw new RangeError(`lazy value ${v} with no LazyValues`);
  return lazy.string(v);
}

export class LazyValues {
  /** The buffers slots point into (one per snapshot block: views that pin their chunk). */
  private readonly bufs: Buffer[] = [];
  private last: Buffer | null = null;
  private bufOf = new Uint32Array(1024);
  private starts = new Uint32Array(1024);
  private ends = new Uint32Array(1024);
  private n = 0;

  /** Slots handed out so far; a change tells the background pass a load happened meanwhile. */
  get count(): number {
    return this.n;
  }

  /** Whether `add` can take another value (callers make a string instead when it cannot). */
  get full(): boolean {
    return this.n >= maxSlot;
  }

  /** Refers to `buf[start, end)`; the bytes must never change afterwards. */
  add(buf: Buffer, start: number, end: number): LazyRef {
    if (buf !== this.last) {
      this.bufs.push(buf);
      this.last = buf;
    }
    if (this.n === this.starts.length) this.grow();
    const slot = this.n++;
    this.bufOf[slot] = this.bufs.length - 1;
    this.starts[slot] = start;
    this.ends[slot] = end;
    return slot;
  }

  /** The value a slot refers to, as a latin1 string (a new string on every call). */
  string(ref: LazyRef): string {
    if (!(ref >= 0 && ref < this.n)) throw new RangeError(`no lazy value in slot ${ref}`);
    return latin1(this.bufs[this.bufOf[ref]!]!, this.starts[ref]!, this.ends[ref]!);
  }

  private grow(): void {
    const size = this.starts.length * 2;
    const bufOf = new Uint32Array(size);
    const starts = new Uint32Array(size);
    const ends = new Uint32Array(size);
    bufOf.set(this.bufOf);
    starts.set(this.starts);
    ends.set(this.ends);
    this.bufOf = bufOf;
    this.starts = starts;
    this.ends = ends;
  }
}
