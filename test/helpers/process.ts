// Real server processes for end-to-end, cluster and crash tests (and the benchmarks):
// spawn on a free port, wait until it answers PING, keep its output for failure
// messages, and always kill it. Plus a raw TCP client that sees the exact bytes.
//
// Each process runs in its own temporary working directory so its data (the default
// data dir is relative) never lands in the repository and parallel tests never share it.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';

export { freePort };

/** The repository root, found from this file's place in the build output (dist/test/helpers). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The CLI entry point; KEYMESH_BIN points the tests at another build. */
export const keymeshBin = process.env['KEYMESH_BIN'] ?? join(repoRoot, 'bin', 'keymesh.js');
const nodeFloorScript = join(repoRoot, 'dist', 'bench', 'node-floor-server.js');

const readyTimeoutMs = 15_000;
const stopTimeoutMs = 5_000;
/** Output kept per process for failure messages; older output is dropped. */
const outputKeepBytes = 64 * 1024;
const portAttemptsMax = 5;

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every child still running, killed if the test process exits without tearing down. */
const live = new Set<ChildProcess>();
function killAll(): void {
  for (const child of live) child.kill('SIGKILL');
}
process.on('exit', killAll);
// The test runner stops a timed-out file with a signal; 'exit' alone would not run then
// and the servers would outlive it.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    killAll();
    process.kill(process.pid, sig);
  });
}

export interface SpawnSpec {
  /** Label in error messages. */
  name: string;
  command: string;
  /** Arguments, given the port chosen for this attempt. */
  args: (port: number) => string[];
  /** Fixed port; by default a free one is picked (and re-picked if taken meanwhile). */
  port?: number;
  env?: NodeJS.ProcessEnv;
  /** Working directory; by default a fresh temporary one, removed on stop. */
  cwd?: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One running server process. */
export class ServerProcess {
  private child: ChildProcess;
  private output = '';
  private exitStatus: ExitStatus | null = null;
  private exitWaiters: (() => void)[] = [];
  /** Set when we stop or signal it, so an exit on its own (a crash) can be told apart. */
  private stopping = false;
  private crashed: ExitStatus | null = null;

  private constructor(
    readonly spec: SpawnSpec,
    readonly port: number,
    readonly cwd: string,
    private readonly ownsCwd: boolean,
  ) {
    this.child = this.spawnChild();
  }

  /** Spawns and waits until the server answers PING on its port. */
  static async start(spec: SpawnSpec): Promise<ServerProcess> {
    const ownsCwd = spec.cwd === undefined;
    const cwd = spec.cwd ?? mkdtempSync(join(tmpdir(), 'keymesh-e2e-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < portAttemptsMax; attempt++) {
      const port = spec.port ?? (await freePort());
      const proc = new ServerProcess(spec, port, cwd, ownsCwd);
      try {
        await proc.waitReady();
        return proc;
      } catch (e) {
        lastError = e;
        await proc.stop({ keepCwd: true, allowCrash: true });
        // Only a port taken between freePort() and bind is worth another attempt.
        if (spec.port !== undefined || !/EADDRINUSE|address already in use/i.test(proc.output)) break;
      }
    }
    if (ownsCwd) rmSync(cwd, { recursive: true, force: true });
    throw lastError;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitStatus === null;
  }

  /** Recent stdout and stderr, interleaved as received. */
  get recentOutput(): string {
    return this.output;
  }

  private spawnChild(): ChildProcess {
    this.exitStatus = null;
    this.stopping = false;
    const child = spawn(this.spec.command, this.spec.args(this.port), {
      cwd: this.cwd,
      env: this.spec.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    const keep = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
      if (this.output.length > outputKeepBytes) this.output = this.output.slice(-outputKeepBytes);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (e) => keep(Buffer.from(`spawn error: ${e.message}\n`)));
    child.on('exit', (code, signal) => {
      live.delete(child);
      this.exitStatus = { code, signal };
      if (!this.stopping) this.crashed = this.exitStatus;
      for (const w of this.exitWaiters.splice(0)) w();
    });
    return child;
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + readyTimeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw this.failure(`exited during start-up (${describeExit(this.exitStatus!)})`);
      if (await answersPing(this.port)) return;
      await sleep(50);
    }
    throw this.failure(`did not answer PING within ${readyTimeoutMs} ms`);
  }

  /** An Error carrying the process's recent output, for assertion messages. */
  failure(what: string): Error {
    return new Error(`${this.spec.name} on port ${this.port} ${what}\n--- its output ---\n${this.output}`);
  }

  /** Resolves when the process has exited. */
  exited(): Promise<ExitStatus> {
    if (this.exitStatus !== null) return Promise.resolve(this.exitStatus);
    return new Promise((resolve) => this.exitWaiters.push(() => resolve(this.exitStatus!)));
  }

  /** Sends a signal without waiting (SIGKILL for crash tests, SIGSTOP to freeze one). */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    if (sig !== 'SIGSTOP' && sig !== 'SIGCONT') this.stopping = true;
    this.child.kill(sig);
  }

