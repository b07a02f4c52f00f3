// Reading and checking the log in a worker thread while the snapshot loads.
//
// A restart spends most of its time in two independent parts: loading the snapshot
// into the keyspace (main thread: it builds the keyspace) and reading the log's
// segments with a CRC check per record. The second needs nothing but the bytes, so a
// worker does it on the other core, started before the snapshot load. The worker only
// finds each segment's run of intact records; recovery (wal.ts) still makes every
// decision, and uses a run only if it was scanned from the same point (first index and
// previous term) that recovery reaches. A worker that fails just means recovery reads
// the files itself.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { SEGMENT_NAME, type IntactRun } from './wal-record.js';

/** One segment as the worker read and scanned it. */
export interface SegmentPrescan extends IntactRun {
  readonly firstIndex: number;
  /** The term the scan assumed for the entry before this segment's first. */
  readonly prevTerm: number;
  /** The whole file. */
  readonly buf: Buffer;
}

/** Scanned segments by first index. */
export type WalPrescan = ReadonlyMap<number, SegmentPrescan>;

/** What the worker is given: the segments to read, in log order. */
export interface PrescanRequest {
  readonly files: readonly { readonly path: string; readonly firstIndex: number }[];
}

/** What the worker sends back (typed arrays and buffers are transferred, not copied). */
export interface PrescanResponse {
  readonly segments: readonly {
    readonly firstIndex: number;
    readonly prevTerm: number;
    readonly count: number;
    readonly sizes: Uint32Array;
    readonly terms: Float64Array;
    readonly buf: Uint8Array;
  }[];
}

/** Below this many bytes of log, starting a worker (tens of ms) costs more than it saves. */
const prescanMinBytesDefault = 8 * 1024 * 1024;

/**
 * Starts reading the log under `<dir>/wal` in a worker; resolves to the scanned segments,
 * or null when the log is small, absent, or the worker failed. Never rejects.
 */
export function prescanWal(dir: string, minBytes = prescanMinBytesDefault): Promise<WalPrescan | null> {
  const walDir = path.join(dir, 'wal');
  let files: { path: string; firstIndex: number }[];
  try {
    let total = 0;
    files = [];
    for (const name of fs.readdirSync(walDir)) {
      const m = SEGMENT_NAME.exec(name);
      if (m === null) continue;
      const file = path.join(walDir, name);
      total += fs.statSync(file).size;
      files.push({ path: file, firstIndex: Number(m[1]) });
    }
    if (total < minBytes || files.length === 0) return Promise.resolve(null);
  } catch {
    return Promise.resolve(null);
  }
  files.sort((a, b) => a.firstIndex - b.firstIndex);
  const request: PrescanRequest = { files };
  return new Promise((resolve) => {
    let settled = false;
    const done = (v: WalPrescan | null): void => {
      if (settled) return;
      settled = true;
      resolve(v);
    };
    let worker: Worker;
    try {
      worker = new Worker(new URL('./wal-prescan-worker.js', import.meta.url), { workerData: request });
    } catch {
      done(null);
      return;
    }
    worker.unref();
    worker.once('message', (msg: PrescanResponse) => {
      const scanned = new Map<number, SegmentPrescan>();
      for (const s of msg.segments) {
        const buf = Buffer.from(s.buf.buffer, s.buf.byteOffset, s.buf.byteLength);
        scanned.set(s.firstIndex, { firstIndex: s.firstIndex, prevTerm: s.prevTerm, count: s.count, sizes: s.sizes, terms: s.terms, buf });
      }
      done(scanned);
    });
    worker.once('error', () => done(null));
    worker.once('exit', () => done(null));
  });
}
