// String commands (Redis's t_string.c): GET and the SET family, multi-key GET/SET,
// counters and byte ranges, with Redis 7's replies and error texts.
//
// Writes follow DESIGN.md's two halves. `run` checks the arguments and rewrites them into
// a self-contained entry, making relative expiries absolute with the proposer's clock.
// `apply` changes the keyspace from that entry alone; what depends on the stored value
// (its type, whether it is a number, overflow) is checked there, because only the entry's
// place in the log decides what the value is.
//
// Entries proposed here (each name is a spec with `apply`):
//   set key value [NX|XX] [GET] [KEEPTTL] [PXAT ms]   SET, SETEX, PSETEX, GETSET
//   setnx key value                                  (replies 1/0 where SET replies OK/nil)
//   getex key PXAT ms | getex key PERSIST           GETEX with an option
//   getdel key · mset k v … · msetnx k v …
//   append key value maxBytes                        the leader's size limit rides along
//   incrby key delta                                 INCR, DECR, INCRBY, DECRBY
//   incrbyfloat key increment · setrange key offset value

import { constants as bufferConstants } from 'node:buffer';
import { Err, errArity, errInvalidExpire } from '../protocol/errors.js';
import type { Reply } from '../protocol/reply.js';
import type { Value } from '../keyspace/database.js';
import { isInt64, parseFloatArg, parseInt64, parseInteger, storedExpireAt } from './args.js';
import { Flag, command, writeCommand, type ApplyContext, type CommandContext, type CommandSpec } from './types.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/**
 * V8 cannot build a longer string (2^29 - 24 chars in Node 20), which is below Redis's
 * 512 MiB proto-max-bulk-len default; past it concatenation would throw inside apply.
 */
const maxStringChars = bufferConstants.MAX_STRING_LENGTH;

/** The largest string a command may build: proto-max-bulk-len, capped by what V8 can hold. */
function maxStringBytes(ctx: CommandContext): number {
  return Math.min(ctx.services.config.int('proto-max-bulk-len'), maxStringChars);
}

/**
 * A read's lookup, as Redis's lookupKeyRead: counts keyspace hits and misses and reports
 * an expired key it met so the leader logs its deletion.
 */
function lookupRead(ctx: CommandContext, key: string): Value | undefined {
  const v = ctx.db.get(key, ctx.now);
  if (v === undefined) {
    if (ctx.db.isExpired(key, ctx.now)) ctx.expired(ctx.db, key);
    ctx.services.stats.keyspaceMisses++;
  } else ctx.services.stats.keyspaceHits++;
  return v;
}

/**
 * Replies an argument error that Redis only reaches after checking the key's type, so a
 * key of another type still answers WRONGTYPE first. Judged on this node's view: the
 * command is refused without a log entry, so nothing changes either way.
 */
function replyAfterTypeCheck(ctx: CommandContext, key: string, err: string): void {
  const v = ctx.db.get(key, ctx.now);
  ctx.reply.error(v !== undefined && typeof v !== 'string' ? Err.wrongType : err);
}

// ---------------------------------------------------------------------------
// SET / GETEX options (Redis's parseExtendedStringArgumentsOrReply)

/** Option flags, as Redis's OBJ_SET_NX, OBJ_EX, … */
const Opt = {
  NX: 1,
  XX: 2,
  Get: 4,
  KeepTtl: 8,
  Persist: 16,
  EX: 32,
  PX: 64,
  EXAT: 128,
  PXAT: 256,
} as const;
const anyExpire = Opt.EX | Opt.PX | Opt.EXAT | Opt.PXAT;
const relativeExpire = Opt.EX | Opt.PX;
const secondsExpire = Opt.EX | Opt.EXAT;

/** Which command accepts an option. */
const ForSet = 1;
const ForGetex = 2;

interface OptionDef {
  readonly flag: number;
  /** Flags that make this option a syntax error; repeating an option is allowed (last wins). */
  readonly conflicts: number;
  readonly accepted: number;
}

