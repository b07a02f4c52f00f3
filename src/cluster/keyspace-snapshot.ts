// Snapshot files of the keyspace, shared by a single node (persistence.ts) and a cluster
// node (node/snapshots.ts): writing one without stalling clients, and loading the newest
// one that reads back intact.

import { KeyspaceSnapshot } from '../keyspace/snapshot-view.js';
import { RecordEncoder, loadRecord } from '../keyspace/snapshot-codec.js';
import type { Keyspace } from '../keyspace/database.js';
import {
  SnapshotCorruptionError,
  SnapshotWriter,
  listSnapshots,
  readSnapshot,
  type SnapshotInfo,
  type SnapshotMeta,
} from '../storage/snapshot-file.js';

/** Records emitted per event-loop turn while snapshotting: small enough to keep pauses short. */
const snapshotRecordsPerTurn = 2000;

/**
 * Writes the keyspace as it is at the moment of the call, a chunk of keys per event-loop
 * turn, through a copy-on-write view (snapshot-view.ts). The view opens before the first
 * await, so the file is exactly the state the caller's `meta.index` names.
 */
export async function writeKeyspaceSnapshot(
  dir: string,
  keyspace: Keyspace,
  meta: SnapshotMeta,
): Promise<SnapshotInfo & { records: number; bytes: number }> {
  const view = new KeyspaceSnapshot(keyspace);
  let writer: SnapshotWriter | null = null;
  try {
    writer = await SnapshotWriter.create(dir, { ...meta, keys: view.keysAtStart });
    const w = writer;
    const enc = new RecordEncoder();
    let writable = true;
    const emit = (db: number, key: string, value: string, expireAt: number | undefined): void => {
      writable = w.writeRecord(enc.encode(db, key, value, expireAt)) && writable;
    };
    for (;;) {
      const done = view.read(snapshotRecordsPerTurn, emit);
      if (!writable) {
        await w.drain();
        writable = true;
      }
      if (done) break;
      await new Promise<void>((r) => setImmediate(r));
    }
    view.release();
    return await w.finish();
  } catch (err) {
    view.release();
    await writer?.abort();
    throw err;
  }
}

/** Loaded values made strings per event-loop turn: a millisecond or two of work. */
const materializedPerTurn = 4096;
const materializing = new WeakSet<Keyspace>();

/**
 * After a snapshot load, makes strings of the values still held by reference (see
 * keyspace/lazy-values.ts) a batch per event-loop turn, so clients are served meanwhile
 * and the snapshot's buffers are let go soon. Called once recovery is over: started
 * earlier, it would only slow the rest of the start-up.
 */
export function materializeInBackground(keyspace: Keyspace): void {
  if (keyspace.lazy === null || materializing.has(keyspace)) return;
  materializing.add(keyspace);
  const step = (): void => {
    if (keyspace.materializeSome(materializedPerTurn)) materializing.delete(keyspace);
    else setImmediate(step).unref();
  };
  setImmediate(step).unref();
}

export interface LoadedKeyspaceSnapshot extends SnapshotInfo {
  readonly meta: SnapshotMeta;
  readonly records: number;
  /** Newer snapshots found damaged and passed over. */
  readonly skipped: readonly string[];
}

/**
 * Loads the newest snapshot that reads back intact into `keyspace`, in one pass: every
 * block's CRC is checked before its records are handed out, and if a later block proves
 * damaged, what was loaded is dropped and the next older snapshot is tried. (Verifying
 * the whole file first would read a large snapshot twice.) Null when there is none.
 */
export async function loadNewestKeyspaceSnapshot(
  dir: string,
  keyspace: Keyspace,
  warn: (msg: string) => void,
): Promise<LoadedKeyspaceSnapshot | null> {
  const skipped: string[] = [];
  for (const info of await listSnapshots(dir)) {
    try {
      const r = await readSnapshot(info.path, (buf, start, end) => loadRecord(keyspace, buf, start, end));
      return { ...info, meta: r.meta, records: r.records, skipped };
    } catch (err) {
      if (!(err instanceof SnapshotCorruptionError)) throw err;
      warn(`${err.message}; falling back to an older snapshot`);
      keyspace.flushAll();
      skipped.push(info.path);
    }
  }
  if (skipped.length > 0) warn(`no valid snapshot among ${skipped.length} file(s)`);
  return null;
}
