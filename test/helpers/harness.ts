// Runs commands against a real Server's dispatcher without sockets, with a controllable
// clock, and returns replies as the exact bytes a client would receive.

import type { CommandContext } from '../../src/commands/types.js';
import type { ReplySink } from '../../src/cluster/write-path.js';
import type { Database, Keyspace } from '../../src/keyspace/database.js';
import { Reply, ReplyMode } from '../../src/protocol/reply.js';
import { ClientState } from '../../src/server/client-state.js';
import { Config, type SettingValue } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';
import { pino } from 'pino';

export class TestClock {
  constructor(public nowMs = 1_700_000_000_000) {}
  readonly fn = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

let nextId = 1;

/** One client of an in-process server. */
export class TestClient implements CommandContext, ReplySink {
  readonly reply: Reply;
  readonly client: ClientState;
  now = 0;
  /** `addr`: where the client connects from (loopback by default), as CLIENT LIST shows it. */
  constructor(
    readonly server: Server,
    mode: ReplyMode = ReplyMode.Resp2,
    addr = '127.0.0.1:50000',
  ) {
    this.reply = new Reply(mode);
    this.client = new ClientState(nextId++, addr, '127.0.0.1:9000', server.clock(), server.config.str('requirepass') === '');
    this.client.mode = mode;
    if (mode === ReplyMode.Resp3) this.client.resp = 3;
    server.clients.set(this.client.id, this.client);
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
    this.server.writePath.propose({ db: this.client.db, timeMs: this.now, argv }, this);
  }
  expired(db: Database, key: string): void {
    this.server.expirer.noteExpired(db, key);
  }
  replyReady(): void {}
  deferReply(work: (reply: Reply) => Promise<void>): void {
    const out = new Reply(this.reply.mode);
    this.pending = work(out).then(() => {
      this.reply.out += out.out;
    });
  }
  /** Set by a deferred reply; await it, then read `reply.take()`. */
  pending: Promise<void> | null = null;

  /** Runs one command; returns the raw reply bytes (RESP or plain text, per mode). */
  run(...argv: string[]): string {
    this.now = this.server.clock();
    // As the connection does: RESP clients follow the protocol HELLO negotiated.
    if (this.client.mode !== ReplyMode.Plain) this.client.mode = this.client.resp;
    this.reply.mode = this.client.mode;
    this.server.dispatcher.execute(this, argv);
    return this.reply.take();
  }
}

/** A server with a test clock, silent logs, not listening. */
export function testServer(settings: Record<string, SettingValue> = {}): { server: Server; clock: TestClock; client: TestClient } {
  const clock = new TestClock();
  const server = new Server({ config: new Config(settings), clock: clock.fn, log: pino({ level: 'silent' }), onShutdown: () => {} });
  return { server, clock, client: new TestClient(server) };
}