const optionDefs = new Map<string, OptionDef>([
  ['NX', { flag: Opt.NX, conflicts: Opt.XX, accepted: ForSet }],
  ['XX', { flag: Opt.XX, conflicts: Opt.NX, accepted: ForSet }],
  ['GET', { flag: Opt.Get, conflicts: 0, accepted: ForSet }],
  ['KEEPTTL', { flag: Opt.KeepTtl, conflicts: anyExpire | Opt.Persist, accepted: ForSet }],
  ['PERSIST', { flag: Opt.Persist, conflicts: anyExpire | Opt.KeepTtl, accepted: ForGetex }],
  ['EX', { flag: Opt.EX, conflicts: (anyExpire & ~Opt.EX) | Opt.KeepTtl | Opt.Persist, accepted: ForSet | ForGetex }],
  ['PX', { flag: Opt.PX, conflicts: (anyExpire & ~Opt.PX) | Opt.KeepTtl | Opt.Persist, accepted: ForSet | ForGetex }],
  ['EXAT', { flag: Opt.EXAT, conflicts: (anyExpire & ~Opt.EXAT) | Opt.KeepTtl | Opt.Persist, accepted: ForSet | ForGetex }],
  ['PXAT', { flag: Opt.PXAT, conflicts: (anyExpire & ~Opt.PXAT) | Opt.KeepTtl | Opt.Persist, accepted: ForSet | ForGetex }],
]);
const longestOption = 7;

interface ParsedOptions {
  flags: number;
  /** The argument of the last EX/PX/EXAT/PXAT, unchecked. */
  expire: string | undefined;
}

/**
 * Parses options in any order, starting at `from`. Returns null for a syntax error
 * (unknown option, conflicting pair, missing expiry value); the caller replies.
 */
function parseOptions(argv: readonly string[], from: number, accepted: number): ParsedOptions | null {
  let flags = 0;
  let expire: string | undefined;
  for (let j = from; j < argv.length; j++) {
    const arg = argv[j]!;
    const def = arg.length <= longestOption ? optionDefs.get(arg.toUpperCase()) : undefined;
    if (def === undefined || (def.accepted & accepted) === 0 || (flags & def.conflicts) !== 0) return null;
    if ((def.flag & anyExpire) !== 0) {
      if (j + 1 === argv.length) return null;
      expire = argv[++j]!;
    }
    flags |= def.flag;
  }
  return { flags, expire };
}

/** Why an expiry argument was refused: Redis checks integer syntax first, then range. */
const ExpireNotInteger = 0;
const ExpireOutOfRange = 1;
type ExpireRefusal = typeof ExpireNotInteger | typeof ExpireOutOfRange;

/**
 * An expiry argument as absolute Unix ms, in decimal for the log entry. `flag` is the
 * option that carried it (unit, and whether it counts from `now`). Redis's limits: the
 * value must be positive and the result must fit in a signed 64-bit integer.
 */
function absoluteExpire(arg: string, flag: number, now: number): string | ExpireRefusal {
  const unitMs = (flag & secondsExpire) !== 0 ? 1000 : 1;
  const base = (flag & relativeExpire) !== 0 ? now : 0;
  const n = parseInteger(arg);
  if (n !== null && n > 0) {
    const ms = n * unitMs + base;
    if (Number.isSafeInteger(ms)) return base === 0 && unitMs === 1 ? arg : String(ms);
  }
  // Beyond 2^53 (or invalid): decide exactly in 64 bits, as Redis does.
  const v = parseInt64(arg);
  if (v === null) return ExpireNotInteger;
  if (v <= 0n || (unitMs === 1000 && v > INT64_MAX / 1000n)) return ExpireOutOfRange;
  const ms = v * BigInt(unitMs) + BigInt(base);
  return ms > INT64_MAX ? ExpireOutOfRange : ms.toString();
}

function replyExpireRefusal(reply: Reply, why: ExpireRefusal, cmd: string): void {
  reply.error(why === ExpireNotInteger ? Err.notInteger : errInvalidExpire(cmd));
}

