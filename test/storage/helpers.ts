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
  counts: { writev: number; fdatasync: number; fsyncDir: number; ftruncate: number };
  /** When set, the next writev writes half of its bytes and then fails with this code. */
  failNextWrite: string | null;
  failNextSync: string | null;
}

export function countingFs(): CountingFs {
  const shim: CountingFs = {
    ...nodeWalFileSystem,
    counts: { writev: 0, fdatasync: 0, fsyncDir: 0, ftruncate: 0 },
    failNextWrite: null,
    failNextSync: null,
    async writev(fd, buffers, position) {
      shim.counts.writev++;
      if (shim.failNextWrite !== null) {
        const code = shim.failNextWrite;
        shim.failNextWrite = null;
        // A real full disk often accepts part of a write before refusing.
        const all = Buffer.concat(buffers);
        fs.writeSync(fd, all, 0, Math.floor(all.length / 2), position);
        throw Object.assign(new Error(`${code}: injected`), { code });
      }
      return nodeWalFileSystem.writev(fd, buffers, position);
    },
    async fdatasync(fd) {
      shim.counts.fdatasync++;
      if (shim.failNextSync !== null) {
        const code = shim.failNextSync;
        shim.failNextSync = null;
        throw Object.assign(new Error(`${code}: injected`), { code });
      }
      return nodeWalFileSystem.fdatasync(fd);
    },
    async fsyncDir(dir) {
      shim.counts.fsyncDir++;
      return nodeWalFileSystem.fsyncDir(dir);
    },
    async ftruncate(fd, len) {
      shim.counts.ftruncate++;
      return nodeWalFileSystem.ftruncate(fd, len);
    },
  };
  return shim;
}
