// Command dispatch: one map lookup, the checks every command shares (existence, auth,
// arity, subcommand), then the command's own function — as Redis's processCommand.

// A module binding: the global `performance` is looked up through the global object on every call.
import { performance } from 'node:perf_hooks';
import { Err, errArity, errUnknownCommand, errUnknownSubcommand } from '../protocol/errors.js';
import { Flag, type CommandContext, type CommandSpec } from '../commands/types.js';
import type { ServerStats } from './services.js';

export class Dispatcher {
  /**
   * Every command under its lower- and upper-case name, the two spellings clients send
   * (redis-benchmark and redis-cli users send GET, client libraries get): either is found
   * in one lookup, without making a lower-case copy of the name first.
   */
  private readonly byName = new Map<string, CommandSpec>();

  constructor(
    private readonly commands: ReadonlyMap<string, CommandSpec>,
    private readonly stats: ServerStats,
    /** Whether a password is set; read per command so CONFIG SET requirepass takes effect. */
    private readonly passwordRequired: () => boolean,
  ) {
    for (const [name, spec] of commands) {
      this.byName.set(name, spec);
      this.byName.set(name.toUpperCase(), spec);
    }
  }

  /** The command `name` (any letter case) names. */
  find(name: string): CommandSpec | undefined {
    return this.byName.get(name) ?? this.commands.get(name.toLowerCase());
  }

  /** Whether `name` is a write (goes through the log); unknown names are not. */
  isWrite(name: string): boolean {
    const spec = this.find(name);
    return spec !== undefined && (spec.flags & Flag.Write) !== 0;
  }

  /** Looks up and runs `argv` (argv[0] is the name as sent); every outcome is a reply. */
  execute(ctx: CommandContext, argv: string[]): void {
    const reply = ctx.reply;
    let spec = this.find(argv[0]!);
    if (spec === undefined || (spec.flags & Flag.Internal) !== 0) {
      this.stats.totalErrorReplies++;
      reply.error(errUnknownCommand(argv));
      return;
    }
    const client = ctx.client;
    if (!client.authenticated && (spec.flags & Flag.NoAuth) === 0 && this.passwordRequired()) {
      this.stats.totalErrorReplies++;
      reply.error(Err.noAuth);
      return;
    }
    if (spec.subcommands !== undefined && argv.length >= 2) {
      const sub = spec.subcommands.get(argv[1]!.toLowerCase());
      if (sub === undefined) {
        this.stats.totalErrorReplies++;
        reply.error(errUnknownSubcommand(spec.name, argv[1]!));
        return;
      }
      spec = sub;
    }
    const arity = spec.arity;
    if ((arity > 0 && argv.length !== arity) || argv.length < -arity) {
      this.stats.totalErrorReplies++;
      reply.error(errArity(spec.name));
      return;
    }
    client.lastCommand = spec.name;
    this.stats.totalCommandsProcessed++;
    let calls = this.stats.commandCalls.get(spec.name);
    if (calls === undefined) {
      calls = { calls: 0, usec: 0, failed: 0 };
      this.stats.commandCalls.set(spec.name, calls);
    }
    const t0 = performance.now();
    const errorsBefore = reply.errors;
    spec.run(ctx, argv);
    calls.calls++;
    calls.usec += (performance.now() - t0) * 1000;
    if (reply.errors !== errorsBefore) {
      calls.failed++;
      this.stats.totalErrorReplies += reply.errors - errorsBefore;
    }
  }
}