// ---------------------------------------------------------------------------
// The SET family's shared worker (Redis's setGenericCommand, at apply time)

/** How a SET-family command answers when it did not use GET. */
const ReplyOkNil = false;
const ReplyOneZero = true;

/**
 * Stores `value` under `key` unless NX/XX forbids it. `expireAt` is absolute ms, or
 * undefined (clear the TTL unless KEEPTTL). An expiry already past stores nothing: Redis
 * sets the key and it is expired at once, so the outcome is the same as a deletion.
 */
function setGeneric(
  ctx: ApplyContext,
  key: string,
  value: string,
  flags: number,
  expireAt: number | undefined,
  integerReply: boolean,
): void {
  const db = ctx.db;
  const old = db.getForWrite(key, ctx.now);
  const withGet = (flags & Opt.Get) !== 0;
  if (withGet && old !== undefined && typeof old !== 'string') {
    ctx.reply.error(Err.wrongType);
    return;
  }
  const found = old !== undefined;
  if ((flags & (found ? Opt.NX : Opt.XX)) !== 0) {
    if (withGet) ctx.reply.bulk(old);
    else if (integerReply) ctx.reply.int(0);
    else ctx.reply.nil();
    return;
  }
  if (expireAt !== undefined && expireAt <= ctx.now) {
    if (found) db.delete(key);
    ctx.keyspace.expiredKeys++;
  } else db.set(key, value, expireAt, (flags & Opt.KeepTtl) !== 0);
  if (withGet) ctx.reply.bulk(old);
  else if (integerReply) ctx.reply.int(1);
  else ctx.reply.ok();
}

/** Canonical option words for a `set` entry (the expiry is appended separately as PXAT). */
function pushSetFlags(entry: string[], flags: number): void {
  if ((flags & Opt.NX) !== 0) entry.push('NX');
  if ((flags & Opt.XX) !== 0) entry.push('XX');
  if ((flags & Opt.Get) !== 0) entry.push('GET');
  if ((flags & Opt.KeepTtl) !== 0) entry.push('KEEPTTL');
}

function replyGet(ctx: CommandContext, key: string): void {
  const v = lookupRead(ctx, key);
  if (v !== undefined && typeof v !== 'string') ctx.reply.error(Err.wrongType);
  else ctx.reply.bulk(v);
}

const get = command({
  name: 'get',
  arity: 2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Returns the string value of a key.',
  syntax: 'key',
  run(ctx, argv) {
    replyGet(ctx, argv[1]!);
  },
});

const set = command({
  name: 'set',
  arity: -3,
  flags: Flag.Write | Flag.DenyOom,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Sets the string value of a key, ignoring its type. The key is created if it does not exist.',
  syntax: 'key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]',
  run(ctx, argv) {
    if (argv.length === 3) {
      argv[0] = 'set';
      ctx.propose(argv);
      return;
    }
    const opts = parseOptions(argv, 3, ForSet);
    if (opts === null) {
      ctx.reply.error(Err.syntax);
      return;
    }
    const entry = ['set', argv[1]!, argv[2]!];
    pushSetFlags(entry, opts.flags);
    if (opts.expire !== undefined) {
      // Relative and absolute forms alike become PXAT, so replicas need no clock of their own.
      const at = absoluteExpire(opts.expire, opts.flags, ctx.now);
      if (typeof at !== 'string') {
        replyExpireRefusal(ctx.reply, at, 'set');
        return;
      }
      entry.push('PXAT', at);
    }
    if ((opts.flags & Opt.Get) !== 0) lookupRead(ctx, argv[1]!);
    ctx.propose(entry);
  },
  apply(ctx, argv) {
    if (argv.length === 3) {
      // Plain SET replaces whatever was there, expired or not, and clears any TTL: no
      // need to look the old value up (one Map lookup less per SET, and per replayed SET
      // at start-up, where it showed as 14% of recovery time).
      ctx.db.set(argv[1]!, argv[2]!);
      ctx.reply.ok();
      return;
    }
    const opts = parseOptions(argv, 3, ForSet);
    if (opts === null) {
      ctx.reply.error(Err.syntax);
      return;
    }
    let expireAt: number | undefined;
    if (opts.expire !== undefined) {
      const at = absoluteExpire(opts.expire, opts.flags, ctx.now);
      if (typeof at !== 'string') {
        replyExpireRefusal(ctx.reply, at, 'set');
        return;
      }
      // The entry keeps the exact text; only the stored time rounds (see storedExpireAt).
      expireAt = storedExpireAt(at);
    }
    setGeneric(ctx, argv[1]!, argv[2]!, opts.flags, expireAt, ReplyOkNil);
  },
});

