// Generic key commands: DEL, EXISTS, TYPE, RENAME, KEYS/SCAN/RANDOMKEY, the TTL family,
// and the database commands (DBSIZE, FLUSHDB/FLUSHALL, SELECT, SWAPDB).
//
// Writes follow DESIGN.md: `run` checks syntax and proposes a deterministic entry; `apply`
// decides everything that depends on the data (existence, current TTL) with the entry's
// time. EXPIRE, PEXPIRE and EXPIREAT all become `pexpireat key <abs-ms> [flags]`, as Redis
// rewrites them for its replicas, so replicas never read their own clocks.

import { Flag, command, writeCommand, type ApplyContext, type CommandContext, type CommandSpec } from './types.js';
import { parseInt64, storedExpireAt } from './args.js';
import { Err, errInvalidExpire, errOutOfRange, errUnsupportedOption } from '../protocol/errors.js';
import type { Keyspace, StoredValue, Value } from '../keyspace/database.js';
import { globMatch, isMatchAll } from '../keyspace/glob.js';
import { parseCursor, scanStep } from '../keyspace/scan.js';
import { randomKey } from '../keyspace/random-key.js';

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);
const scanCountDefault = 10;

/** Redis's type name of a value, as TYPE and SCAN TYPE show it. */
export function typeName(v: StoredValue | undefined): string {
  return v === undefined ? 'none' : 'string';
}

/**
 * A read lookup as Redis's lookupKeyRead: counts keyspace hits and misses, and reports a
 * key found expired so the leader reclaims it.
 */
function lookupRead(ctx: CommandContext, key: string): Value | undefined {
  const v = ctx.db.get(key, ctx.now);
  if (v === undefined) {
    if (ctx.db.isExpired(key, ctx.now)) ctx.expired(ctx.db, key);
    ctx.services.stats.keyspaceMisses++;
  } else ctx.services.stats.keyspaceHits++;
  return v;
}

// ---------------------------------------------------------------------------------------
// Existence, type, deletion, renaming

/** DEL and UNLINK: an expired key counts as absent but is removed all the same. */
function applyDelete(ctx: ApplyContext, argv: string[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) {
    if (ctx.db.liveForWrite(argv[i]!, ctx.now) && ctx.db.delete(argv[i]!)) n++;
  }
  ctx.reply.int(n);
}

const del = writeCommand({
  name: 'del',
  arity: -2,
  lastKey: -1,
  group: 'generic',
  summary: 'Deletes one or more keys.',
  syntax: 'key [key ...]',
  apply: applyDelete,
});

// Redis frees large values in the background for UNLINK; ours are freed by the GC anyway.
const unlink = writeCommand({
  name: 'unlink',
  arity: -2,
  lastKey: -1,
  flags: Flag.Fast,
  group: 'generic',
  summary: 'Asynchronously deletes one or more keys.',
  syntax: 'key [key ...]',
  apply: applyDelete,
});

/** EXISTS and TOUCH: count the arguments naming live keys, duplicates included. */
function countExisting(ctx: CommandContext, argv: string[]): void {
  let n = 0;
  for (let i = 1; i < argv.length; i++) if (lookupRead(ctx, argv[i]!) !== undefined) n++;
  ctx.reply.int(n);
}

const exists = command({
  name: 'exists',
  arity: -2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  group: 'generic',
  summary: 'Determines whether one or more keys exist.',
  syntax: 'key [key ...]',
  run: countExisting,
});

// TOUCH updates access times in Redis; KeyMesh keeps none (no LRU eviction yet).
const touch = command({
  name: 'touch',
  arity: -2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: -1,
  keyStep: 1,
  group: 'generic',
  summary: 'Returns the number of existing keys out of those specified after updating the time they were last accessed.',
  syntax: 'key [key ...]',
  run: countExisting,
});

const type = command({
  name: 'type',
  arity: 2,
  flags: Flag.Read | Flag.Fast,
  firstKey: 1,
  lastKey: 1,
  keyStep: 1,
  group: 'generic',
  summary: 'Determines the type of value stored at a key.',
  syntax: 'key',
  run(ctx, argv) {
    ctx.reply.status(typeName(lookupRead(ctx, argv[1]!)));
  },
});

/**
 * RENAME and RENAMENX (Redis's renameGenericCommand): the value moves with its TTL; an
 * existing destination is replaced as a new key. Renaming a key to itself only checks
 * that it exists.
 */
