// Persistent, bounded command history for the interactive prompt, in a file
// (~/.keymesh_history, or KEYMESH_HISTFILE), oldest line first as redis-cli keeps it.

import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Lines kept in the file and in memory. */
export const historyLinesMax = 1000;

export function historyPath(env: Readonly<Record<string, string | undefined>> = process.env): string | null {
  const p = env.KEYMESH_HISTFILE;
  if (p !== undefined) return p === '' || p === '/dev/null' ? null : p;
  return join(homedir(), '.keymesh_history');
}

/**
 * Whether a line carries a secret and must not be written to disk (AUTH,
 * HELLO … AUTH, CONFIG SET requirepass, ACL SETUSER), as redis-cli does.
 */
export function isSensitive(argv: readonly string[]): boolean {
  const cmd = argv[0]?.toLowerCase();
  const sub = argv[1]?.toLowerCase();
  if (cmd === 'auth') return true;
  if (cmd === 'hello' || cmd === 'migrate') return argv.some((a) => a.toLowerCase() === 'auth' || a.toLowerCase() === 'auth2');
  if (cmd === 'config' && sub === 'set') return argv.slice(2).some((a) => /^(requirepass|masterauth)$/i.test(a));
  return cmd === 'acl' && sub === 'setuser';
}

export class History {
  private lines: string[];

  constructor(private readonly path: string | null) {
    this.lines = path === null ? [] : readLines(path);
  }

  /** Newest first, as node:readline's `history` option wants. */
  forReadline(): string[] {
    return [...this.lines].reverse();
  }

  add(line: string): void {
    if (this.lines[this.lines.length - 1] === line) return;
    this.lines.push(line);
    if (this.lines.length > historyLinesMax) this.lines.splice(0, this.lines.length - historyLinesMax);
    if (this.path === null) return;
    try {
      writeFileSync(this.path, this.lines.join('\n') + '\n', { mode: 0o600 });
    } catch {
      // History is a convenience: an unwritable home directory must not stop the session.
    }
  }
}

function readLines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .slice(-historyLinesMax);
  } catch {
    return [];
  }
}
