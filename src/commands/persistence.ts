// Persistence commands: SAVE, BGSAVE, LASTSAVE.
//
// Snapshots never block the server here (Node has no fork; they are incremental), so
// SAVE differs from Redis only in that other clients keep being served while it runs;
// its own client is answered when the snapshot is on disk.

import { Flag, command, type CommandSpec } from './types.js';

const noDisk = 'ERR persistence is disabled on this node (started with --persistence no)';

const save = command({
  name: 'save',
  arity: 1,
  flags: Flag.Admin,
  group: 'server',
  summary: 'Synchronously saves the database(s) to disk.',
  run(ctx) {
    const p = ctx.services.persistence;
    if (p === null) return ctx.reply.error(noDisk);
    if (p.snapshotInProgress) return ctx.reply.error('ERR Background save already in progress');
    // The reply is written when the snapshot finishes, through the deferred-reply path.
    ctx.deferReply((reply) =>
      p.snapshot().then(
        () => reply.ok(),
        (e: unknown) => reply.error(`ERR snapshot failed: ${e instanceof Error ? e.message : String(e)}`),
      ),
    );
  },
});

const bgsave = command({
  name: 'bgsave',
  arity: -1,
  flags: Flag.Admin,
  group: 'server',
  summary: 'Asynchronously saves the database(s) to disk.',
  syntax: '[SCHEDULE]',
  run(ctx, argv) {
    const p = ctx.services.persistence;
    if (p === null) return ctx.reply.error(noDisk);
    const schedule = argv.length === 2 && argv[1]!.toLowerCase() === 'schedule';
    if (argv.length > 2 || (argv.length === 2 && !schedule)) return ctx.reply.error('ERR syntax error');
    if (p.snapshotInProgress) {
      if (schedule) return ctx.reply.status('Background saving scheduled');
      return ctx.reply.error('ERR Background save already in progress');
    }
    p.snapshot().catch(() => undefined);
    ctx.reply.status('Background saving started');
  },
});

const lastsave = command({
  name: 'lastsave',
  arity: 1,
  flags: Flag.Fast,
  group: 'server',
  summary: 'Returns the Unix timestamp of the last successful save to disk.',
  run(ctx) {
    const p = ctx.services.persistence;
    ctx.reply.int(Math.floor((p?.lastSaveMs ?? ctx.services.startTimeMs) / 1000));
  },
});

export const persistenceCommands: CommandSpec[] = [save, bgsave, lastsave];