function applyRename(ctx: ApplyContext, argv: string[], nx: boolean): void {
  const db = ctx.db;
  const src = argv[1]!;
  const dst = argv[2]!;
  const value = db.getForWrite(src, ctx.now);
  if (value === undefined) {
    ctx.reply.error(Err.noSuchKey);
    return;
  }
  if (src === dst) {
    if (nx) ctx.reply.int(0);
    else ctx.reply.ok();
    return;
  }
  const expireAt = db.expireAt(src);
  if (db.liveForWrite(dst, ctx.now)) {
    if (nx) {
      ctx.reply.int(0);
      return;
    }
    db.delete(dst);
  }
  db.delete(src);
  db.set(dst, value, expireAt);
  if (nx) ctx.reply.int(1);
  else ctx.reply.ok();
}

const rename = writeCommand({
  name: 'rename',
  arity: 3,
  lastKey: 2,
  group: 'generic',
  summary: 'Renames a key and overwrites the destination.',
  syntax: 'key newkey',
  apply: (ctx, argv) => applyRename(ctx, argv, false),
});

const renamenx = writeCommand({
  name: 'renamenx',
  arity: 3,
  lastKey: 2,
  flags: Flag.Fast,
  group: 'generic',
  summary: 'Renames a key only when the target key name doesn\'t exist.',
  syntax: 'key newkey',
  apply: (ctx, argv) => applyRename(ctx, argv, true),
});

// ---------------------------------------------------------------------------------------
// Enumeration: KEYS, SCAN, RANDOMKEY

// Like Redis, KEYS skips expired keys without reclaiming them: it may see millions.
const keys = command({
  name: 'keys',
  arity: 2,
  flags: Flag.Read,
  group: 'generic',
  summary: 'Returns all key names that match a pattern.',
  syntax: 'pattern',
  run(ctx, argv) {
    const pattern = argv[1]!;
    const all = isMatchAll(pattern);
    const db = ctx.db;
    const checkTtl = db.expires.size !== 0;
    const out: string[] = [];
    for (const key of db.data.keys()) {
      if (!all && !globMatch(pattern, key)) continue;
      if (checkTtl && db.isExpired(key, ctx.now)) continue;
      out.push(key);
    }
    ctx.reply.bulks(out);
  },
});

interface ScanOptions {
  count: number;
  /** null when every key matches. */
  pattern: string | null;
  /** Lower-case type name to keep, or null for all. */
  type: string | null;
}

/** Parses SCAN's options from argv[from]; replies the error and returns null when invalid. */
function parseScanOptions(ctx: CommandContext, argv: string[], from: number): ScanOptions | null {
  const opts: ScanOptions = { count: scanCountDefault, pattern: null, type: null };
  for (let i = from; i < argv.length; i += 2) {
    const opt = argv[i]!.toLowerCase();
    const hasValue = i + 1 < argv.length;
    if (opt === 'count' && hasValue) {
      const n = parseInt64(argv[i + 1]!);
      if (n === null) {
        ctx.reply.error(Err.notInteger);
        return null;
      }
      if (n < 1n) {
        ctx.reply.error(Err.syntax);
        return null;
      }
      opts.count = n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
    } else if (opt === 'match' && hasValue) {
      opts.pattern = isMatchAll(argv[i + 1]!) ? null : argv[i + 1]!;
    } else if (opt === 'type' && hasValue) {
      // Unknown type names match nothing rather than fail, as in Redis 7.
      opts.type = argv[i + 1]!.toLowerCase();
    } else {
      ctx.reply.error(Err.syntax);
      return null;
    }
  }
  return opts;
}

const scan = command({
  name: 'scan',
  arity: -2,
  flags: Flag.Read,
  group: 'generic',
  summary: 'Iterates over the key names in the database.',
  syntax: 'cursor [MATCH pattern] [COUNT count] [TYPE type]',
  run(ctx, argv) {
    const cursor = parseCursor(argv[1]!);
    if (cursor === null) {
      ctx.reply.error(Err.invalidCursor);
      return;
    }
    const opts = parseScanOptions(ctx, argv, 2);
    if (opts === null) return;
    const db = ctx.db;
    const found: string[] = [];
    // Filters in Redis's order: pattern, type, then expiry.
    const next = scanStep(ctx.keyspace, db, cursor, opts.count, (key) => {
      if (opts.pattern !== null && !globMatch(opts.pattern, key)) return;
      if (opts.type !== null && typeName(db.data.get(key)) !== opts.type) return;
      if (db.isExpired(key, ctx.now)) {
        ctx.expired(db, key);
        return;
      }
      found.push(key);
    });
    ctx.reply.array(2);
    ctx.reply.bulk(String(next));
    ctx.reply.bulks(found);
  },
});

