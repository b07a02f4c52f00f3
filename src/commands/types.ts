// The shape of the command table (Redis's redisCommandTable, as data).
//
// A command is either executed directly (reads, connection and admin commands) or, for
// writes, prepared and proposed: `run` validates the arguments and rewrites them into a
// deterministic log entry (relative times made absolute), then `ctx.propose` sends it
// through the one write path (log → persist → commit → apply). `apply` performs the state
// change from the entry alone and writes the reply; it runs on every replica, with a
// reply sink that discards on nodes where no client waits.

import type { Reply } from '../protocol/reply.js';
import type { Database, Keyspace } from '../keyspace/database.js';
import type { ClientState } from '../server/client-state.js';
import type { NodeServices } from '../server/services.js';

export const Flag = {
  /** Changes data: goes through the log. */
  Write: 1 << 0,
  /** Reads data. */
  Read: 1 << 1,
  /** Administrative (CONFIG, SHUTDOWN, DEBUG…). */
  Admin: 1 << 2,
  /** O(1) or O(log n): never blocks the loop for long. */
  Fast: 1 << 3,
  /** Allowed before AUTH when a password is set (AUTH, HELLO, QUIT). */
  NoAuth: 1 << 4,
  /** Found only in the log, never accepted from clients (e.g. expiry deletions). */
  Internal: 1 << 5,
  /** Answered without touching the keyspace (PING, ECHO…): routing never forwards it. */
  Connection: 1 << 6,
  /** May allocate memory (SET, APPEND…). */
  DenyOom: 1 << 7,
} as const;

/** A write as it travels through the log: self-contained and deterministic. */
export interface LogCommand {
  /** Database the command addresses (the client's SELECTed one). */
  db: number;
  /** Leader's clock when proposed; `apply` uses it as "now" so every replica decides expiry alike. */
  timeMs: number;
  /** The rewritten argv; argv[0] is a lower-case command name with an `apply`. */
  argv: string[];
}

/** What a command sees while it runs on the node that received it. */
export interface CommandContext {
  readonly reply: Reply;
  readonly client: ClientState;
  readonly keyspace: Keyspace;
  readonly services: NodeServices;
  /** The client's selected database. */
  readonly db: Database;
  /** The local clock, Unix ms. Reads decide expiry with it; writes capture it in the entry. */
  readonly now: number;
  /** Sends a deterministic write through the write path; its `apply` writes the reply. */
  propose(argv: string[]): void;
  /** Reports a key found expired by a read; the leader turns it into a logged deletion. */
  expired(db: Database, key: string): void;
  /**
   * For a command answered later (SAVE, WAIT): `work` writes the reply into the Reply it is
   * given and resolves; the client's later requests wait until then, so order is kept.
   */
  deferReply(work: (reply: Reply) => Promise<void>): void;
}

/** What `apply` sees: the entry's database and time, and where the reply goes. */
export interface ApplyContext {
  readonly keyspace: Keyspace;
  readonly db: Database;
  /** The entry's time (never the local clock). */
  readonly now: number;
  readonly reply: Reply;
}

export interface CommandSpec {
  /** Lower-case name; subcommands are `container|sub` (as Redis 7's fullname). */
  readonly name: string;
  /** Redis convention: n > 0 exactly n args (name included), n < 0 at least -n. */
  readonly arity: number;
  readonly flags: number;
  /** Key positions for COMMAND GETKEYS/INFO and, later, slot routing. 0 when none. */
  readonly firstKey: number;
  /** Last key position; -1 means the last argument, -2 the one before, … */
  readonly lastKey: number;
  readonly keyStep: number;
  /** One-line description for COMMAND DOCS and HELP. */
  readonly summary: string;
  /** Redis command group (string, generic, connection, server, keyspace…). */
  readonly group: string;
  /** Argument syntax for COMMAND DOCS / the CLI's hints, e.g. `key value [EX seconds]`. */
  readonly syntax?: string;
  /** Executes a read/admin command, or validates and proposes a write. */
  run(ctx: CommandContext, argv: string[]): void;
  /** For commands that may appear in the log: apply the entry deterministically. */
  apply?(ctx: ApplyContext, argv: string[]): void;
  /** Subcommands (CONFIG GET, CLIENT LIST…), looked up by lower-case argv[1]. */
  readonly subcommands?: ReadonlyMap<string, CommandSpec>;
}

/** Defines a command with the defaults most commands share. */
export function command(
  spec: Omit<CommandSpec, 'firstKey' | 'lastKey' | 'keyStep' | 'flags'> &
    Partial<Pick<CommandSpec, 'firstKey' | 'lastKey' | 'keyStep' | 'flags'>>,
): CommandSpec {
  return {
    flags: 0,
    firstKey: 0,
    lastKey: 0,
    keyStep: 0,
    ...spec,
  };
}

/**
 * Defines a write whose log form is its own argv (no rewriting needed): `run` proposes the
 * arguments as received, after an optional syntax check that replies with an error and
 * returns false.
 */
export function writeCommand(
  spec: Omit<CommandSpec, 'run' | 'firstKey' | 'lastKey' | 'keyStep' | 'flags' | 'apply'> &
    Partial<Pick<CommandSpec, 'firstKey' | 'lastKey' | 'keyStep' | 'flags'>> & {
      apply(ctx: ApplyContext, argv: string[]): void;
      validate?(ctx: CommandContext, argv: string[]): boolean;
    },
): CommandSpec {
  const validate = spec.validate;
  const { validate: _ignored, ...rest } = spec;
  return {
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
    ...rest,
    flags: (spec.flags ?? 0) | Flag.Write,
    run(ctx, argv) {
      if (validate !== undefined && !validate(ctx, argv)) return;
      argv[0] = spec.name;
      ctx.propose(argv);
    },
  };
}