const setnx = writeCommand({
  name: 'setnx',
  arity: 3,
  flags: Flag.DenyOom | Flag.Fast,
  group: 'string',
  summary: 'Set the string value of a key only when the key does not exist.',
  syntax: 'key value',
  apply(ctx, argv) {
    setGeneric(ctx, argv[1]!, argv[2]!, Opt.NX, undefined, ReplyOneZero);
  },
});

/** SETEX and PSETEX: `key ttl value` becomes `set key value PXAT at`. */
function proposeSetex(ctx: CommandContext, argv: string[], flag: number, cmd: string): void {
  const at = absoluteExpire(argv[2]!, flag, ctx.now);
  if (typeof at !== 'string') {
    replyExpireRefusal(ctx.reply, at, cmd);
    return;
  }
  ctx.propose(['set', argv[1]!, argv[3]!, 'PXAT', at]);
}

const setex = command({
  name: 'setex',
  arity: 4,
  flags: Flag.Write | Flag.DenyOom,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Sets the string value and expiration time of a key. Creates the key if it does not exist.',
  syntax: 'key seconds value',
  run(ctx, argv) {
    proposeSetex(ctx, argv, Opt.EX, 'setex');
  },
});

const psetex = command({
  name: 'psetex',
  arity: 4,
  flags: Flag.Write | Flag.DenyOom,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Sets both string value and expiration time in milliseconds of a key. The key is created if it does not exist.',
  syntax: 'key milliseconds value',
  run(ctx, argv) {
    proposeSetex(ctx, argv, Opt.PX, 'psetex');
  },
});

const getset = command({
  name: 'getset',
  arity: 3,
  flags: Flag.Write | Flag.DenyOom | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Returns the previous string value of a key after setting it to a new value.',
  syntax: 'key value',
  run(ctx, argv) {
    lookupRead(ctx, argv[1]!);
    ctx.propose(['set', argv[1]!, argv[2]!, 'GET']);
  },
});

// ---------------------------------------------------------------------------
// GETDEL, GETEX, MGET, MSET, MSETNX

const getdel = command({
  name: 'getdel',
  arity: 2,
  flags: Flag.Write | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Returns the string value of a key after deleting the key.',
  syntax: 'key',
  run(ctx, argv) {
    lookupRead(ctx, argv[1]!);
    ctx.propose(['getdel', argv[1]!]);
  },
  apply(ctx, argv) {
    const key = argv[1]!;
    const v = ctx.db.getForWrite(key, ctx.now);
    if (v !== undefined && typeof v !== 'string') {
      ctx.reply.error(Err.wrongType);
      return;
    }
    if (v !== undefined) ctx.db.delete(key);
    ctx.reply.bulk(v);
  },
});

