// One client connection: bytes in → decoder → dispatcher → replies out.
//
// Every complete request in a read is executed in order and the replies leave in one
// socket write. Backpressure: when the socket's buffer is full we stop executing (the
// rest stays in the decoder) and pause reading until 'drain'.
//
// Writes may complete later than they are proposed (group commit, replication). Several
// writes of one connection may be in flight at once — the log keeps their order — but a
// command that is not a write waits until they are all answered, so a client reads its
// own writes (except at the cluster's `eventual` level, where some writes are answered
// before they apply: see raft-node.ts). A write that is refused at once (a syntax error)
// while others are in flight has its reply queued behind theirs, so replies keep the
// order of requests.

import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { RequestDecoder, QueryBufferLimitError } from '../protocol/decoder.js';
import { ProtocolError } from '../protocol/errors.js';
import { Reply, ReplyMode } from '../protocol/reply.js';
import { Flag, type CommandContext } from '../commands/types.js';
import type { Database, Keyspace } from '../keyspace/database.js';
import type { ReplySink } from '../cluster/write-path.js';
import { ClientState } from './client-state.js';
import type { Server } from './server.js';

/** Replies buffered beyond this are written out before executing more requests. */
const replyFlushBytes = 64 * 1024;
/**
 * After the client shuts its sending side (`printf '…' | nc -q1`), how long the replies
 * still owed to it may take before the connection is dropped: writes and reads waiting
 * for the cluster end within its own wait; this bounds a WAIT or DEBUG SLEEP sent last.
 */
const halfCloseLingerMs = 10_000;

export class Connection implements CommandContext, ReplySink {
  readonly reply = new Reply();
  readonly client: ClientState;
  readonly decoder: RequestDecoder;
  now = 0;
  /** Writes proposed whose replies have not been written yet. */
  private pendingWrites = 0;
  /**
   * Replies in request order while writes are pending: `null` holds the place of a pending
   * write's reply, a string is a reply already made that must wait for those before it.
   */
  private readonly replyQueue: (string | null)[] = [];
  /** A decoded request held back until pending writes complete (it is not a write). */
  private held: string[] | null = null;
  private flushScheduled = false;
  /** A command's reply is being produced asynchronously (deferReply): run nothing else. */
  private deferred = false;
  private closed = false;
  private paused = false;
  /** The client shut its sending side: answer what it sent, then close. */
  private inputEnded = false;
  private lingerTimer: NodeJS.Timeout | null = null;
  /**
   * In a cluster, a read waits at the gate of its consistency level (raft-node.ts
   * readGate) while held. A strong read's confirmed index also covers the reads already
   * received when it was asked for: `dataSeq` counts reads from the socket and
   * `gateCoversSeq` is the count at which the last confirmation was requested.
   */
  private gateWaiting = false;
  private gateError: string | null = null;
  private gateCoversSeq = -1;
  private dataSeq = 0;
  /** The held read has passed the gate: run it without asking again. */
  private gatePassed = false;

