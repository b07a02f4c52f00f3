// Snapshots of a cluster node: the keyspace at an applied index, in the same file format
// as a single node's (storage/snapshot-file.ts), with the membership as of that index in
// the meta, so a node restored from it knows its peers. The file's bytes are what the
// leader sends a follower that is too far behind for the log (chunked by the Raft core).

import fsp from 'node:fs/promises';
import path from 'node:path';
import { loadRecord } from '../../keyspace/snapshot-codec.js';
import { loadNewestKeyspaceSnapshot, writeKeyspaceSnapshot } from '../keyspace-snapshot.js';
import type { Keyspace } from '../../keyspace/database.js';
import type { ConfState, SnapshotMeta } from '../../raft/types.js';
import { fsyncDir, pad20, writeFileAtomic } from '../../storage/fsutil.js';
import { SNAPSHOT_DIR, readSnapshot, type JsonValue } from '../../storage/snapshot-file.js';


export interface SnapshotFile {
  readonly meta: SnapshotMeta;
  readonly path: string;
  readonly bytes: number;
  /** Members' addresses as `id@host:port@peerport`, as of the snapshot. */
  readonly addresses: readonly string[];
}

function stringsFromJson(v: JsonValue | undefined): readonly string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** Loads the newest valid snapshot into `keyspace`; null when there is none. */
export async function loadNewestSnapshot(dir: string, keyspace: Keyspace, warn: (msg: string) => void): Promise<SnapshotFile | null> {
  const snap = await loadNewestKeyspaceSnapshot(dir, keyspace, warn);
  if (snap === null) return null;
  const confState: ConfState = { voters: stringsFromJson(snap.meta['voters']), learners: stringsFromJson(snap.meta['learners']) };
  const stat = await fsp.stat(snap.path);
  return { meta: { index: snap.index, term: snap.term, confState }, path: snap.path, bytes: stat.size, addresses: stringsFromJson(snap.meta['addresses']) };
}

/** Writes the keyspace as it is now (the state at `meta.index`) without stalling clients. */
export async function writeSnapshot(dir: string, keyspace: Keyspace, meta: SnapshotMeta, addresses: readonly string[]): Promise<SnapshotFile> {
  const info = await writeKeyspaceSnapshot(dir, keyspace, {
    index: meta.index,
    term: meta.term,
    voters: [...meta.confState.voters],
    learners: [...meta.confState.learners],
    addresses: [...addresses],
  });
  return { meta, path: info.path, bytes: info.bytes, addresses };
}

/**
 * Installs a snapshot received from the leader: verified in a temp file first, then the
 * keyspace is replaced by its contents and the file becomes this node's newest snapshot.
 */
export async function installSnapshot(dir: string, keyspace: Keyspace, meta: SnapshotMeta, data: Uint8Array): Promise<SnapshotFile> {
  const snapDir = path.join(dir, SNAPSHOT_DIR);
  await fsp.mkdir(snapDir, { recursive: true });
  const final = path.join(snapDir, `${pad20(meta.index)}-${pad20(meta.term)}.snap`);
  const tmp = `${final}.tmp`;
  let addresses: readonly string[] = [];
  await writeFileAtomic(tmp, data);
  try {
    const check = await readSnapshot(tmp);
    if (check.meta.index !== meta.index || check.meta.term !== meta.term) {
      throw new Error(`received snapshot says ${check.meta.index}/${check.meta.term}, Raft says ${meta.index}/${meta.term}`);
    }
    addresses = stringsFromJson(check.meta['addresses']);
    keyspace.flushAll();
    await readSnapshot(tmp, (buf, start, end) => loadRecord(keyspace, buf, start, end));
    await fsp.rename(tmp, final);
    await fsyncDir(snapDir);
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
  return { meta, path: final, bytes: data.byteLength, addresses };
}
