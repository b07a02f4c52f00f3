// The load behind `keymesh bench`, in the manner of redis-benchmark: `clients`
// connections, each writing a pipeline of `pipeline` requests and waiting for all of
// their replies before writing the next, until `requests` replies have come back.
//
// A request's latency runs from the write of its pipeline to the arrival of its reply,
// and goes into an HDR histogram (node:perf_hooks), so percentiles cost no sorting and
// a long run no memory. Replies are decoded in full, so an error reply is counted and
// shown rather than mistaken for a success.

import net from 'node:net';
import { createHistogram, performance } from 'node:perf_hooks';
import { ReplyDecoder, type RespValue } from '../protocol/reply-decoder.js';
import { ConnectError } from '../client/client.js';

export const benchTests = ['ping', 'set', 'get', 'incr', 'mset'] as const;
export type BenchTest = (typeof benchTests)[number];

export interface LoadOptions {
  host: string;
  port: number;
  password?: string;
  db: number;
  /** Sent as CONSISTENCY on every connection (KeyMesh only); unset: the server's default. */
  consistency?: string;
  clients: number;
  requests: number;
  pipeline: number;
  /** Bytes of each SET/MSET value. */
  dataSize: number;
  /** Keys drawn at random from 0..keyspaceLen-1 (redis-benchmark's -r); null: one fixed key. */
  keyspaceLen: number | null;
  connectTimeoutMs?: number;
}

export interface LoadResult {
  /** Upper-case test name, as redis-benchmark prints it. */
  test: string;
  requests: number;
  errors: number;
  /** The first error reply's text, if any. */
  firstError: string | null;
  elapsedMs: number;
  rps: number;
  avgMs: number;
  minMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The server closed or broke the connection mid-run, or refused the setup commands. */
export class LoadError extends Error {
  override readonly name = 'LoadError';
}

/** MSET sets this many keys per request, as redis-benchmark's MSET test does. */
const msetKeys = 10;
const connectTimeoutMsDefault = 10_000;

function bulk(s: string): string {
  return `$${s.length}\r\n${s}\r\n`;
}

function command(args: readonly string[]): string {
  let out = `*${args.length}\r\n`;
  for (const a of args) out += bulk(a);
  return out;
}

/** Builds one request; a fresh random key each call when the keyspace is random. */
export function requestMaker(test: BenchTest, dataSize: number, keyspaceLen: number | null): () => string {
  const value = 'x'.repeat(dataSize);
  // 12 digits, as redis-benchmark replaces __rand_int__: every key has the same length.
  const key = (prefix: string): string =>
    keyspaceLen === null ? `${prefix}:__rand_int__` : `${prefix}:${String(Math.floor(Math.random() * keyspaceLen)).padStart(12, '0')}`;
  switch (test) {
    case 'ping':
      return () => command(['PING']);
    case 'set':
      return () => command(['SET', key('key'), value]);
    case 'get':
      return () => command(['GET', key('key')]);
    case 'incr':
      return () => command(['INCR', key('counter')]);
    case 'mset':
      return () => {
        const args = ['MSET'];
        for (let i = 0; i < msetKeys; i++) args.push(key('key'), value);
        return command(args);
      };
  }
}

function errorText(v: RespValue): string | null {
  return v.type === 'error' ? v.message : null;
}

/** Shared by the run's connections: how many requests are left to issue, and what came back. */
class RunState {
  issued = 0;
  completed = 0;
  errors = 0;
  firstError: string | null = null;
  readonly histogram = createHistogram({ lowest: 1, highest: 3_600_000_000, figures: 3 });
  constructor(readonly requests: number) {}
}

/** One benchmark connection: setup commands, then pipelines until the run is done. */
class LoadConnection {
  private readonly decoder = new ReplyDecoder();
  private awaiting = 0;
  private sentAt = 0;
  /** Replies to setup commands still due; load replies are counted only after them. */
  private setupLeft = 0;
  private pipelineText: string | null;
  private finish: ((e?: Error) => void) | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly state: RunState,
    private readonly pipeline: number,
    private readonly makeRequest: () => string,
    randomKeys: boolean,
  ) {
    // A fixed request is built once per pipeline length, not per request.
    this.pipelineText = randomKeys ? null : makeRequest().repeat(pipeline);
    socket.on('data', this.onData);
    socket.on('error', (e: Error) => this.fail(new LoadError(`connection error: ${e.message}`)));
    socket.on('close', () => this.fail(new LoadError('Server closed the connection')));
  }

  /** Sends the setup commands (AUTH, SELECT, CONSISTENCY); resolves once all succeeded. */
  setup(commands: readonly string[]): Promise<void> {
    this.setupLeft = commands.length;
    const done = this.waitFinish();
    if (commands.length > 0) this.socket.write(commands.join(''), 'latin1');
    else this.finish?.();
    return done;
  }

