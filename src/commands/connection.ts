// Connection commands: PING, ECHO, QUIT, HELLO, AUTH, CLIENT. (SELECT lives with the keys.)

import { createHash, timingSafeEqual } from 'node:crypto';
import { Err } from '../protocol/errors.js';
import { ReplyMode } from '../protocol/reply.js';
import type { ClientState } from '../server/client-state.js';
import { REDIS_COMPAT_VERSION } from '../version.js';
import { parseInteger } from './args.js';
import { containerCommand, replyHelp } from './command-docs.js';
import { Flag, command, type CommandContext, type CommandSpec } from './types.js';

/** The only user until ACLs exist; Redis calls it the same. */
const defaultUser = 'default';

/** Rough per-client bookkeeping beyond its buffers, for CLIENT LIST's tot-mem. */
const clientOverheadBytes = 1024;

const ping = command({
  name: 'ping',
  arity: -1,
  flags: Flag.Fast | Flag.Connection,
  group: 'connection',
  summary: "Returns the server's liveliness response.",
  syntax: '[message]',
  run(ctx, argv) {
    // Redis's own check: the table's arity (-1) lets any count through.
    if (argv.length > 2) ctx.reply.error("ERR wrong number of arguments for 'ping' command");
    else if (argv.length === 2) ctx.reply.bulk(argv[1]!);
    else ctx.reply.status('PONG');
  },
});

const echo = command({
  name: 'echo',
  arity: 2,
  flags: Flag.Fast | Flag.Connection,
  group: 'connection',
  summary: 'Returns the given string.',
  syntax: 'message',
  run(ctx, argv) {
    ctx.reply.bulk(argv[1]!);
  },
});

const quit = command({
  name: 'quit',
  arity: -1,
  flags: Flag.Fast | Flag.Connection | Flag.NoAuth,
  group: 'connection',
  summary: 'Closes the connection.',
  run(ctx) {
    ctx.reply.ok();
    ctx.client.closeAfterReply = true;
  },
});

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'latin1').digest();
}

/**
 * Checks credentials against `requirepass` in constant time (hashing first makes the
 * lengths equal). With no password set the default user accepts any, as Redis's nopass.
 */
function credentialsValid(ctx: CommandContext, user: string, password: string): boolean {
  if (user !== defaultUser) return false;
  const required = ctx.services.config.str('requirepass');
  if (required === '') return true;
  return timingSafeEqual(sha256(required), sha256(password));
}

function passwordRequired(ctx: CommandContext): boolean {
  return ctx.services.config.str('requirepass') !== '';
}

const auth = command({
  name: 'auth',
  arity: -2,
  flags: Flag.Fast | Flag.Connection | Flag.NoAuth,
  group: 'connection',
  summary: 'Authenticates the connection.',
  syntax: '[username] password',
  run(ctx, argv) {
    if (argv.length > 3) {
      ctx.reply.error(Err.syntax);
      return;
    }
    if (argv.length === 2 && !passwordRequired(ctx)) {
      ctx.reply.error(Err.authNotConfigured);
      return;
    }
    const user = argv.length === 3 ? argv[1]! : defaultUser;
    if (!credentialsValid(ctx, user, argv[argv.length - 1]!)) {
      ctx.reply.error(Err.wrongPass);
      return;
    }
    ctx.client.authenticated = true;
    ctx.reply.ok();
  },
});