const randomkey = command({
  name: 'randomkey',
  arity: 1,
  flags: Flag.Read,
  group: 'generic',
  summary: 'Returns a random key name from the database.',
  run(ctx) {
    const db = ctx.db;
    ctx.reply.bulk(randomKey(db, ctx.now, (key) => ctx.expired(db, key)));
  },
});

// ---------------------------------------------------------------------------------------
// Expiry: EXPIRE family, TTL family, PERSIST

const ExpireFlag = { NX: 1, XX: 2, GT: 4, LT: 8 } as const;
const expireFlagWords: readonly [number, string][] = [
  [ExpireFlag.NX, 'NX'],
  [ExpireFlag.XX, 'XX'],
  [ExpireFlag.GT, 'GT'],
  [ExpireFlag.LT, 'LT'],
];

/** Redis's parseExtendedExpireArgumentsOrReply: the flag set, or an error text. */
function parseExpireFlags(argv: string[], from: number): number | string {
  let flags = 0;
  for (let j = from; j < argv.length; j++) {
    const opt = argv[j]!.toLowerCase();
    if (opt === 'nx') flags |= ExpireFlag.NX;
    else if (opt === 'xx') flags |= ExpireFlag.XX;
    else if (opt === 'gt') flags |= ExpireFlag.GT;
    else if (opt === 'lt') flags |= ExpireFlag.LT;
    else return errUnsupportedOption(argv[j]!);
  }
  if ((flags & ExpireFlag.NX) !== 0 && (flags & (ExpireFlag.XX | ExpireFlag.GT | ExpireFlag.LT)) !== 0) {
    return Err.expireNxConflict;
  }
  if ((flags & ExpireFlag.GT) !== 0 && (flags & ExpireFlag.LT) !== 0) return Err.expireGtLtConflict;
  return flags;
}

/**
 * Whether NX/XX/GT/LT allow replacing expiry `current` (undefined: none) by `exactWhen`.
 * No TTL counts as infinite: GT never beats it, LT always does.
 */
function expireAllowed(flags: number, current: number | undefined, exactWhen: bigint): boolean {
  // Compared as it would be stored, so re-setting the stored time is never "greater".
  const when = storedExpireAt(exactWhen);
  if ((flags & ExpireFlag.NX) !== 0 && current !== undefined) return false;
  if ((flags & ExpireFlag.XX) !== 0 && current === undefined) return false;
  if ((flags & ExpireFlag.GT) !== 0 && (current === undefined || when <= current)) return false;
  if ((flags & ExpireFlag.LT) !== 0 && current !== undefined && when >= current) return false;
  return true;
}

/**
 * The shared worker of EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT (Redis's
 * expireGenericCommand, up to the point where it needs the data): turns the time into
 * absolute milliseconds, rejecting int64 overflow, and proposes `pexpireat`.
 */
function proposeExpire(ctx: CommandContext, argv: string[], name: string, baseMs: number, unitMs: bigint): void {
  const flags = parseExpireFlags(argv, 3);
  if (typeof flags === 'string') {
    ctx.reply.error(flags);
    return;
  }
  let when = parseInt64(argv[2]!);
  if (when === null) {
    ctx.reply.error(Err.notInteger);
    return;
  }
  if (unitMs !== 1n) {
    if (when > INT64_MAX / unitMs || when < INT64_MIN / unitMs) {
      ctx.reply.error(errInvalidExpire(name));
      return;
    }
    when *= unitMs;
  }
  const base = BigInt(baseMs);
  if (when > INT64_MAX - base) {
    ctx.reply.error(errInvalidExpire(name));
    return;
  }
  when += base;
  const entry = ['pexpireat', argv[1]!, String(when)];
  for (const [bit, word] of expireFlagWords) if ((flags & bit) !== 0) entry.push(word);
  ctx.propose(entry);
}

/** Applies `pexpireat key ms [flags]`: a time not after the entry's deletes the key (reply 1). */
function applyExpire(ctx: ApplyContext, argv: string[]): void {
  const when = parseInt64(argv[2]!);
  if (when === null) {
    ctx.reply.error(Err.notInteger);
    return;
  }
  const flags = parseExpireFlags(argv, 3);
  if (typeof flags === 'string') {
    ctx.reply.error(flags);
    return;
  }
  const db = ctx.db;
  const key = argv[1]!;
  if (!db.liveForWrite(key, ctx.now) || !expireAllowed(flags, db.expireAt(key), when)) {
    ctx.reply.int(0);
    return;
  }
  if (when <= ctx.now) db.delete(key);
  else db.setExpire(key, storedExpireAt(when));
  ctx.reply.int(1);
}

