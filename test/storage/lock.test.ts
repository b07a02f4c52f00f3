import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, test } from 'node:test';
import { DataDirInUseError, DataDirLock, LOCK_FILE } from '../../src/storage/lock.js';
import { removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  removeDir(dir);
});

/** A pid that is certainly not running: a child that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((res) => child.on('exit', res));
  assert.ok(child.pid !== undefined);
  return child.pid;
}

test('lock: a second acquire of the same directory is refused with the holder pid', () => {
  const lock = DataDirLock.acquire(dir);
  assert.equal(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
  assert.throws(
    () => DataDirLock.acquire(dir),
    (err: unknown) => {
      assert.ok(err instanceof DataDirInUseError);
      assert.equal(err.message, `data directory ${dir} is in use by process ${process.pid}`);
      assert.equal(err.pid, process.pid);
      return true;
    },
  );
  lock.release();
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  const again = DataDirLock.acquire(dir);
  again.release();
  again.release(); // idempotent
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('lock: a lock left by a dead process is taken over', async () => {
  const pid = await deadPid();
  fs.writeFileSync(path.join(dir, LOCK_FILE), `${pid}\n`);
  const lock = DataDirLock.acquire(dir);
  assert.equal(fs.readFileSync(path.join(dir, LOCK_FILE), 'utf8').trim(), String(process.pid));
  lock.release();
});

test('lock: garbage in LOCK, or our own pid from an earlier life, counts as stale', () => {
  fs.writeFileSync(path.join(dir, LOCK_FILE), 'not a pid');
  DataDirLock.acquire(dir).release();
  fs.writeFileSync(path.join(dir, LOCK_FILE), `${process.pid}\n`);
  DataDirLock.acquire(dir).release();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('lock: a live holder that is not us is respected', () => {
  // The parent of the test runner is alive for the duration of the test.
  fs.writeFileSync(path.join(dir, LOCK_FILE), `${process.ppid}\n`);
  assert.throws(() => DataDirLock.acquire(dir), new RegExp(`in use by process ${process.ppid}$`));
});

test('lock: a real second process is refused while we hold the directory', async () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const lockModule = path.resolve(here, '../../src/storage/lock.js');
  const script = `
    import(process.argv[1]).then(({ DataDirLock }) => {
      try { DataDirLock.acquire(process.argv[2]); console.log('acquired'); }
      catch (err) { console.log(err.message); process.exitCode = 3; }
    });`;
  const run = (): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['-e', script, lockModule, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.on('exit', (code) => resolve({ code, out: out.trim() }));
    });

  const lock = DataDirLock.acquire(dir);
  const refused = await run();
  assert.equal(refused.code, 3);
  assert.equal(refused.out, `data directory ${dir} is in use by process ${process.pid}`);
  lock.release();

  // Once released, the other process gets it (and, exiting without release, leaves a stale lock)...
  const ok = await run();
  assert.equal(ok.code, 0);
  assert.equal(ok.out, 'acquired');
  // ...which we then take over.
  DataDirLock.acquire(dir).release();
});
