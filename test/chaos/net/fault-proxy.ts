// A TCP proxy for one link that can be cut and slowed without corrupting the stream.
//
// A cut must look like a partition, not like a crash: bytes stop, nothing is lost or
// reordered, and neither end learns anything (no FIN, no RST) until the link heals. So a cut
// stops reading both sockets and lets TCP backpressure build; connections opened during a
// cut are accepted (the kernel would have completed the handshake to a live proxy anyway) but
// held, and only dialled upstream once healed. Half-closes are mirrored, so each end sees
// the other's FIN exactly as it would without the proxy.

import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

/** Bytes one direction of a connection holds (delayed, or waiting for a slow reader) before it stops reading its source. */
const heldBytesMax = 1 << 20;
/** Longest delay accepted; a larger value is almost certainly a unit mistake. */
export const delayMsMax = 60_000;

interface HeldChunk {
  readonly bytes: Buffer;
  /** performance.now() at which the chunk may be written; never earlier than the chunk before it. */
  readonly dueMs: number;
}

/** What a connection needs to know about its proxy's faults. */
interface LinkFaults {
  readonly cut: boolean;
  readonly delayMs: number;
}

/** One direction of a proxied connection: reads `source`, writes `sink`, in order. */
class Flow {
  private readonly held: HeldChunk[] = [];
  private heldBytes = 0;
  private lastDueMs = 0;
  private sourceEnded = false;
  /** The source socket is gone: after flushing, close the sink as well. */
  private sourceClosed = false;
  private sinkClosing = false;
  private waitingDrain = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly source: net.Socket,
    private readonly sink: net.Socket,
    private readonly faults: LinkFaults,
  ) {
    source.on('data', (bytes: Buffer) => this.onData(bytes));
    source.on('end', () => {
      this.sourceEnded = true;
      this.pump();
    });
    sink.on('drain', () => {
      this.waitingDrain = false;
      this.pump();
    });
  }

  /** Called when the source socket has closed (cleanly or not). */
  onSourceClosed(): void {
    this.sourceClosed = true;
    this.pump();
  }

  /** Moves whatever the current faults allow; call after every change of faults. */
  pump(): void {
    this.clearTimer();
    if (this.faults.cut) {
      this.source.pause();
      return;
    }
    if (this.sink.destroyed) {
      // The receiver is gone: like TCP, what it never read is lost. The other direction's
      // flow closes our source once it has delivered what it holds.
      this.held.length = 0;
      this.heldBytes = 0;
      return;
    }
    const now = performance.now();
    while (this.held.length > 0 && !this.waitingDrain) {
      const head = this.held[0]!;
      if (head.dueMs > now) {
        this.timer = setTimeout(() => this.pump(), Math.ceil(head.dueMs - now));
        break;
      }
      this.held.shift();
      this.heldBytes -= head.bytes.length;
      if (!this.sink.write(head.bytes)) this.waitingDrain = true;
    }
    assert(this.heldBytes >= 0, 'held byte count went negative');
    if (this.held.length === 0) this.finishSink();
    if (this.waitingDrain || this.heldBytes >= heldBytesMax) this.source.pause();
    else if (!this.source.destroyed) this.source.resume();
  }

  stop(): void {
    this.clearTimer();
  }

  private onData(bytes: Buffer): void {
    const dueMs = Math.max(performance.now() + this.faults.delayMs, this.lastDueMs);
    this.lastDueMs = dueMs;
    this.held.push({ bytes, dueMs });
    this.heldBytes += bytes.length;
    this.pump();
  }

  /** Passes on the source's FIN, and once the source is gone closes the sink too (nothing can answer it any more). */
  private finishSink(): void {
    if ((this.sourceEnded || this.sourceClosed) && !this.sink.writableEnded) this.sink.end();
    if (this.sourceClosed && !this.sinkClosing) {
      this.sinkClosing = true;
      if (this.sink.writableFinished) this.sink.destroy();
      else this.sink.once('finish', () => this.sink.destroy());
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** One client connection and, once dialled, its upstream connection. */
class ProxiedConnection {
  private upstream: net.Socket | null = null;
  private flows: Flow[] = [];
  private dialled = false;

  constructor(
    readonly downstream: net.Socket,
    private readonly target: ProxyTarget,
    private readonly faults: LinkFaults,
    private readonly onGone: (c: ProxiedConnection) => void,
  ) {
    downstream.on('error', () => {});
    downstream.once('close', () => {
      // Held and never dialled: there is no far side to tell.
      if (!this.dialled) this.destroy();
    });
  }

  /** Dials upstream unless cut or already dialled; otherwise moves bytes as the faults allow. */
  update(): void {
    if (!this.dialled) {
      if (!this.faults.cut && !this.downstream.destroyed) this.dial();
      return;
    }
    for (const f of this.flows) f.pump();
  }

  destroy(): void {
    for (const f of this.flows) f.stop();
    this.downstream.destroy();
    this.upstream?.destroy();
    this.onGone(this);
  }

  private dial(): void {
    this.dialled = true;
    const up = net.connect({ host: this.target.host, port: this.target.port, allowHalfOpen: true });
    this.upstream = up;
    let gone = 0;
    const closed = (): void => {
      if (++gone === 2) this.destroy();
    };
    up.on('error', () => {});
    up.once('connect', () => {
      if (this.downstream.destroyed) {
        up.destroy();
        return;
      }
      const toUp = new Flow(this.downstream, up, this.faults);
      const toDown = new Flow(up, this.downstream, this.faults);
      this.flows = [toUp, toDown];
      this.downstream.once('close', () => toUp.onSourceClosed());
      up.once('close', () => toDown.onSourceClosed());
      toUp.pump();
      toDown.pump();
    });
    // Refused or unreachable upstream: the dialler sees its connection reset, as it would directly.
    up.once('close', () => {
      if (this.flows.length === 0 && !this.downstream.destroyed) this.downstream.resetAndDestroy();
      closed();
    });
    this.downstream.once('close', closed);
  }
}

/** A listening proxy for one link; `setCut` and `setDelay` apply to every connection, open or new. */
export class FaultProxy implements LinkFaults {
  private isCut = false;
  private delay = 0;
  private readonly server: net.Server;
  private readonly connections = new Set<ProxiedConnection>();
  private listenPort = 0;
  private closing: Promise<void> | null = null;

  constructor(
    readonly target: ProxyTarget,
    private readonly listenHost = '127.0.0.1',
  ) {
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.accept(s));
  }

  /** Starts listening (port 0: any free port) and resolves with the port. */
  async listen(port = 0): Promise<number> {
    assert(this.closing === null, 'listen() after close()');
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.listenHost, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const addr = this.server.address();
    assert(typeof addr === 'object' && addr !== null, 'a TCP server has an address object');
    this.listenPort = addr.port;
    return addr.port;
  }

  get port(): number {
    assert(this.listenPort !== 0, 'the proxy is not listening yet');
    return this.listenPort;
  }

  /** Open connections, held ones included. */
  get connectionCount(): number {
    return this.connections.size;
  }

  get cut(): boolean {
    return this.isCut;
  }

  get delayMs(): number {
    return this.delay;
  }

  setCut(cut: boolean): void {
    if (this.isCut === cut) return;
    this.isCut = cut;
    for (const c of this.connections) c.update();
  }

  /** Delays every chunk, both ways, by `ms` (order is kept: a chunk never overtakes an earlier one). */
  setDelay(ms: number): void {
    assert(Number.isFinite(ms) && ms >= 0 && ms <= delayMsMax, `delay must be 0..${delayMsMax} ms, got ${ms}`);
    this.delay = ms;
  }

  /** Stops listening and destroys every connection; idempotent. */
  close(): Promise<void> {
    if (this.closing === null) {
      this.closing = new Promise<void>((resolve) => {
        if (!this.server.listening) return resolve();
        this.server.close(() => resolve());
      });
      for (const c of [...this.connections]) c.destroy();
    }
    return this.closing;
  }

  private accept(socket: net.Socket): void {
    if (this.closing !== null) {
      socket.destroy();
      return;
    }
    const c = new ProxiedConnection(socket, this.target, this, (gone) => this.connections.delete(gone));
    this.connections.add(c);
    c.update();
  }
}