const getex = command({
  name: 'getex',
  arity: -2,
  flags: Flag.Write | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Returns the string value of a key after setting its expiration time.',
  syntax: 'key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | PERSIST]',
  run(ctx, argv) {
    const key = argv[1]!;
    // Without options it changes nothing: a plain read, never logged.
    if (argv.length === 2) {
      replyGet(ctx, key);
      return;
    }
    const opts = parseOptions(argv, 2, ForGetex);
    if (opts === null) {
      ctx.reply.error(Err.syntax);
      return;
    }
    // Counted as a read whatever follows (as Redis); the value matters only if the expiry is refused.
    const v = lookupRead(ctx, key);
    if (opts.expire === undefined) {
      ctx.propose(['getex', key, 'PERSIST']);
      return;
    }
    const at = absoluteExpire(opts.expire, opts.flags, ctx.now);
    if (typeof at === 'string') {
      ctx.propose(['getex', key, 'PXAT', at]);
      return;
    }
    // Redis looks the key up before it checks the expiry: a missing key answers nil and
    // another type WRONGTYPE, whatever the argument.
    if (v === undefined) ctx.reply.nil();
    else if (typeof v !== 'string') ctx.reply.error(Err.wrongType);
    else replyExpireRefusal(ctx.reply, at, 'getex');
  },
  apply(ctx, argv) {
    const key = argv[1]!;
    const v = ctx.db.getForWrite(key, ctx.now);
    if (v === undefined) {
      ctx.reply.nil();
      return;
    }
    if (typeof v !== 'string') {
      ctx.reply.error(Err.wrongType);
      return;
    }
    const opts = parseOptions(argv, 2, ForGetex);
    if (opts === null) {
      ctx.reply.error(Err.syntax);
      return;
    }
    if (opts.expire === undefined) {
      ctx.reply.bulk(v);
      if ((opts.flags & Opt.Persist) !== 0) ctx.db.persist(key);
      return;
    }
    const at = absoluteExpire(opts.expire, opts.flags, ctx.now);
    if (typeof at !== 'string') {
      replyExpireRefusal(ctx.reply, at, 'getex');
      return;
    }
    ctx.reply.bulk(v);
    const expireAt = storedExpireAt(at);
    if (expireAt <= ctx.now) {
      ctx.db.delete(key);
      ctx.keyspace.expiredKeys++;
    } else ctx.db.setExpire(key, expireAt);
  },
});

const mget = command({
  name: 'mget',
  arity: -2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  group: 'string',
  summary: 'Atomically returns the string values of one or more keys.',
  syntax: 'key [key ...]',
  run(ctx, argv) {
    ctx.reply.array(argv.length - 1);
    for (let i = 1; i < argv.length; i++) {
      const v = lookupRead(ctx, argv[i]!);
      // A key of another type reads as nil here, not as an error.
      ctx.reply.bulk(typeof v === 'string' ? v : null);
    }
  },
});

/** MSET and MSETNX take key/value pairs: an odd count of arguments after the name is an arity error. */
function pairsValid(ctx: CommandContext, argv: string[], name: string): boolean {
  if (argv.length % 2 === 1) return true;
  ctx.reply.error(errArity(name));
  return false;
}

const mset = writeCommand({
  name: 'mset',
  arity: -3,
  flags: Flag.DenyOom,
  lastKey: -1,
  keyStep: 2,
  group: 'string',
  summary: 'Atomically creates or modifies the string values of one or more keys.',
  syntax: 'key value [key value ...]',
  validate: (ctx, argv) => pairsValid(ctx, argv, 'mset'),
  apply(ctx, argv) {
    for (let i = 1; i + 1 < argv.length; i += 2) {
      ctx.db.liveForWrite(argv[i]!, ctx.now);
      ctx.db.set(argv[i]!, argv[i + 1]!);
    }
    ctx.reply.ok();
  },
});

const msetnx = writeCommand({
  name: 'msetnx',
  arity: -3,
  flags: Flag.DenyOom,
  lastKey: -1,
  keyStep: 2,
  group: 'string',
  summary: 'Atomically modifies the string values of one or more keys only when all keys don\'t exist.',
  syntax: 'key value [key value ...]',
  validate: (ctx, argv) => pairsValid(ctx, argv, 'msetnx'),
  apply(ctx, argv) {
    for (let i = 1; i + 1 < argv.length; i += 2) {
      if (ctx.db.liveForWrite(argv[i]!, ctx.now)) {
        ctx.reply.int(0);
        return;
      }
    }
    for (let i = 1; i + 1 < argv.length; i += 2) ctx.db.set(argv[i]!, argv[i + 1]!);
    ctx.reply.int(1);
  },
});