  /**
   * SIGTERM, then SIGKILL if it lingers; removes its temporary directory unless kept (restart).
   * Throws, with the process's output, if it had died on its own: a crash during a test
   * must not pass unnoticed in teardown.
   */
  async stop(opts: { keepCwd?: boolean; allowCrash?: boolean } = {}): Promise<ExitStatus> {
    if (this.running) {
      this.stopping = true;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.signal('SIGKILL'), stopTimeoutMs);
      await this.exited();
      clearTimeout(timer);
    }
    if (this.ownsCwd && !opts.keepCwd) rmSync(this.cwd, { recursive: true, force: true });
    const crashed = this.crashed;
    this.crashed = null;
    if (crashed !== null && !opts.allowCrash) throw this.failure(`had exited on its own (${describeExit(crashed)})`);
    return this.exitStatus!;
  }

  /** Starts the same command again on the same port and directory (after stop or a crash). */
  async restart(): Promise<void> {
    if (this.running) await this.stop({ keepCwd: true });
    this.crashed = null;
    this.output += '--- restarted ---\n';
    this.child = this.spawnChild();
    await this.waitReady();
  }

  /** Resident set size from /proc (Linux); undefined elsewhere. */
  rssBytes(): number | undefined {
    return procRssBytes(this.pid);
  }
}

function describeExit(s: ExitStatus): string {
  return s.signal !== null ? `signal ${s.signal}` : `code ${s.code}`;
}

