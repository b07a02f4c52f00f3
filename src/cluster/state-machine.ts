// The replicated state machine: applies log commands to the keyspace.
//
// Applying depends on the entry alone (its argv, database and timestamp), never on the
// local clock or randomness, so every replica that applies the same log reaches the
// same keyspace (DESIGN.md, Determinism).

import assert from 'node:assert/strict';
import type { ApplyContext, CommandSpec, LogCommand } from '../commands/types.js';
import type { Database, Keyspace } from '../keyspace/database.js';
import { Reply } from '../protocol/reply.js';

/** Reused for every apply: the hot path allocates no context objects. */
class MutableApplyContext implements ApplyContext {
  db!: Database;
  now = 0;
  reply!: Reply;
  constructor(readonly keyspace: Keyspace) {}
}

export class StateMachine {
  private readonly ctx: MutableApplyContext;
  /** Collects replies nobody waits for (entries applied on behalf of other nodes, or replayed). */
  private readonly discard = new Reply();
  /** Index of the last applied entry; 0 before any. Owned by the write path. */
  appliedIndex = 0;

  constructor(
    readonly keyspace: Keyspace,
    private readonly commands: ReadonlyMap<string, CommandSpec>,
  ) {
    this.ctx = new MutableApplyContext(keyspace);
  }

  /** Applies one command; its reply goes to `reply`, or is dropped when none is given. */
  apply(cmd: LogCommand, reply: Reply | null): void {
    const apply = this.commands.get(cmd.argv[0]!)?.apply;
    // `if` before the message: an assert's template message would be built on every apply.
    if (apply === undefined) assert.fail(`log entry names a command with no apply: ${cmd.argv[0]}`);
    const ctx = this.ctx;
    ctx.db = this.keyspace.db(cmd.db);
    ctx.now = cmd.timeMs;
    ctx.reply = reply ?? this.discard;
    apply(ctx, cmd.argv);
    if (reply === null) this.discard.out = '';
  }
}