/** Redis's validateClientName: printable ASCII without spaces, so CLIENT LIST stays parseable. */
function validClientAttr(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

interface HelloArgs {
  protover: 0 | 2 | 3;
  user?: string;
  password?: string;
  name?: string;
}

/** Parses `HELLO [protover [AUTH user pass] [SETNAME name]]`; replies and returns null on error. */
function parseHello(ctx: CommandContext, argv: string[]): HelloArgs | null {
  const out: HelloArgs = { protover: 0 };
  if (argv.length >= 2) {
    const v = parseInteger(argv[1]!);
    if (v === null) {
      ctx.reply.error('ERR Protocol version is not an integer or out of range');
      return null;
    }
    if (v !== 2 && v !== 3) {
      ctx.reply.error(Err.noProto);
      return null;
    }
    out.protover = v;
  }
  for (let i = 2; i < argv.length; i++) {
    const opt = argv[i]!.toLowerCase();
    const more = argv.length - 1 - i;
    if (opt === 'auth' && more >= 2) {
      out.user = argv[++i]!;
      out.password = argv[++i]!;
    } else if (opt === 'setname' && more >= 1) {
      out.name = argv[++i]!;
      if (!validClientAttr(out.name)) {
        ctx.reply.error(Err.clientNameInvalid);
        return null;
      }
    } else {
      ctx.reply.error(`ERR Syntax error in HELLO option '${argv[i]!}'`);
      return null;
    }
  }
  return out;
}

const hello = command({
  name: 'hello',
  arity: -1,
  flags: Flag.Fast | Flag.Connection | Flag.NoAuth,
  group: 'connection',
  summary: 'Handshakes with the server: protocol version, authentication, client name.',
  syntax: '[protover [AUTH username password] [SETNAME clientname]]',
  run(ctx, argv) {
    const args = parseHello(ctx, argv);
    if (args === null) return;
    const client = ctx.client;
    if (args.user !== undefined) {
      if (!credentialsValid(ctx, args.user, args.password!)) {
        ctx.reply.error(Err.wrongPass);
        return;
      }
      client.authenticated = true;
    }
    if (!client.authenticated && passwordRequired(ctx)) {
      ctx.reply.error(
        'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      );
      return;
    }
    if (args.name !== undefined) client.name = args.name;
    if (args.protover !== 0) {
      client.resp = args.protover;
      // The handshake's own reply is already in the new protocol, as in Redis.
      if (client.mode !== ReplyMode.Plain) client.mode = ctx.reply.mode = args.protover;
    }
    replyHello(ctx);
  },
});

function replyHello(ctx: CommandContext): void {
  const r = ctx.reply;
  r.map(7);
  r.bulk('server');
  r.bulk('redis');
  r.bulk('version');
  r.bulk(REDIS_COMPAT_VERSION);
  r.bulk('proto');
  r.int(ctx.client.resp);
  r.bulk('id');
  r.int(ctx.client.id);
  r.bulk('mode');
  r.bulk('standalone');
  r.bulk('role');
  r.bulk('master');
  r.bulk('modules');
  r.array(0);
}

// ---- CLIENT ----

/**
 * One CLIENT LIST / CLIENT INFO line in Redis 7.2's field order. `argv` is the running
 * command's (only the caller has one in flight: Redis's argv-mem).
 */
function clientInfoLine(c: ClientState, nowMs: number, argv: readonly string[] | null): string {
  let argvMem = 0;
  if (argv !== null) for (const a of argv) argvMem += a.length;
  const totMem = clientOverheadBytes + c.queryBufferBytes + c.outputBufferBytes + argvMem;
  return (
    `id=${c.id} addr=${c.addr} laddr=${c.laddr} fd=-1 name=${c.name}` +
    ` age=${Math.floor((nowMs - c.createdAtMs) / 1000)} idle=${Math.floor((nowMs - c.lastInteractionMs) / 1000)}` +
    ` flags=${c.closeAfterReply ? 'c' : 'N'} db=${c.db} sub=0 psub=0 ssub=0 multi=-1` +
    ` qbuf=${c.queryBufferBytes} qbuf-free=0 argv-mem=${argvMem} multi-mem=0 rbs=0 rbp=0 obl=0 oll=0` +
    ` omem=${c.outputBufferBytes} tot-mem=${totMem} events=r cmd=${c.lastCommand} user=${defaultUser}` +
    ` redir=-1 resp=${c.resp} lib-name=${c.libName} lib-ver=${c.libVersion}\n`
  );
}

/** Client types as CLIENT LIST/KILL TYPE name them; every KeyMesh client is `normal`. */
const clientTypes = new Set(['normal', 'slave', 'replica', 'master', 'pubsub']);

function clientSub(spec: Omit<Parameters<typeof command>[0], 'group'>): CommandSpec {
  return command({ group: 'connection', ...spec, flags: (spec.flags ?? 0) | Flag.Connection });
}

const clientId = clientSub({
  name: 'client|id',
  arity: 2,
  summary: 'Returns the unique client ID of the connection.',
  run(ctx) {
    ctx.reply.int(ctx.client.id);
  },
});

const clientSetName = clientSub({
  name: 'client|setname',
  arity: 3,
  summary: 'Sets the connection name.',
  syntax: 'connection-name',
  run(ctx, argv) {
    if (!validClientAttr(argv[2]!)) {
      ctx.reply.error(Err.clientNameInvalid);
      return;
    }
    ctx.client.name = argv[2]!;
    ctx.reply.ok();
  },
});

const clientGetName = clientSub({
  name: 'client|getname',
  arity: 2,
  summary: 'Returns the name of the connection.',
  run(ctx) {
    ctx.reply.bulk(ctx.client.name === '' ? null : ctx.client.name);
  },
});

/** Parses CLIENT LIST's filters; replies and returns null on error. */
function parseListFilter(ctx: CommandContext, argv: string[]): ((c: ClientState) => boolean) | null {
  if (argv.length === 2) return () => true;
  const opt = argv[2]!.toLowerCase();
  if (argv.length === 4 && opt === 'type') {
    const type = argv[3]!.toLowerCase();
    if (!clientTypes.has(type)) {
      ctx.reply.error(`ERR Unknown client type '${argv[3]!}'`);
      return null;
    }
    return () => type === 'normal';
  }
  if (argv.length > 3 && opt === 'id') {
    const ids = new Set<number>();
    for (let i = 3; i < argv.length; i++) {
      const id = parseInteger(argv[i]!);
      if (id === null) {
        ctx.reply.error('ERR Invalid client ID');
        return null;
      }
      ids.add(id);
    }
    return (c) => ids.has(c.id);
  }
  ctx.reply.error(Err.syntax);
  return null;
}

const clientList = clientSub({
  name: 'client|list',
  arity: -2,
  flags: Flag.Admin,
  summary: 'Lists open connections.',
  syntax: '[TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id [client-id ...]]',
  run(ctx, argv) {
    const keep = parseListFilter(ctx, argv);
    if (keep === null) return;
    let out = '';
    for (const c of ctx.services.clients.values()) {
      if (keep(c)) out += clientInfoLine(c, ctx.now, c === ctx.client ? argv : null);
    }
    ctx.reply.verbatim(out);
  },
});

const clientInfo = clientSub({
  name: 'client|info',
  arity: 2,
  summary: 'Returns information about the connection.',
  run(ctx, argv) {
    ctx.reply.verbatim(clientInfoLine(ctx.client, ctx.now, argv));
  },
});

interface KillFilter {
  id?: number;
  addr?: string;
  laddr?: string;
  type?: string;
  skipMe: boolean;
}

/** Parses CLIENT KILL's `<filter> <value>` pairs; replies and returns null on error. */
function parseKillFilter(ctx: CommandContext, argv: string[]): KillFilter | null {
  const f: KillFilter = { skipMe: true };
  for (let i = 2; i < argv.length; i += 2) {
    const opt = argv[i]!.toLowerCase();
    const val = argv[i + 1];
    if (val === undefined) {
      ctx.reply.error(Err.syntax);
      return null;
    }
    if (opt === 'id') {
      const id = parseInteger(val);
      if (id === null || id < 1) {
        ctx.reply.error('ERR client-id should be greater than 0');
        return null;
      }
      f.id = id;
    } else if (opt === 'type') {
      if (!clientTypes.has(val.toLowerCase())) {
        ctx.reply.error(`ERR Unknown client type '${val}'`);
        return null;
      }
      f.type = val.toLowerCase();
    } else if (opt === 'addr') f.addr = val;
    else if (opt === 'laddr') f.laddr = val;
    else if (opt === 'user') {
      if (val !== defaultUser) {
        ctx.reply.error(`ERR No such user '${val}'`);
        return null;
      }
    } else if (opt === 'skipme') {
      const v = val.toLowerCase();
      if (v !== 'yes' && v !== 'no') {
        ctx.reply.error(Err.syntax);
        return null;
      }
      f.skipMe = v === 'yes';
    } else {
      ctx.reply.error(Err.syntax);
      return null;
    }
  }
  return f;
}

function killMatches(f: KillFilter, c: ClientState, self: ClientState): boolean {
  if (f.id !== undefined && c.id !== f.id) return false;
  if (f.addr !== undefined && c.addr !== f.addr) return false;
  if (f.laddr !== undefined && c.laddr !== f.laddr) return false;
  if (f.type !== undefined && f.type !== 'normal') return false;
  return !(f.skipMe && c === self);
}

/** The caller is answered first and closed after its reply, as in Redis. */
function kill(ctx: CommandContext, c: ClientState): boolean {
  if (c === ctx.client) {
    c.closeAfterReply = true;
    return true;
  }
  return ctx.services.killClient(c.id);
}

const clientKill = clientSub({
  name: 'client|kill',
  arity: -3,
  flags: Flag.Admin,
  summary: 'Terminates open connections.',
  syntax: 'ip:port | <ID client-id | TYPE type | USER username | ADDR ip:port | LADDR ip:port | SKIPME yes/no> ...',
  run(ctx, argv) {
    if (argv.length === 3) {
      // The old form: one address, an error when nobody is there.
      for (const c of ctx.services.clients.values()) {
        if (c.addr === argv[2] && kill(ctx, c)) {
          ctx.reply.ok();
          return;
        }
      }
      ctx.reply.error(Err.noSuchClient);
      return;
    }
    const f = parseKillFilter(ctx, argv);
    if (f === null) return;
    const victims = [...ctx.services.clients.values()].filter((c) => killMatches(f, c, ctx.client));
    let n = 0;
    for (const c of victims) if (kill(ctx, c)) n++;
    ctx.reply.int(n);
  },
});

const clientSetInfo = clientSub({
  name: 'client|setinfo',
  arity: 4,
  summary: 'Sets information specific to the client or connection.',
  syntax: 'LIB-NAME libname | LIB-VER libver',
  run(ctx, argv) {
    const attr = argv[2]!.toLowerCase();
    if (attr !== 'lib-name' && attr !== 'lib-ver') {
      ctx.reply.error(`ERR Unrecognized option '${argv[2]!}'`);
      return;
    }
    if (!validClientAttr(argv[3]!)) {
      ctx.reply.error(`ERR ${argv[2]!} cannot contain spaces, newlines or special characters.`);
      return;
    }
    if (attr === 'lib-name') ctx.client.libName = argv[3]!;
    else ctx.client.libVersion = argv[3]!;
    ctx.reply.ok();
  },
});

/** CLIENT NO-EVICT / NO-TOUCH: accepted for clients that send them; KeyMesh neither evicts nor tracks LRU. */
function onOffSub(name: string, summary: string): CommandSpec {
  return clientSub({
    name,
    arity: 3,
    summary,
    syntax: 'ON|OFF',
    run(ctx, argv) {
      const v = argv[2]!.toLowerCase();
      if (v === 'on' || v === 'off') ctx.reply.ok();
      else ctx.reply.error(Err.syntax);
    },
  });
}

const clientHelpLines = [
  'GETNAME',
  '    Return the name of the current connection.',
  'ID',
  '    Return the ID of the current connection.',
  'INFO',
  '    Return information about the current client connection.',
  'KILL <ip:port>',
  '    Kill connection made from <ip:port>.',
  'KILL <option> <value> [<option> <value> [...]]',
  '    Kill connections. Options are:',
  '    * ADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made from the specified address',
  '    * LADDR (<ip:port>|<unixsocket>:0)',
  '      Kill connections made to specified local address',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Kill connections by type.',
  '    * USER <username>',
  '      Kill connections authenticated by <username>.',
  '    * SKIPME (YES|NO)',
  '      Skip killing current connection (default: yes).',
  '    * ID <client-id>',
  '      Kill connections by client id.',
  'LIST [options ...]',
  '    Return information about client connections. Options:',
  '    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)',
  '      Return clients of specified type.',
  '    * ID <client-id> [<client-id> ...]',
  '      Return clients of specified IDs only.',
  'SETNAME <name>',
  '    Assign the name <name> to the current connection.',
  'SETINFO <option> <value>',
  '    Set client meta attr. Options are:',
  '    * LIB-NAME: the client lib name.',
  '    * LIB-VER: the client lib version.',
  'NO-EVICT (ON|OFF)',
  '    Protect current client connection from eviction.',
  'NO-TOUCH (ON|OFF)',
  "    Will not touch LRU/LFU stats when this mode is on.",
];

const clientHelp = clientSub({
  name: 'client|help',
  arity: 2,
  summary: 'Returns helpful text about the different subcommands.',
  run(ctx) {
    replyHelp(ctx.reply, 'client', clientHelpLines);
  },
});

const client = containerCommand({
  name: 'client',
  arity: -2,
  flags: Flag.Connection,
  group: 'connection',
  summary: 'A container for client connection commands.',
  subcommands: [
    clientId,
    clientSetName,
    clientGetName,
    clientList,
    clientInfo,
    clientKill,
    clientSetInfo,
    onOffSub('client|no-evict', 'Sets the client eviction mode of the connection.'),
    onOffSub('client|no-touch', 'Controls whether commands sent by the client affect the LRU/LFU of accessed keys.'),
    clientHelp,
  ],
});

export const connectionCommands: CommandSpec[] = [ping, echo, quit, hello, auth, client];
