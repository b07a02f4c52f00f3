// Commands that only the write path produces: clients cannot send them (Flag.Internal).

import { Flag, command, type CommandSpec } from './types.js';

/**
 * `expired key [key …]`: the leader's decision that these keys' TTLs passed. Applied with
 * the entry's time, each key is removed only if it is still expired then: a SET that
 * reached the log between the leader's check and this entry keeps its new value.
 */
export const expiredCommand: CommandSpec = command({
  name: 'expired',
  arity: -2,
  flags: Flag.Write | Flag.Internal,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  group: 'generic',
  summary: 'Removes keys whose TTL has passed (produced by the leader, never by clients).',
  run(ctx) {
    ctx.reply.error('ERR internal command');
  },
  apply(ctx, argv) {
    let n = 0;
    for (let i = 1; i < argv.length; i++) {
      if (ctx.db.isExpired(argv[i]!, ctx.now) && ctx.db.delete(argv[i]!)) n++;
    }
    ctx.keyspace.expiredKeys += n;
    ctx.reply.int(n);
  },
});

export const internalCommands: CommandSpec[] = [expiredCommand];
