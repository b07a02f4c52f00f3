// The one write path (DESIGN.md): propose → persist → commit → apply → reply.
//
// A write is handed over as a LogCommand plus the sink its reply goes to. Today's
// implementation is a single in-memory node that commits at once; durability and Raft
// replace it behind the same interface, so commands never know which one runs.

import type { LogCommand } from '../commands/types.js';
import type { Reply } from '../protocol/reply.js';
import type { StateMachine } from './state-machine.js';

/** Where a proposed write's reply is delivered, and when. */
export interface ReplySink {
  /** The reply buffer the apply writes into. */
  readonly reply: Reply;
  /** Called after the reply was written, when it was not written synchronously inside propose. */
  replyReady(): void;
}

export interface WritePath {
  /**
   * Proposes a write. The reply is written into `sink.reply` when the entry is applied:
   * synchronously (before propose returns) or later, then `sink.replyReady()` is called.
   * Returns true if the reply was written synchronously.
   */
  propose(cmd: LogCommand, sink: ReplySink): boolean;
}

/** A node without persistence or peers: every proposal commits and applies immediately. */
export class ImmediateWritePath implements WritePath {
  constructor(private readonly sm: StateMachine) {}

  propose(cmd: LogCommand, sink: ReplySink): boolean {
    this.sm.appliedIndex++;
    this.sm.apply(cmd, sink.reply);
    return true;
  }
}
