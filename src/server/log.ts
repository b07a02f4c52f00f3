// The structured logger (pino): JSON lines on stderr, quiet on the hot path.

import { pino, type Logger } from 'pino';

/** Maps Redis's loglevel names onto pino's. */
const levels: Record<string, string> = { debug: 'debug', verbose: 'info', notice: 'info', warning: 'warn', silent: 'silent' };

export function createLogger(level: string): Logger {
  return pino({ level: levels[level] ?? 'info', base: { pid: process.pid } }, pino.destination(2));
}
