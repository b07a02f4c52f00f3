// Server commands: INFO, CONFIG, COMMAND, TIME, DEBUG, SHUTDOWN.

import { Err, errSubcommandSyntax } from '../protocol/errors.js';
import { globMatch } from '../keyspace/glob.js';
import { parseFloatArg, parseInt64 } from './args.js';
import {
  aclCategories,
  containerCommand,
  isInternal,
  keyPositions,
  lookupCommand,
  replyCommandDocs,
  replyCommandInfo,
  replyHelp,
  visibleCommands,
} from './command-docs.js';
import { allowedFor, isProtectedSetting } from '../server/config.js';
import { renderInfo } from './info.js';
import { Flag, command, type CommandContext, type CommandSpec } from './types.js';

const info = command({
  name: 'info',
  arity: -1,
  flags: Flag.Connection,
  group: 'server',
  summary: 'Returns information and statistics about the server.',
  syntax: '[section [section ...]]',
  run(ctx, argv) {
    ctx.reply.verbatim(renderInfo(ctx, argv.slice(1)));
  },
});

// ---- CONFIG ----

function serverSub(spec: Omit<Parameters<typeof command>[0], 'group'>): CommandSpec {
  return command({ group: 'server', ...spec, flags: (spec.flags ?? 0) | Flag.Connection });
}

/** CONFIG GET's exact lookup (the pattern arrives lower-cased). */
function sameName(pattern: string, name: string): boolean {
  return pattern === name;
}

