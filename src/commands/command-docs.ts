// What the command table says about itself: COMMAND INFO/DOCS replies, key positions,
// ACL categories, and the HELP replies and subcommand containers the families share.

import { errArity } from '../protocol/errors.js';
import type { Reply } from '../protocol/reply.js';
import { Flag, command, type CommandContext, type CommandSpec } from './types.js';

/** Our flags under Redis 7's names, in the order COMMAND INFO lists them. */
const flagNames: readonly [number, string][] = [
  [Flag.Write, 'write'],
  [Flag.Read, 'readonly'],
  [Flag.DenyOom, 'denyoom'],
  [Flag.Admin, 'admin'],
  [Flag.Fast, 'fast'],
  [Flag.NoAuth, 'no_auth'],
];

/** Command group → its ACL category; groups without one (server, cluster) add none. */
const groupCategories: Readonly<Record<string, string>> = {
  generic: '@keyspace',
  string: '@string',
  list: '@list',
  set: '@set',
  'sorted-set': '@sortedset',
  hash: '@hash',
  bitmap: '@bitmap',
  hyperloglog: '@hyperloglog',
  geo: '@geo',
  stream: '@stream',
  pubsub: '@pubsub',
  connection: '@connection',
  transactions: '@transaction',
  scripting: '@scripting',
};

export function isInternal(spec: CommandSpec): boolean {
  return (spec.flags & Flag.Internal) !== 0;
}

export function flagList(spec: CommandSpec): string[] {
  const out: string[] = [];
  for (const [bit, name] of flagNames) if ((spec.flags & bit) !== 0) out.push(name);
  return out;
}

/** Every ACL category in the order Redis lists them (acl.c). */
const categoryOrder: readonly string[] = [
  '@keyspace', '@read', '@write', '@set', '@sortedset', '@list', '@hash', '@string', '@bitmap',
  '@hyperloglog', '@geo', '@stream', '@pubsub', '@admin', '@fast', '@slow', '@blocking',
  '@dangerous', '@connection', '@transaction', '@scripting',
];

/** ACL categories derived from the flags and group, in Redis's order. */
export function aclCategories(spec: CommandSpec): string[] {
  const has = new Set<string>();
  const group = groupCategories[spec.group];
  if (group !== undefined) has.add(group);
  if ((spec.flags & Flag.Read) !== 0) has.add('@read');
  if ((spec.flags & Flag.Write) !== 0) has.add('@write');
  if ((spec.flags & Flag.Admin) !== 0) has.add('@admin').add('@dangerous');
  has.add((spec.flags & Flag.Fast) !== 0 ? '@fast' : '@slow');
  return categoryOrder.filter((c) => has.has(c));
}

/** Finds a command by name or `container|sub` full name, case-insensitively; internal ones are hidden. */
export function lookupCommand(table: ReadonlyMap<string, CommandSpec>, name: string): CommandSpec | undefined {
  const lower = name.toLowerCase();
  const bar = lower.indexOf('|');
  const spec = table.get(bar === -1 ? lower : lower.slice(0, bar));
  if (spec === undefined || isInternal(spec)) return undefined;
  return bar === -1 ? spec : spec.subcommands?.get(lower.slice(bar + 1));
}

/** Client-visible commands of the table, in table order. */
export function visibleCommands(table: ReadonlyMap<string, CommandSpec>): CommandSpec[] {
  const out: CommandSpec[] = [];
  for (const spec of table.values()) if (!isInternal(spec)) out.push(spec);
  return out;
}

/** One element of COMMAND / COMMAND INFO: Redis 7's ten-field array. */
export function replyCommandInfo(reply: Reply, spec: CommandSpec): void {
  reply.array(10);
  reply.bulk(spec.name);
  reply.int(spec.arity);
  replyStatusSet(reply, flagList(spec));
  reply.int(spec.firstKey);
  reply.int(spec.lastKey);
  reply.int(spec.keyStep);
  replyStatusSet(reply, aclCategories(spec));
  reply.set(0); // tips
  reply.array(0); // key specs
  const subs = spec.subcommands;
  reply.array(subs === undefined ? 0 : subs.size);
  if (subs !== undefined) for (const sub of subs.values()) replyCommandInfo(reply, sub);
}

/** One value of COMMAND DOCS: the map redis-cli reads for its help and hints. */
export function replyCommandDocs(reply: Reply, spec: CommandSpec): void {
  const subs = spec.subcommands;
  reply.map(subs === undefined ? 3 : 4);
  reply.bulk('summary');
  reply.bulk(spec.summary);
  reply.bulk('group');
  reply.bulk(spec.group);
  reply.bulk('arguments');
  const args = spec.syntax === undefined ? [] : syntaxToArgs(spec.syntax);
  reply.array(args.length);
  for (const a of args) replyArgDoc(reply, a);
  if (subs === undefined) return;
  reply.bulk('subcommands');
  reply.map(subs.size);
  for (const sub of subs.values()) {
    reply.bulk(sub.name);
    replyCommandDocs(reply, sub);
  }
}