/** VmRSS of a process in bytes, read from /proc/<pid>/status. */
export function procRssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? undefined : Number(m[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** True if something on `port` answers a RESP PING with +PONG. */
async function answersPing(port: number): Promise<boolean> {
  let conn: RawConnection | undefined;
  try {
    conn = await RawConnection.open(port, 1000);
    conn.write('*1\r\n$4\r\nPING\r\n');
    await conn.waitForText('\r\n', 1000);
    return conn.text().startsWith('+PONG');
  } catch {
    return false;
  } finally {
    conn?.destroy();
  }
}

export interface KeymeshOptions {
  /** Extra command-line arguments after `server --port N --bind 127.0.0.1`. */
  args?: string[];
  port?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** `keymesh server --port <free> --bind 127.0.0.1 …args`. */
export function startKeymesh(opts: KeymeshOptions = {}): Promise<ServerProcess> {
  const extra = opts.args ?? [];
  return ServerProcess.start({
    name: 'keymesh',
    command: process.execPath,
    args: (port) => [keymeshBin, 'server', '--port', String(port), '--bind', '127.0.0.1', ...extra],
    port: opts.port,
    cwd: opts.cwd,
    env: opts.env,
  });
}

/** A real redis-server with persistence off (for side-by-side tests and benchmarks). */
export function startRedis(opts: { args?: string[]; command?: string } = {}): Promise<ServerProcess> {
  const extra = opts.args ?? [];
  return ServerProcess.start({
    name: 'redis-server',
    command: opts.command ?? 'redis-server',
    args: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...extra],
  });
}

/** bench/node-floor-server.ts: Node's socket path with no command work, the benchmark's floor. */
export function startNodeFloor(): Promise<ServerProcess> {
  return ServerProcess.start({ name: 'node-floor', command: process.execPath, args: (port) => [nodeFloorScript, '--port', String(port)] });
}

/**
 * A raw TCP connection that records every byte received, for tests that must see the
 * exact wire format (plain-text replies, protocol errors, the moment of close).
 */
export class RawConnection {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private isClosed = false;
  private closeWaiters: (() => void)[] = [];
  private dataWaiters: (() => void)[] = [];

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.bytes += chunk.length;
      for (const w of this.dataWaiters.splice(0)) w();
    });
    socket.on('error', () => {
      // 'close' follows; a reset is one of the outcomes tests look for.
    });
    socket.on('close', () => {
      this.isClosed = true;
      for (const w of this.closeWaiters.splice(0)) w();
      for (const w of this.dataWaiters.splice(0)) w();
    });
  }

  static open(port: number, timeoutMs = 5000): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to ${port} timed out`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new RawConnection(socket));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** Bytes received and not yet taken. */
  get receivedBytes(): number {
    return this.bytes;
  }

  /** Writes and resolves once the data is handed to the kernel. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data, (e) => (e ? reject(e) : resolve()));
    });
  }

  /** Everything received and not yet taken. */
  buffer(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  /** Received bytes as a latin1 string (one char per byte). */
  text(): string {
    return this.buffer().toString('latin1');
  }

  /** Returns what was received and forgets it, so the next wait starts afresh. */
  take(): string {
    const s = this.text();
    this.chunks = [];
    this.bytes = 0;
    return s;
  }

  /** Resolves once `cond` holds on the received bytes; rejects on timeout or if the peer closes first. */
  async waitFor(cond: (received: Buffer) => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (cond(this.buffer())) return;
      if (this.isClosed) throw new Error(`connection closed while waiting for ${what}; received ${JSON.stringify(this.text().slice(0, 500))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; received ${JSON.stringify(this.text().slice(0, 500))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.dataWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  waitForText(s: string, timeoutMs = 10_000): Promise<void> {
    return this.waitFor((b) => b.includes(s, 0, 'latin1'), JSON.stringify(s), timeoutMs);
  }

  waitForBytes(n: number, timeoutMs = 10_000): Promise<void> {
    return this.waitFor(() => this.bytes >= n, `${n} bytes`, timeoutMs);
  }

  /** Sends `data` and returns what arrived once one complete RESP reply is there. */
  async request(data: string, timeoutMs = 10_000): Promise<string> {
    this.take();
    await this.write(data);
    await this.waitFor((b) => countRespReplies(b) >= 1, 'one RESP reply', timeoutMs);
    return this.take();
  }

  /** Resolves when the peer has closed; rejects after `timeoutMs`. */
  waitClosed(timeoutMs = 10_000): Promise<void> {
    if (this.isClosed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms; received ${JSON.stringify(this.text().slice(0, 500))}`)), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Half-closes our side politely. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/**
 * Counts complete top-level RESP2/RESP3 replies at the start of `buf` (stops at the first
 * incomplete one). Enough structure to frame replies, no value decoding.
 */
export function countRespReplies(buf: Buffer, max = Infinity): number {
  let pos = 0;
  let n = 0;
  while (n < max) {
    const end = skipReply(buf, pos);
    if (end < 0) break;
    pos = end;
    n++;
  }
  return n;
}

/** Returns the offset just after the reply starting at `pos`, or -1 if incomplete. */
function skipReply(buf: Buffer, pos: number): number {
  if (pos >= buf.length) return -1;
  const lineEnd = buf.indexOf('\r\n', pos, 'latin1');
  if (lineEnd < 0) return -1;
  const type = String.fromCharCode(buf[pos]!);
  const header = buf.toString('latin1', pos + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '$':
    case '=':
    case '!': {
      const len = Number(header);
      if (len < 0) return after;
      return buf.length >= after + len + 2 ? after + len + 2 : -1;
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const count = Number(header) * (type === '%' || type === '|' ? 2 : 1);
      let p = after;
      for (let i = 0; i < count; i++) {
        p = skipReply(buf, p);
        if (p < 0) return -1;
      }
      return p;
    }
    default:
      return after;
  }
}

/** Encodes one RESP request (arguments as latin1 strings or Buffers). */
export function resp(...argv: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${argv.length}\r\n`, 'latin1')];
  for (const a of argv) {
    const b = typeof a === 'string' ? Buffer.from(a, 'latin1') : a;
    parts.push(Buffer.from(`$${b.length}\r\n`, 'latin1'), b, Buffer.from('\r\n', 'latin1'));
  }
  return Buffer.concat(parts);
}

/** Reads one field of an INFO reply (`connected_clients` → "1"). */
export function infoField(info: string, field: string): string | undefined {
  const m = new RegExp(`^${field}:(.*?)\\r?$`, 'm').exec(info);
  return m?.[1];
}