const configGet = serverSub({
  name: 'config|get',
  arity: -3,
  flags: Flag.Admin,
  summary: 'Returns the effective values of configuration parameters.',
  syntax: 'parameter [parameter ...]',
  run(ctx, argv) {
    // Several patterns may match one setting; it is listed once, as Redis does. A name
    // without glob characters is looked up exactly and answered as the client spelled it
    // ("HZ"), as Redis's configGetCommand does.
    const found = new Map<string, [string, string]>();
    for (let i = 2; i < argv.length; i++) {
      const pattern = argv[i]!;
      const exact = !/[[*?]/.test(pattern);
      for (const [name, value] of ctx.services.config.matching(pattern, exact ? sameName : globMatch)) {
        if (!found.has(name)) found.set(name, [exact ? pattern : name, value]);
      }
    }
    ctx.reply.map(found.size);
    for (const [shown, value] of found.values()) {
      ctx.reply.bulk(shown);
      ctx.reply.bulk(value);
    }
  },
});

/**
 * CONFIG SET is all or nothing: each setting is validated and set in turn, and on the
 * first error those already changed get their old values back.
 */
const configSet = serverSub({
  name: 'config|set',
  arity: -4,
  flags: Flag.Admin,
  summary: 'Sets configuration parameters in-flight.',
  syntax: 'parameter value [parameter value ...]',
  run(ctx, argv) {
    if (argv.length % 2 !== 0) {
      ctx.reply.error(Err.syntax);
      return;
    }
    const seen = new Set<string>();
    for (let i = 2; i < argv.length; i += 2) {
      const name = argv[i]!.toLowerCase();
      if (seen.has(name)) {
        ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${argv[i]!}') - duplicate parameter`);
        return;
      }
      seen.add(name);
    }
    const config = ctx.services.config;
    for (let i = 2; i < argv.length; i += 2) {
      if (isProtectedSetting(argv[i]!) && !allowedFor(config.str('enable-protected-configs'), ctx.client.addr)) {
        ctx.reply.error(`ERR CONFIG SET failed (possibly related to argument '${argv[i]!.toLowerCase()}') - can't set protected config`);
        return;
      }
    }
    const undo: [string, string][] = [];
    for (let i = 2; i < argv.length; i += 2) {
      const name = argv[i]!.toLowerCase();
      const old = config.all().has(name) ? config.text(name) : undefined;
      const err = config.set(argv[i]!, argv[i + 1]!);
      if (err !== null) {
        for (let j = undo.length - 1; j >= 0; j--) config.set(undo[j]![0], undo[j]![1], true);
        ctx.reply.error(err);
        return;
      }
      undo.push([name, old!]);
    }
    ctx.reply.ok();
  },
});

const configResetStat = serverSub({
  name: 'config|resetstat',
  arity: 2,
  flags: Flag.Admin,
  summary: 'Resets the server statistics.',
  run(ctx) {
    ctx.services.stats.reset();
    // A local statistic, not replicated state: each node may reset its own.
    ctx.keyspace.expiredKeys = 0;
    ctx.reply.ok();
  },
});

const configRewrite = serverSub({
  name: 'config|rewrite',
  arity: 2,
  flags: Flag.Admin,
  summary: 'Persists the effective configuration to file.',
  run(ctx) {
    ctx.reply.error('ERR The server is running without a config file');
  },
});

const configHelp = serverSub({
  name: 'config|help',
  arity: 2,
  summary: 'Returns helpful text about the different subcommands.',
  run(ctx) {
    replyHelp(ctx.reply, 'config', [
      'GET <pattern>',
      '    Return parameters matching the glob-like <pattern> and their values.',
      'SET <directive> <value>',
      '    Set the configuration <directive> to <value>.',
      'RESETSTAT',
      '    Reset statistics reported by the INFO command.',
      'REWRITE',
      '    Rewrite the configuration file.',
    ]);
  },
});

const config = containerCommand({
  name: 'config',
  arity: -2,
  flags: Flag.Connection,
  group: 'server',
  summary: 'A container for server configuration commands.',
  subcommands: [configGet, configSet, configResetStat, configRewrite, configHelp],
});

// ---- COMMAND ----

function replyAllInfo(ctx: CommandContext): void {
  const specs = visibleCommands(ctx.services.commands);
  ctx.reply.array(specs.length);
  for (const spec of specs) replyCommandInfo(ctx.reply, spec);
}

const commandCount = serverSub({
  name: 'command|count',
  arity: 2,
  summary: 'Returns a count of commands.',
  run(ctx) {
    ctx.reply.int(visibleCommands(ctx.services.commands).length);
  },
});

const commandInfo = serverSub({
  name: 'command|info',
  arity: -2,
  summary: 'Returns information about one, multiple or all commands.',
  syntax: '[command-name [command-name ...]]',
  run(ctx, argv) {
    if (argv.length === 2) {
      replyAllInfo(ctx);
      return;
    }
    ctx.reply.array(argv.length - 2);
    for (let i = 2; i < argv.length; i++) {
      const spec = lookupCommand(ctx.services.commands, argv[i]!);
      if (spec === undefined) ctx.reply.nil();
      else replyCommandInfo(ctx.reply, spec);
    }
  },
});

const commandDocs = serverSub({
  name: 'command|docs',
  arity: -2,
  summary: 'Returns documentary information about one, multiple or all commands.',
  syntax: '[command-name [command-name ...]]',
  run(ctx, argv) {
    let specs: CommandSpec[];
    if (argv.length === 2) specs = visibleCommands(ctx.services.commands);
    else {
      // Unknown names are left out, as in Redis.
      specs = [];
      for (let i = 2; i < argv.length; i++) {
        const spec = lookupCommand(ctx.services.commands, argv[i]!);
        if (spec !== undefined) specs.push(spec);
      }
    }
    ctx.reply.map(specs.length);
    for (const spec of specs) {
      ctx.reply.bulk(spec.name);
      replyCommandDocs(ctx.reply, spec);
    }
  },
});

/** The spec COMMAND GETKEYS examines: a container's subcommand when one is named. */
function getKeysTarget(ctx: CommandContext, argv: readonly string[]): CommandSpec | undefined {
  const spec = ctx.services.commands.get(argv[2]!.toLowerCase());
  if (spec === undefined || isInternal(spec)) return undefined;
  if (spec.subcommands === undefined || argv.length < 4) return spec;
  return spec.subcommands.get(argv[3]!.toLowerCase());
}

const commandGetKeys = serverSub({
  name: 'command|getkeys',
  // Redis's own arity: a command and at least one argument.
  arity: -4,
  summary: 'Extracts the key names from an arbitrary command.',
  syntax: 'command [arg [arg ...]]',
  run(ctx, argv) {
    const spec = getKeysTarget(ctx, argv);
    const argc = argv.length - 2;
    if (spec === undefined) ctx.reply.error('ERR Invalid command specified');
    else if (spec.firstKey <= 0) ctx.reply.error('ERR The command has no key arguments');
    else if ((spec.arity > 0 && spec.arity !== argc) || argc < -spec.arity) {
      ctx.reply.error('ERR Invalid number of arguments specified for command');
    } else {
      const keys = keyPositions(spec, argc);
      if (keys.length === 0) ctx.reply.error('ERR Invalid arguments specified for command');
      else ctx.reply.bulks(keys.map((i) => argv[i + 2]!));
    }
  },
});

/** Parses COMMAND LIST's `FILTERBY kind value`; replies and returns null on error. */
function listFilter(ctx: CommandContext, argv: string[]): ((s: CommandSpec) => boolean) | null {
  if (argv.length === 2) return () => true;
  if (argv.length === 5 && argv[2]!.toLowerCase() === 'filterby') {
    const kind = argv[3]!.toLowerCase();
    const value = argv[4]!;
    if (kind === 'module') return () => false;
    if (kind === 'aclcat') return (s) => aclCategories(s).includes('@' + value.toLowerCase());
    if (kind === 'pattern') return (s) => globMatch(value, s.name, true);
  }
  ctx.reply.error(Err.syntax);
  return null;
}

const commandList = serverSub({
  name: 'command|list',
  arity: -2,
  summary: 'Returns a list of command names.',
  syntax: '[FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]',
  run(ctx, argv) {
    const keep = listFilter(ctx, argv);
    if (keep === null) return;
    const names: string[] = [];
    for (const spec of visibleCommands(ctx.services.commands)) {
      if (keep(spec)) names.push(spec.name);
      if (spec.subcommands !== undefined) for (const sub of spec.subcommands.values()) if (keep(sub)) names.push(sub.name);
    }
    ctx.reply.bulks(names);
  },
});

const commandHelp = serverSub({
  name: 'command|help',
  arity: 2,
  summary: 'Returns helpful text about the different subcommands.',
  run(ctx) {
    replyHelp(ctx.reply, 'command', [
      '(no subcommand)',
      "    Return details about all Redis commands.",
      'COUNT',
      '    Return the total number of commands in this Redis server.',
      'LIST',
      '    Return a list of all commands in this Redis server.',
      'INFO [<command-name> ...]',
      '    Return details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'DOCS [<command-name> ...]',
      '    Return documentation details about multiple Redis commands.',
      '    If no command names are given, documentation details for all',
      '    commands are returned.',
      'GETKEYS <full-command>',
      '    Return the keys from a full Redis command.',
    ]);
  },
});

const commandCmd = containerCommand({
  name: 'command',
  arity: -1,
  flags: Flag.Connection,
  group: 'server',
  summary: 'Returns detailed information about all commands.',
  subcommands: [commandCount, commandInfo, commandDocs, commandGetKeys, commandList, commandHelp],
  run: replyAllInfo,
});

// ---- TIME, DEBUG, SHUTDOWN ----

const time = command({
  name: 'time',
  arity: 1,
  flags: Flag.Fast | Flag.Connection,
  group: 'server',
  summary: 'Returns the server time.',
  run(ctx) {
    // The node clock has millisecond resolution; microseconds are its multiples.
    ctx.reply.bulks([String(Math.floor(ctx.now / 1000)), String((ctx.now % 1000) * 1000)]);
  },
});

/** Redis's encoding names for a string value, as OBJECT ENCODING would say them. */
function stringEncoding(v: string): string {
  if (parseInt64(v) !== null) return 'int';
  // Redis embeds strings up to 44 bytes in the object header.
  return v.length <= 44 ? 'embstr' : 'raw';
}

function debugObject(ctx: CommandContext, key: string): void {
  const v = ctx.db.get(key, ctx.now);
  if (v === undefined) {
    if (ctx.db.isExpired(key, ctx.now)) ctx.expired(ctx.db, key);
    ctx.reply.error(Err.noSuchKey);
    return;
  }
  ctx.reply.status(
    `Value at:0x0 refcount:1 encoding:${stringEncoding(v)} serializedlength:${v.length} lru:0 lru_seconds_idle:0`,
  );
}

const debugHelpLines = [
  'OBJECT <key>',
  '    Show low level info about `key` and associated value.',
  'SLEEP <seconds>',
  '    Stop the server for <seconds>. Decimals allowed.',
];

const debugNotAllowed =
  'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, ' +
  'otherwise you need to set this option in the configuration file, and then restart the server.';

const debug = command({
  name: 'debug',
  arity: -2,
  flags: Flag.Admin | Flag.Connection,
  group: 'server',
  summary: 'A container for debugging commands.',
  syntax: 'subcommand [arg [arg ...]]',
  run(ctx, argv) {
    if (!allowedFor(ctx.services.config.str('enable-debug-command'), ctx.client.addr)) {
      ctx.reply.error(debugNotAllowed);
      return;
    }
    const sub = argv[1]!.toLowerCase();
    if (sub === 'help' && argv.length === 2) {
      replyHelp(ctx.reply, 'debug', debugHelpLines);
    } else if (sub === 'sleep' && argv.length === 3) {
      // As Redis's strtod: an unparsable duration sleeps for zero.
      const seconds = parseFloatArg(argv[2]!) ?? 0;
      if (seconds > 0 && Number.isFinite(seconds)) ctx.services.sleep(seconds * 1000);
      ctx.reply.ok();
    } else if (sub === 'object' && argv.length === 3) debugObject(ctx, argv[2]!);
    else ctx.reply.error(errSubcommandSyntax('debug', argv[1]!));
  },
});

const shutdownFlags = new Set(['nosave', 'save', 'now', 'force']);

const shutdown = command({
  name: 'shutdown',
  arity: -1,
  flags: Flag.Admin | Flag.Connection,
  group: 'server',
  summary: 'Synchronously saves the database(s) to disk and shuts down the server.',
  syntax: '[NOSAVE|SAVE] [NOW] [FORCE] [ABORT]',
  run(ctx, argv) {
    const opts = new Set<string>();
    for (let i = 1; i < argv.length; i++) {
      const opt = argv[i]!.toLowerCase();
      if (!shutdownFlags.has(opt) && opt !== 'abort') {
        ctx.reply.error(Err.syntax);
        return;
      }
      opts.add(opt);
    }
    if ((opts.has('abort') && opts.size > 1) || (opts.has('save') && opts.has('nosave'))) {
      ctx.reply.error(Err.syntax);
      return;
    }
    // Shutting down is immediate here, so there is never one to abort.
    if (opts.has('abort')) {
      ctx.reply.error('ERR No shutdown in progress.');
      return;
    }
    // Success has no reply: the connection just closes, as with Redis.
    ctx.client.closeAfterReply = true;
    ctx.services.shutdown();
  },
});

export const serverCommands: CommandSpec[] = [info, config, commandCmd, time, debug, shutdown];