// ---------------------------------------------------------------------------
// APPEND, STRLEN, GETRANGE, SETRANGE

const append = command({
  name: 'append',
  arity: 3,
  flags: Flag.Write | Flag.DenyOom | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Appends a string to the value of a key. Creates the key if it does not exist.',
  syntax: 'key value',
  run(ctx, argv) {
    // The resulting length depends on the value at apply time, so the limit is decided
    // there, with the proposer's setting carried in the entry (config may differ per node).
    ctx.propose(['append', argv[1]!, argv[2]!, String(maxStringBytes(ctx))]);
  },
  apply(ctx, argv) {
    const key = argv[1]!;
    const tail = argv[2]!;
    const old = ctx.db.getForWrite(key, ctx.now);
    if (old === undefined) {
      ctx.db.set(key, tail);
      ctx.reply.int(tail.length);
      return;
    }
    if (typeof old !== 'string') {
      ctx.reply.error(Err.wrongType);
      return;
    }
    const limit = Math.min(parseInteger(argv[3] ?? '') ?? maxStringChars, maxStringChars);
    if (old.length + tail.length > limit) {
      ctx.reply.error(Err.stringTooLong);
      return;
    }
    const next = old + tail;
    ctx.db.set(key, next, undefined, true);
    ctx.reply.int(next.length);
  },
});

const strlen = command({
  name: 'strlen',
  arity: 2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Returns the length of a string value.',
  syntax: 'key',
  run(ctx, argv) {
    const v = lookupRead(ctx, argv[1]!);
    if (v !== undefined && typeof v !== 'string') ctx.reply.error(Err.wrongType);
    else ctx.reply.int(v === undefined ? 0 : v.length);
  },
});

/** GETRANGE's index arithmetic (Redis's getrangeCommand), exact for any 64-bit start/end. */
function substring(s: string, start: bigint, end: bigint): string {
  const len = BigInt(s.length);
  if (start < 0n && end < 0n && start > end) return '';
  if (start < 0n) start += len;
  if (end < 0n) end += len;
  if (start < 0n) start = 0n;
  if (end < 0n) end = 0n;
  if (end >= len) end = len - 1n;
  if (start > end || len === 0n) return '';
  return s.slice(Number(start), Number(end) + 1);
}

function rangeCommand(name: string, summary: string): CommandSpec {
  return command({
    name,
    arity: 4,
    flags: Flag.Read,
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
    group: 'string',
    summary,
    syntax: 'key start end',
    run(ctx, argv) {
      const start = parseInt64(argv[2]!);
      const end = parseInt64(argv[3]!);
      if (start === null || end === null) {
        ctx.reply.error(Err.notInteger);
        return;
      }
      const v = lookupRead(ctx, argv[1]!);
      if (v === undefined) ctx.reply.bulk('');
      else if (typeof v !== 'string') ctx.reply.error(Err.wrongType);
      else ctx.reply.bulk(substring(v, start, end));
    },
  });
}

const getrange = rangeCommand('getrange', 'Returns a substring of the string stored at a key.');
const substr = rangeCommand('substr', 'Returns a substring from a string value.');

