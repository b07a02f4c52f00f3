// Runs the `keymesh` binary as a user would, asynchronously (so a server in the test's own
// process keeps answering), and collects its exit status and output.

import { spawn } from 'node:child_process';
import { keymeshBin } from './process.js';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed. */
  input?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
  /** latin1 to see binary values byte for byte; utf8 by default. */
  stdoutEncoding?: BufferEncoding;
}

export function runKeymesh(args: readonly string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [keymeshBin, ...args], { env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding(opts.stdoutEncoding ?? 'utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}
