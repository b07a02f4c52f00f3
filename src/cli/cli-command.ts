// `keymesh cli`: a client in the manner of redis-cli. Three ways to run:
// - with a command on the command line: run it once, print the reply, exit;
// - with commands piped on stdin: run them one per line;
// - otherwise an interactive prompt with history.
// Replies print as redis-cli prints them (format.ts); raw when stdout is not a terminal.

import { createInterface } from 'node:readline';
import { ConnectError, KeyMeshClient, type RespValue } from '../client/client.js';
import { splitInlineArgs } from '../protocol/inline.js';
import { formatReply, printsVerbatim } from './format.js';
import { History, historyLinesMax, historyPath, isSensitive } from './history.js';

export interface CliOptions {
  host: string;
  port: number;
  password?: string;
  db: number;
  /** Raw output; undefined: raw unless stdout is a terminal. */
  raw?: boolean;
  /** Ask for RESP3 (HELLO 3) after connecting. */
  resp3: boolean;
  /** Exit with 1 when a one-shot command gets an error reply (redis-cli's -e). */
  exitOnError: boolean;
}

/** What a command that gets no reply by design (SHUTDOWN) counts as. */
const nothing: RespValue = { type: 'null' };

function writeOut(s: string): void {
  process.stdout.write(Buffer.from(s, 'latin1'));
}

function writeErr(s: string): void {
  process.stderr.write(s + '\n');
}

/** Splits a typed line as redis-cli does (quotes, escapes), into byte strings; null if quotes do not balance. */
export function splitLine(line: string): string[] | null {
  const buf = Buffer.from(line, 'utf8');
  return splitInlineArgs(buf, 0, buf.length);
}

/** Command-line arguments arrive as text; the wire wants their UTF-8 bytes. */
function toByteStrings(args: readonly string[]): string[] {
  return args.map((a) => Buffer.from(a, 'utf8').toString('latin1'));
}

/** One connection's worth of state: reconnects on demand and remembers the selected database. */
class CliSession {
  private client: KeyMeshClient | null = null;
  private db: number;

  constructor(
    private readonly opts: CliOptions,
    private readonly raw: boolean,
  ) {
    this.db = opts.db;
  }

  get connected(): boolean {
    return this.client !== null && this.client.connected;
  }

  prompt(): string {
    if (!this.connected) return 'not connected> ';
    const host = this.opts.host.includes(':') ? `[${this.opts.host}]` : this.opts.host;
    return `${host}:${this.opts.port}${this.db !== 0 ? `[${this.db}]` : ''}> `;
  }

  /** Connects, then AUTH, SELECT and HELLO as asked. Says on stderr why it failed. */
  async connect(): Promise<boolean> {
    this.client?.destroy();
    this.client = null;
    let c: KeyMeshClient;
    try {
      c = await KeyMeshClient.connect({ host: this.opts.host, port: this.opts.port });
    } catch (e) {
      writeErr(e instanceof ConnectError ? e.message : `Could not connect to KeyMesh at ${this.opts.host}:${this.opts.port}: ${(e as Error).message}`);
      return false;
    }
    if (!(await this.handshake(c))) {
      c.destroy();
      return false;
    }
    this.client = c;
    return true;
  }

  /** AUTH, SELECT and HELLO as asked, on every (re)connection, as redis-cli does. */
  private async handshake(c: KeyMeshClient): Promise<boolean> {
    const steps: [string[], string][] = [];
    if (this.opts.password !== undefined) steps.push([['AUTH', this.opts.password], 'AUTH failed']);
    if (this.db !== 0) steps.push([['SELECT', String(this.db)], `SELECT ${this.db} failed`]);
    if (this.opts.resp3) steps.push([['HELLO', '3'], 'HELLO 3 failed']);
    try {
      for (const [argv, what] of steps) {
        const r = await c.call(...argv);
        if (r.type === 'error') {
          writeErr(`${what}: ${r.message}`);
          return false;
        }
      }
    } catch (e) {
      writeErr(`Error: ${(e as Error).message}`);
      return false;
    }
    return true;
  }

  /** Runs one command and prints its reply; null when there is no connection to run it on. */
  async execute(argv: string[]): Promise<RespValue | null> {
    if (!this.connected && !(await this.connect())) return null;
    let reply: RespValue;
    try {
      // Not retried on failure: the command may already have been applied.
      reply = await this.client!.call(...argv.map((a) => Buffer.from(a, 'latin1')));
    } catch (e) {
      this.client?.destroy();
      this.client = null;
      // SHUTDOWN succeeds by closing the connection: redis-cli reports nothing.
      if (argv[0]!.toLowerCase() === 'shutdown') return nothing;
      writeErr(`Error: ${(e as Error).message === 'Connection closed' ? 'Server closed the connection' : (e as Error).message}`);
      return null;
    }
    writeOut(formatReply(reply, this.raw, printsVerbatim(argv)));
    if (argv.length === 2 && argv[0]!.toLowerCase() === 'select' && reply.type !== 'error') this.db = Number(argv[1]);
    return reply;
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    await c?.close();
  }
}

/** The reader went away (`keymesh cli … | head`): nothing more to do, and no stack trace. */
function onStdoutError(e: NodeJS.ErrnoException): void {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
}

function isQuit(argv: readonly string[]): boolean {
  const cmd = argv[0]!.toLowerCase();
  return argv.length === 1 && (cmd === 'quit' || cmd === 'exit');
}

/** Runs the cli; resolves with the process exit code. */
export async function runCli(opts: CliOptions, command: readonly string[]): Promise<number> {
  process.stdout.on('error', onStdoutError);
  const session = new CliSession(opts, opts.raw ?? !process.stdout.isTTY);
  if (command.length > 0) return oneShot(session, toByteStrings(command), opts.exitOnError);
  if (!process.stdin.isTTY) return fromStdin(session);
  return interactive(session);
}

async function oneShot(session: CliSession, argv: string[], exitOnError: boolean): Promise<number> {
  if (!(await session.connect())) return 1;
  const reply = await session.execute(argv);
  await session.close();
  if (reply === null) return 1;
  return exitOnError && reply.type === 'error' ? 1 : 0;
}

async function fromStdin(session: CliSession): Promise<number> {
  if (!(await session.connect())) return 1;
  let status = 0;
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  for await (const line of rl) {
    const argv = splitLine(line);
    if (argv === null) {
      writeErr('Invalid argument(s)');
      continue;
    }
    if (argv.length === 0) continue;
    if (isQuit(argv)) break;
    if ((await session.execute(argv)) === null) status = 1;
  }
  rl.close();
  await session.close();
  return status;
}

async function interactive(session: CliSession): Promise<number> {
  const history = new History(historyPath());
  await session.connect();
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    history: history.forReadline(),
    historySize: historyLinesMax,
    prompt: session.prompt(),
  });
  // Ctrl-C leaves, as in redis-cli (readline would otherwise only pause).
  rl.on('SIGINT', () => rl.close());
  rl.prompt();
  for await (const line of rl) {
    const argv = splitLine(line);
    if (argv === null) writeOut('Invalid argument(s)\n');
    else if (argv.length > 0) {
      if (!isSensitive(argv)) history.add(line);
      if (isQuit(argv)) break;
      await session.execute(argv);
    }
    rl.setPrompt(session.prompt());
    rl.prompt();
  }
  rl.close();
  await session.close();
  return 0;
}