const setrange = command({
  name: 'setrange',
  arity: 4,
  flags: Flag.Write | Flag.DenyOom,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Overwrites a part of a string value with another by an offset. Creates the key if it does not exist.',
  syntax: 'key offset value',
  run(ctx, argv) {
    const offset = parseInt64(argv[2]!);
    if (offset === null) {
      ctx.reply.error(Err.notInteger);
      return;
    }
    if (offset < 0n) {
      ctx.reply.error(Err.offsetOutOfRange);
      return;
    }
    // Writing nothing never grows the string, so Redis skips the limit then.
    const len = argv[3]!.length;
    if (len > 0 && offset + BigInt(len) > BigInt(maxStringBytes(ctx))) {
      replyAfterTypeCheck(ctx, argv[1]!, Err.stringTooLong);
      return;
    }
    argv[0] = 'setrange';
    ctx.propose(argv);
  },
  apply(ctx, argv) {
    const key = argv[1]!;
    const patch = argv[3]!;
    const offset = parseInt64(argv[2]!);
    if (offset === null || offset < 0n) {
      ctx.reply.error(Err.offsetOutOfRange);
      return;
    }
    const old = ctx.db.getForWrite(key, ctx.now);
    if (old !== undefined && typeof old !== 'string') {
      ctx.reply.error(Err.wrongType);
      return;
    }
    if (patch.length === 0) {
      ctx.reply.int(old === undefined ? 0 : old.length);
      return;
    }
    if (offset + BigInt(patch.length) > BigInt(maxStringChars)) {
      ctx.reply.error(Err.stringTooLong);
      return;
    }
    const at = Number(offset);
    const base = old ?? '';
    const next =
      at <= base.length
        ? base.slice(0, at) + patch + base.slice(at + patch.length)
        : base + '\0'.repeat(at - base.length) + patch;
    ctx.db.set(key, next, undefined, old !== undefined);
    ctx.reply.int(next.length);
  },
});

// ---------------------------------------------------------------------------
// Counters

/**
 * Adds `delta` (int64 text) to the integer stored at `key` (Redis's incrDecrCommand).
 * Numbers are exact below 2^53; beyond that the sum is done in BigInt.
 */
function applyIncrBy(ctx: ApplyContext, key: string, deltaText: string): void {
  const old = ctx.db.getForWrite(key, ctx.now);
  if (old !== undefined && typeof old !== 'string') {
    ctx.reply.error(Err.wrongType);
    return;
  }
  const a = old === undefined ? 0 : parseInteger(old);
  const d = parseInteger(deltaText);
  if (a !== null && d !== null && Number.isSafeInteger(a + d)) {
    const sum = a + d;
    ctx.db.set(key, String(sum), undefined, true);
    ctx.reply.int(sum);
    return;
  }
  const current = old === undefined ? 0n : parseInt64(old);
  const delta = parseInt64(deltaText);
  if (current === null || delta === null) {
    ctx.reply.error(Err.notInteger);
    return;
  }
  const sum = current + delta;
  if (!isInt64(sum)) {
    ctx.reply.error(Err.overflow);
    return;
  }
  ctx.db.set(key, sum.toString(), undefined, true);
  ctx.reply.int(sum);
}

const incrby = command({
  name: 'incrby',
  arity: 3,
  flags: Flag.Write | Flag.DenyOom | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.',
  syntax: 'key increment',
  run(ctx, argv) {
    if (parseInt64(argv[2]!) === null) {
      ctx.reply.error(Err.notInteger);
      return;
    }
    argv[0] = 'incrby';
    ctx.propose(argv);
  },
  apply(ctx, argv) {
    applyIncrBy(ctx, argv[1]!, argv[2]!);
  },
});

const decrby = command({
  name: 'decrby',
  arity: 3,
  flags: Flag.Write | Flag.DenyOom | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'string',
  summary: 'Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn\'t exist.',
  syntax: 'key decrement',
  run(ctx, argv) {
    const d = parseInt64(argv[2]!);
    if (d === null) {
      ctx.reply.error(Err.notInteger);
      return;
    }
    // -(-2^63) does not fit in 64 bits.
    if (d === INT64_MIN) {
      ctx.reply.error(Err.decrementOverflow);
      return;
    }
    ctx.propose(['incrby', argv[1]!, (-d).toString()]);
  },
});

function stepCommand(name: string, delta: string, summary: string): CommandSpec {
  return command({
    name,
    arity: 2,
    flags: Flag.Write | Flag.DenyOom | Flag.Fast,
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
    group: 'string',
    summary,
    syntax: 'key',
    run(ctx, argv) {
      ctx.propose(['incrby', argv[1]!, delta]);
    },
  });
}

const incr = stepCommand('incr', '1', 'Increments the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.');
const decr = stepCommand('decr', '-1', 'Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn\'t exist.');