function expireCommand(name: string, summary: string, syntax: string, unitMs: bigint, relative: boolean): CommandSpec {
  return command({
    name,
    arity: -3,
    flags: Flag.Write | Flag.Fast,
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
    group: 'generic',
    summary,
    syntax,
    run: (ctx, argv) => proposeExpire(ctx, argv, name, relative ? ctx.now : 0, unitMs),
  });
}

const expire = expireCommand('expire', 'Sets the expiration time of a key in seconds.', 'key seconds [NX | XX | GT | LT]', 1000n, true);
const pexpire = expireCommand('pexpire', 'Sets the expiration time of a key in milliseconds.', 'key milliseconds [NX | XX | GT | LT]', 1n, true);
const expireat = expireCommand('expireat', 'Sets the expiration time of a key to a Unix timestamp.', 'key unix-time-seconds [NX | XX | GT | LT]', 1000n, false);
// The log form of all four.
const pexpireat: CommandSpec = {
  ...expireCommand('pexpireat', 'Sets the expiration time of a key to a Unix milliseconds timestamp.', 'key unix-time-milliseconds [NX | XX | GT | LT]', 1n, false),
  apply: applyExpire,
};

const TtlKind = { Seconds: 0, Ms: 1, AtSeconds: 2, AtMs: 3 } as const;
type TtlKind = (typeof TtlKind)[keyof typeof TtlKind];

/** TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 no key, -1 no TTL. */
function replyTtl(ctx: CommandContext, key: string, kind: TtlKind): void {
  if (lookupRead(ctx, key) === undefined) {
    ctx.reply.int(-2);
    return;
  }
  const at = ctx.db.expireAt(key);
  if (at === undefined) {
    ctx.reply.int(-1);
    return;
  }
  if (!Number.isSafeInteger(at)) {
    replyTtlBig(ctx, BigInt(at), kind);
    return;
  }
  const left = Math.max(at - ctx.now, 0);
  switch (kind) {
    case TtlKind.Seconds:
      // Rounded to the nearest second, as Redis does.
      ctx.reply.int(Math.floor((left + 500) / 1000));
      break;
    case TtlKind.Ms:
      ctx.reply.int(left);
      break;
    case TtlKind.AtSeconds:
      ctx.reply.int(Math.trunc(at / 1000));
      break;
    default:
      ctx.reply.int(at);
  }
}

/** replyTtl for expiry times beyond 2^53, where doubles lose the milliseconds. */
function replyTtlBig(ctx: CommandContext, at: bigint, kind: TtlKind): void {
  const left = at - BigInt(ctx.now);
  if (kind === TtlKind.Seconds) ctx.reply.int((left + 500n) / 1000n);
  else if (kind === TtlKind.Ms) ctx.reply.int(left);
  else if (kind === TtlKind.AtSeconds) ctx.reply.int(at / 1000n);
  else ctx.reply.int(at);
}

function ttlCommand(name: string, summary: string, kind: TtlKind): CommandSpec {
  return command({
    name,
    arity: 2,
    flags: Flag.Read | Flag.Fast,
    firstKey: 1,
    lastKey: 1,
    keyStep: 1,
    group: 'generic',
    summary,
    syntax: 'key',
    run: (ctx, argv) => replyTtl(ctx, argv[1]!, kind),
  });
}

const ttl = ttlCommand('ttl', 'Returns the expiration time in seconds of a key.', TtlKind.Seconds);
const pttl = ttlCommand('pttl', 'Returns the expiration time in milliseconds of a key.', TtlKind.Ms);
const expiretime = ttlCommand('expiretime', 'Returns the expiration time of a key as a Unix timestamp.', TtlKind.AtSeconds);
const pexpiretime = ttlCommand('pexpiretime', 'Returns the expiration time of a key as a Unix milliseconds timestamp.', TtlKind.AtMs);

const persist = writeCommand({
  name: 'persist',
  arity: 2,
  flags: Flag.Fast,
  group: 'generic',
  summary: 'Removes the expiration time of a key.',
  syntax: 'key',
  apply(ctx, argv) {
    const key = argv[1]!;
    ctx.reply.int(ctx.db.liveForWrite(key, ctx.now) && ctx.db.persist(key) ? 1 : 0);
  },
});

// ---------------------------------------------------------------------------------------
// Databases: DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB

