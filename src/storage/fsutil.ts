import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

/** Makes a rename/create/unlink in `dir` durable: the directory entry itself must reach the disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replaces `file` atomically: readers (and a crash) see either the old or the new
 * contents, never a mix. The temp file is fsynced before the rename so the rename
 * cannot expose an empty or partial file after power loss.
 */
export async function writeFileAtomic(file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.tmp`;
  const fh = await fsp.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, file);
  await fsyncDir(path.dirname(file));
}

export async function readFileIfExists(file: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw err;
  }
}

export async function unlinkIfExists(file: string): Promise<void> {
  try {
    await fsp.unlink(file);
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code;
}

/** Fixed-width decimal so that lexical order of file names equals numeric order. */
export function pad20(n: number): string {
  return n.toString().padStart(20, '0');
}
