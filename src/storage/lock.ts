import assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isErrno } from './fsutil.js';

// Two nodes on one data directory would interleave WAL writes and destroy it,
// so the first one to start holds `<dir>/LOCK`, a file holding its pid.
//
// Node has no flock(), so the file's existence is the lock. It is created with
// its contents already in place (written to a private temp file, then
// hard-linked to LOCK, which fails if LOCK exists): a second starter can never
// read an empty lock and mistake it for a stale one. A lock whose pid no longer
// runs (kill(pid, 0) → ESRCH) was left by a crash and is taken over.

export const LOCK_FILE = 'LOCK';
/** Bounds the take-over loop: each round either wins, loses to a live holder, or removed one stale file. */
const ACQUIRE_ATTEMPTS_MAX = 8;

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`data directory ${dir} is in use by process ${pid}`);
  }
}

/** Locks held by this process, so that a LOCK naming our own pid can be told apart from a leftover. */
const heldByThisProcess = new Set<string>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still means in use.
    return !isErrno(err, 'ESRCH');
  }
}

function readPid(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : -1;
}

export class DataDirLock {
  private released = false;

  private constructor(
    readonly dir: string,
    readonly path: string,
  ) {}

  /**
   * Takes the lock on `dir` (created if missing) or throws DataDirInUseError.
   * Synchronous: it runs once at start-up, before anything else touches the directory.
   */
  static acquire(dir: string): DataDirLock {
    fs.mkdirSync(dir, { recursive: true });
    const lockPath = path.join(dir, LOCK_FILE);
    const key = path.resolve(lockPath);
    if (heldByThisProcess.has(key)) throw new DataDirInUseError(dir, process.pid);
    const tmp = path.join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, `${process.pid}\n`, { flag: 'w', mode: 0o644 });
    try {
      for (let attempt = 0; attempt < ACQUIRE_ATTEMPTS_MAX; attempt++) {
        try {
          fs.linkSync(tmp, lockPath);
          heldByThisProcess.add(key);
          return new DataDirLock(dir, lockPath);
        } catch (err) {
          if (!isErrno(err, 'EEXIST')) throw err;
        }
        const pid = readPid(lockPath);
        if (pid === null) continue; // released between our link and read: try again
        // Our own pid but not in our table: a previous incarnation that reused
        // the pid (common for pid 1 in containers) left it behind.
        const stale = pid === -1 || (pid === process.pid ? true : !pidAlive(pid));
        if (!stale) throw new DataDirInUseError(dir, pid);
        DataDirLock.removeStale(dir, lockPath, pid);
      }
      throw new Error(`could not lock data directory ${dir}: ${ACQUIRE_ATTEMPTS_MAX} attempts lost races with other starters`);
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /**
   * Moves the stale file aside under a private name and checks that what was
   * moved is still the stale one: if another starter replaced it meanwhile,
   * its fresh lock is put back (link fails if yet another appeared).
   */
  private static removeStale(dir: string, lockPath: string, stalePid: number): void {
    const aside = path.join(dir, `${LOCK_FILE}.stale.${process.pid}`);
    try {
      fs.renameSync(lockPath, aside);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw err;
    }
    const moved = readPid(aside);
    if (moved !== stalePid && moved !== null) {
      try {
        fs.linkSync(aside, lockPath);
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw err;
      }
    }
    fs.rmSync(aside, { force: true });
  }

  /** Gives the directory up. Idempotent. Leaves alone a LOCK that is not ours. */
  release(): void {
    if (this.released) return;
    assert(heldByThisProcess.has(path.resolve(this.path)), 'releasing a lock this process does not hold');
    this.released = true;
    heldByThisProcess.delete(path.resolve(this.path));
    // Someone removed our LOCK by hand and another node took it: not ours to delete.
    if (readPid(this.path) === process.pid) fs.rmSync(this.path, { force: true });
  }
}