/** Decimal places INCRBYFLOAT prints: Redis formats its long double with "%.17Lf". */
const floatDecimals = 17;

/** Adds one unit in the last place to a string of decimal digits. */
function incrementDigits(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits.charCodeAt(i) === 57 /* 9 */) i--;
  if (i < 0) return '1' + '0'.repeat(digits.length);
  return digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1) + '0'.repeat(digits.length - i - 1);
}

/**
 * Formats an INCRBYFLOAT result as Redis's human-friendly long double form: fixed
 * notation (never an exponent), at most 17 decimals, trailing zeros and a bare '.'
 * removed, "-0" as "0". The digits are JS's shortest round-trip form of the double, where
 * Redis prints its 80-bit long double: the two differ where a double cannot hold the
 * decimal sum exactly (0.1 + 0.2 gives "0.30000000000000004", Redis "0.3") and beyond the
 * double's range (Redis accepts up to about 1.19e4932).
 */
export function formatIncrFloat(x: number): string {
  const negative = x < 0;
  const text = String(negative ? -x : x);
  const e = text.indexOf('e');
  const mantissa = e === -1 ? text : text.slice(0, e);
  const dot = mantissa.indexOf('.');
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  /** How many of `digits` stand before the decimal point (may be ≤ 0 or past the end). */
  const point = (dot === -1 ? mantissa.length : dot) + (e === -1 ? 0 : Number(text.slice(e + 1)));
  let int: string;
  let frac: string;
  if (point <= 0) {
    int = '0';
    frac = '0'.repeat(-point) + digits;
  } else if (point >= digits.length) {
    int = digits + '0'.repeat(point - digits.length);
    frac = '';
  } else {
    int = digits.slice(0, point);
    frac = digits.slice(point);
  }
  if (frac.length > floatDecimals) {
    let kept = int + frac.slice(0, floatDecimals);
    if (frac.charCodeAt(floatDecimals) >= 53 /* 5 */) kept = incrementDigits(kept);
    int = kept.slice(0, kept.length - floatDecimals);
    frac = kept.slice(kept.length - floatDecimals);
  }
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48 /* 0 */) end--;
  const body = end === 0 ? int : int + '.' + frac.slice(0, end);
  return negative && body !== '0' ? '-' + body : body;
}

const incrbyfloat = writeCommand({
  name: 'incrbyfloat',
  arity: 3,
  flags: Flag.DenyOom | Flag.Fast,
  group: 'string',
  summary: 'Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn\'t exist.',
  syntax: 'key increment',
  validate(ctx, argv) {
    if (parseFloatArg(argv[2]!) !== null) return true;
    replyAfterTypeCheck(ctx, argv[1]!, Err.notFloat);
    return false;
  },
  // Logged as sent: the sum depends on the value at apply time, and IEEE doubles give
  // the same bits on every replica, so each reaches the same stored text.
  apply(ctx, argv) {
    const key = argv[1]!;
    const old = ctx.db.getForWrite(key, ctx.now);
    if (old !== undefined && typeof old !== 'string') {
      ctx.reply.error(Err.wrongType);
      return;
    }
    const current = old === undefined ? 0 : parseFloatArg(old);
    const incr = parseFloatArg(argv[2]!);
    if (current === null || incr === null) {
      ctx.reply.error(Err.notFloat);
      return;
    }
    const sum = current + incr;
    if (!Number.isFinite(sum)) {
      ctx.reply.error(Err.nanOrInf);
      return;
    }
    const text = formatIncrFloat(sum);
    ctx.db.set(key, text, undefined, true);
    ctx.reply.bulk(text);
  },
});

export const stringCommands: CommandSpec[] = [
  get,
  set,
  setnx,
  setex,
  psetex,
  getset,
  getdel,
  getex,
  mget,
  mset,
  msetnx,
  append,
  strlen,
  getrange,
  substr,
  setrange,
  incr,
  decr,
  incrby,
  decrby,
  incrbyfloat,
];
