// Running iproute2 (`ip`, `tc`): async for set-up and faults, sync for teardown on exit.
// Errors carry the command and its stderr, which is where `ip` explains itself.

import { execFile, spawnSync } from 'node:child_process';

const commandTimeoutMs = 10_000;

export class CommandError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly stderr: string,
  ) {
    super(`${argv.join(' ')}: ${stderr.trim().split('\n')[0] || 'failed'}`);
  }
}

/** Runs `argv`, feeding `input` to stdin; resolves with stdout. */
export function run(argv: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: commandTimeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) reject(new CommandError(argv, stderr || err.message));
      else resolve(stdout);
    });
    // A command that exits without reading its input must not turn into an EPIPE elsewhere.
    child.stdin?.on('error', () => {});
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });
}

/** `ip [-n ns] -batch -` with one command per line; `force` goes on past failing lines (teardown). */
export function ipBatch(lines: readonly string[], opts: { ns?: string; force?: boolean } = {}): Promise<string> {
  return run(['ip', ...(opts.ns === undefined ? [] : ['-n', opts.ns]), ...(opts.force === true ? ['-force'] : []), '-batch', '-'], lines.join('\n') + '\n');
}

/** Synchronous twin of run() for process exit; failures are ignored by design (best-effort teardown). */
export function runSyncQuiet(argv: readonly string[], input?: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { input: input ?? '', encoding: 'utf8', timeout: commandTimeoutMs });
  return r.status === 0 ? r.stdout : '';
}

/** Whether `argv` runs and exits 0 (a capability check). */
export function succeeds(argv: readonly string[]): boolean {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'ignore', timeout: commandTimeoutMs });
  return r.status === 0;
}
