import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LogEntry, WalFileSystem } from '../../src/storage/wal.js';
import { nodeWalFileSystem } from '../../src/storage/wal.js';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'km-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Deterministic pseudo-random bytes (xorshift) so failures replay exactly. */
export function payload(seed: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < len; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export function makeEntries(from: number, count: number, term: number, size = (i: number) => 10 + (i % 50)): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = from; i < from + count; i++) out.push({ index: i, term, data: payload(i * 31 + term, size(i)) });
  return out;
}

export function segmentFiles(dir: string): string[] {
  return fs
    .readdirSync(path.join(dir, 'wal'))
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

export interface CountingFs extends WalFileSystem {
  counts: { writev: number; writevSync: number; zeroFill: number; fdatasync: number; fsyncDir: number; ftruncate: number };
  /** When set, the next write (writev or writevSync) writes half of its bytes and then fails with this code. */
  failNextWrite: string | null;
  failNextSync: string | null;
  /** When set, the next ftruncate (either form) fails with this code. */
  failNextTruncate: string | null;
  /** When set, every zero-fill (preallocation) fails with this code. */
  failZeroFill: string | null;
  /** When set, each fdatasync waits for this promise before syncing (to hold one in flight). */
  syncGate: Promise<void> | null;
}

function injected(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

export function countingFs(): CountingFs {
  /** A real full disk often accepts part of a write before refusing. */
  const writeHalfAndFail = (fd: number, buffers: readonly Buffer[], position: number): never => {
    const code = shim.failNextWrite!;
    shim.failNextWrite = null;
    const all = Buffer.concat(buffers);
    fs.writeSync(fd, all, 0, Math.floor(all.length / 2), position);
    throw injected(code);
  };
  const takeTruncateFailure = (): void => {
    const code = shim.failNextTruncate;
    if (code === null) return;
    shim.failNextTruncate = null;
    throw injected(code);
  };
  const shim: CountingFs = {
    ...nodeWalFileSystem,
    counts: { writev: 0, writevSync: 0, zeroFill: 0, fdatasync: 0, fsyncDir: 0, ftruncate: 0 },
    failNextWrite: null,
    failNextSync: null,
    failNextTruncate: null,
    failZeroFill: null,
    syncGate: null,
    async writev(fd, buffers, position) {
      shim.counts.writev++;
      if (shim.failNextWrite !== null) writeHalfAndFail(fd, buffers, position);
      return nodeWalFileSystem.writev(fd, buffers, position);
    },
    writevSync(fd, buffers, position) {
      shim.counts.writevSync++;
      if (shim.failNextWrite !== null) writeHalfAndFail(fd, buffers, position);
      return nodeWalFileSystem.writevSync(fd, buffers, position);
    },
    zeroFillSync(fd, position, length) {
      shim.counts.zeroFill++;
      if (shim.failZeroFill !== null) throw injected(shim.failZeroFill);
      nodeWalFileSystem.zeroFillSync(fd, position, length);
    },
    async fdatasync(fd) {
      shim.counts.fdatasync++;
      if (shim.syncGate !== null) await shim.syncGate;
      if (shim.failNextSync !== null) {
        const code = shim.failNextSync;
        shim.failNextSync = null;
        throw injected(code);
      }
      return nodeWalFileSystem.fdatasync(fd);
    },
    async fsyncDir(dir) {
      shim.counts.fsyncDir++;
      return nodeWalFileSystem.fsyncDir(dir);
    },
    async ftruncate(fd, len) {
      shim.counts.ftruncate++;
      takeTruncateFailure();
      return nodeWalFileSystem.ftruncate(fd, len);
    },
    ftruncateSync(fd, len) {
      shim.counts.ftruncate++;
      takeTruncateFailure();
      nodeWalFileSystem.ftruncateSync(fd, len);
    },
  };
  return shim;
}

/**
 * Where the records of a segment file end: the file may go on with preallocated zeros
 * (see wal.ts), so the file size is not the end of the log. Walks the length fields
 * only; stops at the first one that cannot start a record (zero, or running past the end).
 */
export function recordsEnd(segment: Buffer): number {
  let off = 0;
  while (off + 8 <= segment.length) {
    const len = segment.readUInt32LE(off);
    if (len < 16 || off + 8 + len > segment.length) break;
    off += 8 + len;
  }
  return off;
}