function replyArgDoc(reply: Reply, a: ArgDoc): void {
  reply.map(2 + (a.token === undefined ? 0 : 1) + (a.flags.length === 0 ? 0 : 1) + (a.args === undefined ? 0 : 1));
  reply.bulk('name');
  reply.bulk(a.name);
  reply.bulk('type');
  reply.bulk(a.type);
  if (a.token !== undefined) {
    reply.bulk('token');
    reply.bulk(a.token);
  }
  if (a.flags.length !== 0) {
    reply.bulk('flags');
    replyStatusSet(reply, a.flags);
  }
  if (a.args !== undefined) {
    reply.bulk('arguments');
    reply.array(a.args.length);
    for (const sub of a.args) replyArgDoc(reply, sub);
  }
}

// ---- argument trees for COMMAND DOCS, derived from a spec's one-line syntax ----

/** One argument as COMMAND DOCS describes it (Redis's redisCommandArg, the fields clients use). */
export interface ArgDoc {
  name: string;
  /** key, string, pattern, pure-token, oneof or block. */
  type: string;
  token?: string;
  /** optional, multiple. */
  flags: string[];
  args?: ArgDoc[];
}

type SyntaxNode =
  | { kind: 'word'; text: string }
  | { kind: 'seq'; items: SyntaxNode[] }
  | { kind: 'oneof'; alts: SyntaxNode[] }
  | { kind: 'optional'; body: SyntaxNode };

const closers: Readonly<Record<string, string>> = { '[': ']', '(': ')', '<': '>' };

/** Parses `a [b|c] (d e) <f> ...` forgivingly: unbalanced brackets just end where the text does. */
class SyntaxParser {
  private pos = 0;
  constructor(private readonly tokens: readonly string[]) {}

  /** alt := seq ('|' seq)* */
  alt(): SyntaxNode {
    const alts = [this.seq()];
    while (this.tokens[this.pos] === '|') {
      this.pos++;
      alts.push(this.seq());
    }
    if (alts.length === 1) return alts[0]!;
    return tightAlternation(alts) ?? { kind: 'oneof', alts };
  }

  private seq(): SyntaxNode {
    const items: SyntaxNode[] = [];
    for (;;) {
      const t = this.tokens[this.pos];
      if (t === undefined || t === '|' || t === ']' || t === ')' || t === '>') break;
      this.pos++;
      const close = closers[t];
      if (close === undefined) {
        items.push({ kind: 'word', text: t });
        continue;
      }
      const body = this.alt();
      if (this.tokens[this.pos] === close) this.pos++;
      items.push(t === '[' ? { kind: 'optional', body } : body);
    }
    return { kind: 'seq', items };
  }
}

/**
 * `TYPE NORMAL|MASTER` and `FILTERBY MODULE m | ACLCAT c` mean a prefix then a choice, while
 * `EX seconds|PX ms|KEEPTTL` offers whole alternatives. The prefix reading is taken when
 * the other alternatives all have one shape (token or name, item by item) and the first
 * alternative is that shape with words before it. Returns that reading, or null.
 */
function tightAlternation(alts: readonly SyntaxNode[]): SyntaxNode | null {
  const first = alts[0]!;
  const second = alts[1]!;
  if (first.kind !== 'seq' || second.kind !== 'seq') return null;
  const n = second.items.length;
  const prefix = first.items.length - n;
  if (n === 0 || prefix < 1) return null;
  const shape = itemShape(second.items);
  for (const a of alts.slice(1)) if (a.kind !== 'seq' || itemShape(a.items) !== shape) return null;
  if (itemShape(first.items.slice(prefix)) !== shape || first.items.slice(0, prefix).some((x) => x.kind !== 'word')) return null;
  const rest: SyntaxNode = { kind: 'seq', items: first.items.slice(prefix) };
  return { kind: 'seq', items: [...first.items.slice(0, prefix), { kind: 'oneof', alts: [rest, ...alts.slice(1)] }] };
}

/** `TT-`-style signature: T for a token word, n for a name, - for anything else. */
function itemShape(items: readonly SyntaxNode[]): string {
  let s = '';
  for (const x of items) s += x.kind !== 'word' ? '-' : isToken(x.text) ? 'T' : 'n';
  return s;
}

function isToken(word: string): boolean {
  return /^[A-Z][A-Z0-9_-]*$/.test(word);
}

function argType(name: string): string {
  return name === 'key' || name === 'pattern' ? name : 'string';
}

/**
 * How many of the last arguments `[x y ...]` repeats (`key value [key value ...]`), or 0.
 * `ID id [id ...]` repeats the value after its token; a group with tokens is not a repeat.
 */