// Counts expired keys not yet reclaimed, as Redis's DBSIZE does.
const dbsize = command({
  name: 'dbsize',
  arity: 1,
  flags: Flag.Read | Flag.Fast,
  group: 'server',
  summary: 'Returns the number of keys in the database.',
  run(ctx) {
    ctx.reply.int(ctx.db.size);
  },
});

/** FLUSHDB/FLUSHALL take an optional ASYNC|SYNC; both free at once here, so the entry drops it. */
function validateFlushMode(ctx: CommandContext, argv: string[]): boolean {
  if (argv.length === 1) return true;
  const mode = argv[1]!.toLowerCase();
  if (argv.length === 2 && (mode === 'sync' || mode === 'async')) return true;
  ctx.reply.error(Err.syntax);
  return false;
}

function flushCommand(name: string, summary: string, flush: (ctx: ApplyContext) => void): CommandSpec {
  return command({
    name,
    arity: -1,
    flags: Flag.Write,
    group: 'server',
    summary,
    syntax: '[ASYNC | SYNC]',
    run(ctx, argv) {
      if (validateFlushMode(ctx, argv)) ctx.propose([name]);
    },
    apply(ctx) {
      flush(ctx);
      ctx.reply.ok();
    },
  });
}

const flushdb = flushCommand('flushdb', 'Removes all keys from the current database.', (ctx) => ctx.db.clear());
const flushall = flushCommand('flushall', 'Removes all keys from all databases.', (ctx) => ctx.keyspace.flushAll());

/**
 * Parses a database index as Redis's getIntFromObjectOrReply: an int32, else the error
 * text — `invalid` replaces both of Redis's generic texts when given (SWAPDB).
 */
function parseDbIndex(text: string, invalid?: string): number | string {
  const n = parseInt64(text);
  if (n === null) return invalid ?? Err.notInteger;
  if (n < INT32_MIN || n > INT32_MAX) return invalid ?? errOutOfRange(INT32_MIN, INT32_MAX);
  return Number(n);
}

function dbExists(keyspace: Keyspace, id: number): boolean {
  return id >= 0 && id < keyspace.dbs.length;
}

// SELECT only changes which database this connection addresses: it is not a log entry.
const select = command({
  name: 'select',
  arity: 2,
  flags: Flag.Fast | Flag.Connection,
  group: 'connection',
  summary: 'Changes the selected database.',
  syntax: 'index',
  run(ctx, argv) {
    const id = parseDbIndex(argv[1]!);
    if (typeof id === 'string') ctx.reply.error(id);
    else if (!dbExists(ctx.keyspace, id)) ctx.reply.error(Err.dbIndexOutOfRange);
    else {
      ctx.client.db = id;
      ctx.reply.ok();
    }
  },
});

/** Both SWAPDB indexes, or Redis's error text: each is parsed before either is range-checked. */
function parseSwapIndexes(keyspace: Keyspace, argv: string[]): [number, number] | string {
  const a = parseDbIndex(argv[1]!, Err.invalidFirstDbIndex);
  if (typeof a === 'string') return a;
  const b = parseDbIndex(argv[2]!, Err.invalidSecondDbIndex);
  if (typeof b === 'string') return b;
  return dbExists(keyspace, a) && dbExists(keyspace, b) ? [a, b] : Err.dbIndexOutOfRange;
}

const swapdb = command({
  name: 'swapdb',
  arity: 3,
  flags: Flag.Write | Flag.Fast,
  group: 'server',
  summary: 'Swaps two Redis databases.',
  syntax: 'index1 index2',
  run(ctx, argv) {
    const ids = parseSwapIndexes(ctx.keyspace, argv);
    if (typeof ids === 'string') {
      ctx.reply.error(ids);
      return;
    }
    ctx.propose(['swapdb', String(ids[0]), String(ids[1])]);
  },
  apply(ctx, argv) {
    const ids = parseSwapIndexes(ctx.keyspace, argv);
    if (typeof ids === 'string') {
      ctx.reply.error(ids);
      return;
    }
    ctx.keyspace.swap(ids[0], ids[1]);
    ctx.reply.ok();
  },
});

export const keyCommands: CommandSpec[] = [
  del,
  unlink,
  exists,
  touch,
  type,
  rename,
  renamenx,
  keys,
  scan,
  randomkey,
  expire,
  pexpire,
  expireat,
  pexpireat,
  ttl,
  pttl,
  expiretime,
  pexpiretime,
  persist,
  dbsize,
  flushdb,
  flushall,
  select,
  swapdb,
];
