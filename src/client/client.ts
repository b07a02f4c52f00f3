// A small promise-based KeyMesh (and Redis) client over one TCP connection, used by
// the CLI, the benchmarks and the tests.
//
// Calls are pipelined: each is written at once and its promise waits in a queue;
// replies arrive in request order, so the oldest waiter takes the next reply. All
// calls made in one tick are corked into a single socket write.

import net from 'node:net';
import { ReplyDecoder, type RespValue } from '../protocol/reply-decoder.js';

export type { RespValue } from '../protocol/reply-decoder.js';

export interface ConnectOptions {
  host?: string;
  port?: number;
  /** Gives up connecting after this long (default 10 s). */
  timeoutMs?: number;
}

export const defaultHost = '127.0.0.1';
export const defaultPort = 9000;
const defaultConnectTimeoutMs = 10_000;

/** Could not connect. The message is the line redis-cli prints, with our name. */
export class ConnectError extends Error {
  readonly code: string;
  constructor(host: string, port: number, code: string, reason: string) {
    super(`Could not connect to KeyMesh at ${host}:${port}: ${reason}`);
    this.name = 'ConnectError';
    this.code = code;
  }
}

/** An error reply, thrown by `callOrThrow`. */
export class ReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyError';
  }
}

/** The C library's wording for the usual failures, as redis-cli shows them. */
const reasons: Record<string, string> = {
  ECONNREFUSED: 'Connection refused',
  ETIMEDOUT: 'Connection timed out',
  ENOTFOUND: 'Name or service not known',
  EAI_AGAIN: 'Temporary failure in name resolution',
  EHOSTUNREACH: 'No route to host',
  ENETUNREACH: 'Network is unreachable',
  ECONNRESET: 'Connection reset by peer',
};

function errorCode(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'EUNKNOWN';
}

interface Waiter {
  resolve: (v: RespValue) => void;
  reject: (e: Error) => void;
}

const CRLF = '\r\n';

export class KeyMeshClient {
  readonly host: string;
  readonly port: number;
  /** RESP3 out-of-band pushes (invalidation, pub/sub); without a handler they are dropped. */
  onPush: ((v: RespValue) => void) | undefined;
  private readonly decoder = new ReplyDecoder();
  private readonly waiters: (Waiter | undefined)[] = [];
  private waitersHead = 0;
  private corked = false;
  private closedError: Error | null = null;
  private readonly closed: Promise<void>;

  private constructor(
    private readonly socket: net.Socket,
    host: string,
    port: number,
  ) {
    this.host = host;
    this.port = port;
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    this.closed = new Promise((resolve) => socket.once('close', () => this.onClose(resolve)));
  }

  static connect(opts: ConnectOptions = {}): Promise<KeyMeshClient> {
    const host = opts.host ?? defaultHost;
    const port = opts.port ?? defaultPort;
    const timeoutMs = opts.timeoutMs ?? defaultConnectTimeoutMs;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port, noDelay: true });
      const fail = (code: string, reason: string): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(new ConnectError(host, port, code, reason));
      };
      const timer = setTimeout(() => fail('ETIMEDOUT', reasons.ETIMEDOUT!), timeoutMs);
      const onError = (e: Error): void => {
        const code = errorCode(e);
        fail(code, reasons[code] ?? e.message);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        resolve(new KeyMeshClient(socket, host, port));
      });
    });
  }

  /** Whether the connection is still usable. */
  get connected(): boolean {
    return this.closedError === null;
  }

  /** Calls awaiting their reply. */
  get inFlight(): number {
    return this.waiters.length - this.waitersHead;
  }

  /**
   * Sends one command; resolves with its reply, error replies included (as values).
   * Strings are sent as UTF-8; pass a Buffer for exact bytes.
   */
  call(...args: (string | Buffer)[]): Promise<RespValue> {
    if (this.closedError !== null) return Promise.reject(this.closedError);
    if (args.length === 0) return Promise.reject(new Error('call needs a command name'));
    this.write(args);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** As `call`, but an error reply rejects with a ReplyError. */
  async callOrThrow(...args: (string | Buffer)[]): Promise<RespValue> {
    const v = await this.call(...args);
    if (v.type === 'error') throw new ReplyError(v.message);
    return v;
  }

  /** Closes after the calls in flight have been answered. */
  async close(): Promise<void> {
    if (this.closedError === null) this.socket.end();
    await this.closed;
  }

  /** Closes at once; calls in flight are rejected. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Encodes a multibulk: headers joined into strings, Buffers passed through uncopied. */
  private write(args: (string | Buffer)[]): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(this.uncork);
    }
    let head = '*' + args.length + CRLF;
    for (const a of args) {
      if (typeof a === 'string') {
        head += '$' + Buffer.byteLength(a, 'utf8') + CRLF + a + CRLF;
        continue;
      }
      this.socket.write(head + '$' + a.length + CRLF, 'utf8');
      this.socket.write(a);
      head = CRLF;
    }
    this.socket.write(head, 'utf8');
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private readonly onData = (chunk: Buffer): void => {
    this.decoder.push(chunk);
    let v: RespValue | undefined;
    try {
      while ((v = this.decoder.next()) !== undefined) this.deliver(v);
    } catch (e) {
      this.closedError = e instanceof Error ? e : new Error(String(e));
      this.socket.destroy();
    }
  };

  private deliver(v: RespValue): void {
    if (v.type === 'push' && this.onPush !== undefined) {
      this.onPush(v);
      return;
    }
    const w = this.waiters[this.waitersHead];
    if (w === undefined) return; // nobody asked: an unsolicited push with no handler
    this.waiters[this.waitersHead++] = undefined;
    if (this.waitersHead > 1024 && this.waitersHead * 2 > this.waiters.length) {
      this.waiters.splice(0, this.waitersHead);
      this.waitersHead = 0;
    }
    w.resolve(v);
  }

  private readonly onError = (e: Error): void => {
    const code = errorCode(e);
    this.closedError ??= new Error(reasons[code] ?? e.message);
  };

  private onClose(resolve: () => void): void {
    this.closedError ??= new Error('Connection closed');
    this.socket.off('data', this.onData);
    this.socket.off('error', this.onError);
    for (let i = this.waitersHead; i < this.waiters.length; i++) this.waiters[i]?.reject(this.closedError);
    this.waiters.length = 0;
    this.waitersHead = 0;
    resolve();
  }
}