function repeatCount(node: SyntaxNode, out: readonly ArgDoc[]): number {
  if (node.kind !== 'optional' || node.body.kind !== 'seq') return 0;
  const items = node.body.items;
  const n = items.length - 1;
  const tail = items[n];
  if (n < 1 || n > out.length || tail?.kind !== 'word' || tail.text !== '...') return 0;
  for (let k = 0; k < n; k++) {
    const item = items[k]!;
    const arg = out[out.length - n + k]!;
    if (item.kind !== 'word' || arg.name !== item.text || (n > 1 && arg.token !== undefined)) return 0;
  }
  return n;
}

function markMultiple(a: ArgDoc): void {
  if (!a.flags.includes('multiple')) a.flags.push('multiple');
}

function seqToArgs(items: readonly SyntaxNode[]): ArgDoc[] {
  const out: ArgDoc[] = [];
  for (let i = 0; i < items.length; i++) {
    const node = items[i]!;
    if (node.kind === 'word' && node.text === '...') {
      if (out.length !== 0) markMultiple(out[out.length - 1]!);
      continue;
    }
    const n = repeatCount(node, out);
    if (n === 1) {
      markMultiple(out[out.length - 1]!);
      continue;
    }
    if (n > 1) {
      const group = out.splice(out.length - n, n);
      out.push({ name: 'data', type: 'block', flags: ['multiple'], args: group });
      continue;
    }
    if (node.kind !== 'word') {
      out.push(nodeToArg(node));
      continue;
    }
    const next = items[i + 1];
    if (!isToken(node.text)) out.push({ name: node.text, type: argType(node.text), flags: [] });
    else if (next?.kind === 'word' && !isToken(next.text) && next.text !== '...') {
      out.push({ name: next.text, type: argType(next.text), token: node.text, flags: [] });
      i++;
    } else if (next?.kind === 'oneof') {
      // `TYPE NORMAL|MASTER`: the token introduces the choice.
      out.push({ ...nodeToArg(next), token: node.text });
      i++;
    } else out.push({ name: node.text.toLowerCase(), type: 'pure-token', token: node.text, flags: [] });
  }
  return out;
}

function nodeToArg(node: SyntaxNode): ArgDoc {
  switch (node.kind) {
    case 'optional': {
      const a = nodeToArg(node.body);
      a.flags.push('optional');
      return a;
    }
    case 'oneof':
      return { name: 'option', type: 'oneof', flags: [], args: node.alts.map(nodeToArg) };
    case 'word':
      return seqToArgs([node])[0]!;
    case 'seq': {
      const args = seqToArgs(node.items);
      return args.length === 1 ? args[0]! : { name: 'block', type: 'block', flags: [], args };
    }
  }
}

/** The argument tree of a syntax line such as `key value [NX|XX] [EX seconds|KEEPTTL]`. */
export function syntaxToArgs(syntax: string): ArgDoc[] {
  const tokens = syntax.match(/[[\]()<>|]|[^\s[\]()<>|]+/g) ?? [];
  const root = new SyntaxParser(tokens).alt();
  return root.kind === 'seq' ? seqToArgs(root.items) : [nodeToArg(root)];
}

function replyStatusSet(reply: Reply, items: readonly string[]): void {
  reply.set(items.length);
  for (const s of items) reply.status(s);
}

/**
 * Key arguments of `args` (the command's argv, name first) from the spec's key positions,
 * as Redis derives them for specs of the simple range kind. Empty when there are none.
 */
export function keyPositions(spec: CommandSpec, argc: number): number[] {
  if (spec.firstKey <= 0) return [];
  const last = spec.lastKey < 0 ? argc + spec.lastKey : spec.lastKey;
  const step = Math.max(spec.keyStep, 1);
  const out: number[] = [];
  for (let i = spec.firstKey; i <= last && i < argc; i += step) out.push(i);
  return out;
}

/** Redis's addReplyHelp: a header naming the container, the lines given, then HELP itself. */
export function replyHelp(reply: Reply, container: string, lines: readonly string[]): void {
  reply.array(lines.length + 3);
  reply.status(`${container.toUpperCase()} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:`);
  for (const line of lines) reply.status(line);
  reply.status('HELP');
  reply.status('    Prints this help.');
}

/**
 * A command made of subcommands (CONFIG, CLIENT, COMMAND). The dispatcher picks the
 * subcommand; `run` only serves the bare container when its arity allows that (COMMAND).
 */
export function containerCommand(spec: {
  name: string;
  arity: number;
  flags: number;
  group: string;
  summary: string;
  subcommands: readonly CommandSpec[];
  run?(ctx: CommandContext, argv: string[]): void;
}): CommandSpec {
  const subs = new Map<string, CommandSpec>();
  for (const sub of spec.subcommands) subs.set(sub.name.slice(spec.name.length + 1), sub);
  return command({
    name: spec.name,
    arity: spec.arity,
    flags: spec.flags,
    group: spec.group,
    summary: spec.summary,
    subcommands: subs,
    run:
      spec.run ??
      ((ctx) => {
        ctx.reply.error(errArity(spec.name));
      }),
  });
}