  constructor(
    private readonly server: Server,
    readonly socket: Socket,
    id: number,
  ) {
    const nowMs = server.clock();
    this.client = new ClientState(
      id,
      `${socket.remoteAddress}:${socket.remotePort}`,
      `${socket.localAddress}:${socket.localPort}`,
      nowMs,
      server.config.str('requirepass') === '',
    );
    this.decoder = new RequestDecoder(server.decoderLimits());
    this.decoder.authenticated = this.client.authenticated;
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('drain', this.onDrain);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  get keyspace(): Keyspace {
    return this.server.keyspace;
  }

  get services(): Server {
    return this.server;
  }

  get db(): Database {
    return this.server.keyspace.db(this.client.db);
  }

  propose(argv: string[]): void {
    const sync = this.server.writePath.propose({ db: this.client.db, timeMs: this.now, argv }, this);
    // A read after this write must see it: an earlier confirmation no longer covers it.
    this.gateCoversSeq = -1;
    if (!sync) {
      this.pendingWrites++;
      this.replyQueue.push(null);
    }
  }

  deferReply(work: (reply: Reply) => Promise<void>): void {
    assert(this.pendingWrites === 0 && !this.deferred, 'deferReply runs only when nothing else is pending');
    this.deferred = true;
    const out = new Reply(this.reply.mode);
    const done = (): void => {
      this.deferred = false;
      if (this.closed) return;
      this.reply.out += out.out;
      this.process();
    };
    work(out).then(done, (e: unknown) => {
      out.error(`ERR ${e instanceof Error ? e.message : String(e)}`);
      done();
    });
  }

  expired(db: Database, key: string): void {
    this.server.expirer.noteExpired(db, key);
  }

  /**
   * The write path applied our oldest pending write and wrote its reply into `reply`.
   * Release the replies queued behind it; once none is pending, resume held requests.
   * Called synchronously for each entry of a batch: sending waits for the batch's end.
   */
  replyReady(): void {
    const head = this.replyQueue.shift();
    assert(head === null && this.pendingWrites > 0, 'replyReady without a pending write');
    this.pendingWrites--;
    while (this.replyQueue.length > 0 && this.replyQueue[0] !== null) this.reply.out += this.replyQueue.shift()!;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.afterReplies);
    }
  }

  private readonly afterReplies = (): void => {
    this.flushScheduled = false;
    if (this.closed) return;
    if (this.pendingWrites === 0) this.process();
    else this.flush();
  };

  private readonly onData = (chunk: Buffer): void => {
    this.server.stats.netInputBytes += chunk.length;
    this.dataSeq++;
    this.client.lastInteractionMs = this.server.clock();
    try {
      this.decoder.push(chunk);
    } catch (e) {
      if (e instanceof QueryBufferLimitError) {
        this.server.log.warn({ client: this.client.addr }, 'closing client that reached max query buffer length');
        this.close();
        return;
      }
      throw e;
    }
    this.process();
  };

  private readonly onDrain = (): void => {
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
      this.process();
    }
  };

  /**
   * The client will send nothing more (the server is half-open, so our side stays open).
   * Requests already received still run and are answered, including writes and reads
   * that wait for the log or the cluster (which Redis, answering at once, never has to
   * wait for); then the connection closes.
   */
  private readonly onEnd = (): void => {
    this.inputEnded = true;
    this.lingerTimer = setTimeout(() => this.socket.destroy(), halfCloseLingerMs);
    this.lingerTimer.unref();
    this.process();
  };

  private readonly onError = (): void => {
    // 'close' follows; resets from peers are routine and not worth a log line.
  };

  private readonly onClose = (): void => {
    this.closed = true;
    this.socket.off('data', this.onData);
    this.socket.off('drain', this.onDrain);
    this.socket.off('end', this.onEnd);
    if (this.lingerTimer !== null) clearTimeout(this.lingerTimer);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onClose);
    this.server.removeConnection(this);
  };

  /** Executes buffered requests until none is complete, one must wait, or output backs up. */
  private process(): void {
    const client = this.client;
    const reply = this.reply;
    const dispatcher = this.server.dispatcher;
    const plainInline = this.server.config.str('inline-replies') === 'plain';
    // One clock read per batch, as Redis caches its time per event-loop iteration.
    this.now = this.server.clock();
    while (!this.closed && !client.closeAfterReply && !this.paused && !this.deferred && !this.gateWaiting) {
      let argv = this.held;
      if (argv !== null) {
        if (this.pendingWrites > 0) break;
        this.held = null;
      } else {
        try {
          argv = this.decoder.next();
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
          reply.mode = this.decoder.lastWasInline && plainInline ? ReplyMode.Plain : client.resp;
          const before = reply.out.length;
          reply.error(e.message);
          this.queueIfPending(before);
          client.closeAfterReply = true;
          break;
        }
        if (argv === null) break;
        if (this.pendingWrites > 0 && !dispatcher.isWrite(argv[0]!)) {
          this.held = argv;
          break;
        }
      }
      client.mode = this.decoder.lastWasInline && plainInline ? ReplyMode.Plain : client.resp;
      reply.mode = client.mode;
      if (this.server.cluster !== null && this.gateError === null && this.holdAtReadGate(argv)) break;
      const before = reply.out.length;
      const pendingBefore = this.pendingWrites;
      if (this.gateError !== null) {
        reply.error(this.gateError);
        this.gateError = null;
      } else {
        dispatcher.execute(this, argv);
      }
      this.decoder.authenticated = client.authenticated;
      if (pendingBefore > 0) this.queueIfPending(before);
      if (reply.out.length >= replyFlushBytes) {
        this.flush();
        if (this.socket.writableNeedDrain) {
          this.paused = true;
          this.socket.pause();
        }
      }
    }
    this.flush();
    if (client.closeAfterReply && this.pendingWrites === 0 && !this.deferred) this.close();
    else if (this.inputEnded && this.pendingWrites === 0 && !this.deferred && !this.gateWaiting && !this.paused) this.close();
  }

  /** True when `argv` is a read that must wait for the cluster (it is then held). */
  private holdAtReadGate(argv: string[]): boolean {
    if (this.gatePassed) {
      this.gatePassed = false;
      return false;
    }
    const cluster = this.server.cluster!;
    const spec = this.server.dispatcher.find(argv[0]!);
    if (spec === undefined || (spec.flags & Flag.Read) === 0 || (spec.flags & Flag.Write) !== 0) return false;
    if (this.gateCoversSeq === this.dataSeq && cluster.consistencyOf(this.client) === 'strong') return false;
    const wait = cluster.readGate(this.client);
    if (wait === null) return false;
    const seq = this.dataSeq;
    this.held = argv;
    this.gateWaiting = true;
    void wait.then((err) => {
      this.gateWaiting = false;
      this.gatePassed = err === null;
      this.gateError = err;
      if (err === null) this.gateCoversSeq = seq;
      if (!this.closed) this.process();
    });
    return true;
  }

  /** Moves reply text written since `before` behind the replies still pending. */
  private queueIfPending(before: number): void {
    if (this.pendingWrites === 0 || this.reply.out.length === before) return;
    const text = this.reply.out.slice(before);
    this.reply.out = this.reply.out.slice(0, before);
    this.replyQueue.push(text);
  }

  private flush(): void {
    if (this.reply.out.length === 0 || this.closed) return;
    const out = this.reply.take();
    this.server.stats.netOutputBytes += out.length;
    this.socket.write(out, 'latin1');
    this.client.outputBufferBytes = this.socket.writableLength;
    if (this.socket.writableLength > this.server.outputLimitBytes) {
      this.server.log.warn({ client: this.client.addr }, 'closing client over the output buffer limit');
      this.socket.destroy();
    }
  }

  /** Sends what is buffered, then closes. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.socket.end();
    this.closed = true;
  }

  /** Immediate close (CLIENT KILL of another client, idle timeout, shutdown). */
  destroy(): void {
    this.socket.destroy();
  }
}