  /** Sends pipelines until the run has issued all its requests; resolves when the last reply is in. */
  run(): Promise<void> {
    const done = this.waitFinish();
    this.sendNext();
    return done;
  }

  private waitFinish(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.finish = (e) => {
        this.finish = null;
        if (e === undefined) resolve();
        else reject(e);
      };
    });
  }

  close(): void {
    this.finish = null;
    this.socket.destroy();
  }

  private fail(e: Error): void {
    this.finish?.(e);
  }

  private sendNext(): void {
    const s = this.state;
    const n = Math.min(this.pipeline, s.requests - s.issued);
    if (n <= 0) {
      this.finish?.();
      return;
    }
    s.issued += n;
    this.awaiting = n;
    let text: string;
    if (this.pipelineText !== null) {
      text = n === this.pipeline ? this.pipelineText : this.pipelineText.slice(0, (this.pipelineText.length / this.pipeline) * n);
    } else {
      text = '';
      for (let i = 0; i < n; i++) text += this.makeRequest();
    }
    this.sentAt = performance.now();
    this.socket.write(text, 'latin1');
  }

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.decoder.push(chunk);
      const now = performance.now();
      const s = this.state;
      let v: RespValue | undefined;
      while ((v = this.decoder.next()) !== undefined) {
        const err = errorText(v);
        if (this.setupLeft > 0) {
          this.setupLeft--;
          if (err !== null) throw new LoadError(err);
          if (this.setupLeft === 0) this.finish?.();
          continue;
        }
        if (err !== null) {
          s.errors++;
          s.firstError ??= err;
        }
        s.histogram.record(Math.max(1, Math.round((now - this.sentAt) * 1000)));
        s.completed++;
        if (--this.awaiting === 0) this.sendNext();
      }
    } catch (e) {
      this.fail(e instanceof Error ? e : new LoadError(String(e)));
    }
  };
}

function connect(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectError(host, port, 'ETIMEDOUT', 'Connection timed out'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      // Until its LoadConnection listens (the other connects may still be pending), an
      // error must not go unhandled; writing to the closed socket later reports it.
      socket.on('error', () => undefined);
      resolve(socket);
    });
    socket.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = e.code ?? 'EUNKNOWN';
      reject(new ConnectError(host, port, code, code === 'ECONNREFUSED' ? 'Connection refused' : e.message));
    });
  });
}

/** One test, run to the end; `completed` and `elapsedMs` may be polled meanwhile for a progress line. */
export class LoadRun {
  private readonly state: RunState;
  private startedAt = 0;

  constructor(
    private readonly opts: LoadOptions,
    readonly test: BenchTest,
  ) {
    this.state = new RunState(opts.requests);
  }

  get completed(): number {
    return this.state.completed;
  }

  /** Milliseconds since the first request was written. */
  get elapsedMs(): number {
    return this.startedAt === 0 ? 0 : performance.now() - this.startedAt;
  }

  async run(): Promise<LoadResult> {
    const o = this.opts;
    const setup: string[] = [];
    if (o.password !== undefined) setup.push(command(['AUTH', o.password]));
    if (o.db !== 0) setup.push(command(['SELECT', String(o.db)]));
    if (o.consistency !== undefined) setup.push(command(['CONSISTENCY', o.consistency]));
    const makeRequest = requestMaker(this.test, o.dataSize, o.keyspaceLen);
    const connecting = await Promise.allSettled(
      Array.from({ length: o.clients }, () => connect(o.host, o.port, o.connectTimeoutMs ?? connectTimeoutMsDefault)),
    );
    const sockets = connecting.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = connecting.find((r) => r.status === 'rejected');
    if (refused !== undefined) {
      for (const s of sockets) s.destroy();
      throw refused.reason;
    }
    const conns = sockets.map((s) => new LoadConnection(s, this.state, o.pipeline, makeRequest, o.keyspaceLen !== null));
    try {
      await Promise.all(conns.map((c) => c.setup(setup)));
      this.startedAt = performance.now();
      await Promise.all(conns.map((c) => c.run()));
    } finally {
      for (const c of conns) c.close();
    }
    const elapsedMs = performance.now() - this.startedAt;
    const h = this.state.histogram;
    const ms = (us: number): number => us / 1000;
    return {
      test: this.test.toUpperCase(),
      requests: this.state.completed,
      errors: this.state.errors,
      firstError: this.state.firstError,
      elapsedMs,
      rps: (this.state.completed / elapsedMs) * 1000,
      avgMs: ms(h.mean),
      minMs: ms(h.min),
      p50Ms: ms(h.percentile(50)),
      p95Ms: ms(h.percentile(95)),
      p99Ms: ms(h.percentile(99)),
      maxMs: ms(h.max),
    };
  }
}
