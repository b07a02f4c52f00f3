// Server commands (INFO, CONFIG, COMMAND, TIME, DEBUG, SHUTDOWN): exact replies, INFO
// counters that move with real traffic, and COMMAND's view of the table.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyMode } from '../../src/protocol/reply.js';
import { syntaxToArgs } from '../../src/commands/command-docs.js';
import { TestClient, testServer } from '../helpers/harness.js';

/** A decoded reply: strings for bulk/status/verbatim, numbers, null, arrays; errors as Error. */
type Value = string | number | null | Error | Value[];

/** Decodes one RESP2/RESP3 reply (maps and sets as flat arrays); enough for these tests. */
function decode(s: string): Value {
  let pos = 0;
  function line(): string {
    const end = s.indexOf('\r\n', pos);
    const l = s.slice(pos, end);
    pos = end + 2;
    return l;
  }
  function one(): Value {
    const l = line();
    const t = l[0];
    const rest = l.slice(1);
    switch (t) {
      case '+':
        return rest;
      case '-':
        return new Error(rest);
      case ':':
        return Number(rest);
      case '_':
        return null;
      case '$':
      case '=': {
        const n = Number(rest);
        if (n < 0) return null;
        const v = s.slice(pos, pos + n);
        pos += n + 2;
        return t === '=' ? v.slice(4) : v;
      }
      case '*':
      case '~':
      case '%': {
        const n = Number(rest);
        if (n < 0) return null;
        const out: Value[] = [];
        for (let i = 0; i < n * (t === '%' ? 2 : 1); i++) out.push(one());
        return out;
      }
      default:
        throw new Error(`cannot decode ${JSON.stringify(l)}`);
    }
  }
  const v = one();
  assert.equal(pos, s.length, `trailing bytes in ${JSON.stringify(s)}`);
  return v;
}

function pairs(v: Value): Map<string, Value> {
  assert.ok(Array.isArray(v));
  const m = new Map<string, Value>();
  for (let i = 0; i < v.length; i += 2) m.set(v[i] as string, v[i + 1]!);
  return m;
}

/** INFO text → section title → field → value, checking every line's shape. */
function parseInfo(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  assert.ok(text === '' || text.endsWith('\r\n'), 'INFO ends with CRLF');
  for (const l of text.split('\r\n').slice(0, -1)) {
    if (l === '') continue;
    if (l.startsWith('# ')) {
      current = new Map();
      sections.set(l.slice(2), current);
      continue;
    }
    const m = /^([a-z0-9_|]+):(.*)$/.exec(l);
    assert.ok(m && current, `bad INFO line ${JSON.stringify(l)}`);
    current.set(m[1]!, m[2]!);
  }
  return sections;
}

function info(c: TestClient, ...sections: string[]): Map<string, Map<string, string>> {
  const v = decode(c.run('INFO', ...sections));
  assert.equal(typeof v, 'string');
  return parseInfo(v as string);
}

function field(c: TestClient, section: string, name: string): string {
  const s = info(c, section.toLowerCase()).get(section);
  assert.ok(s, `no section ${section}`);
  const v = s.get(name);
  assert.ok(v !== undefined, `no field ${name}`);
  return v;
}

describe('INFO', () => {
  it('default sections, in order, as key:value lines', () => {
    const { client } = testServer();
    const all = info(client);
    assert.deepEqual([...all.keys()], ['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Modules', 'Cluster', 'Keyspace']);
    const server = all.get('Server')!;
    assert.equal(server.get('redis_version'), '7.2.0');
    assert.equal(server.get('keymesh_version'), '0.1.0');
    assert.equal(server.get('redis_mode'), 'standalone');
    assert.match(server.get('run_id')!, /^[0-9a-f]{40}$/);
    assert.equal(server.get('process_id'), String(process.pid));
    assert.equal(server.get('hz'), '10');
    for (const f of ['os', 'arch_bits', 'tcp_port', 'uptime_in_seconds', 'uptime_in_days', 'executable', 'config_file']) {
      assert.ok(server.has(f), f);
    }
    assert.equal(all.get('Clients')!.get('maxclients'), '10000');
    const mem = all.get('Memory')!;
    assert.ok(Number(mem.get('used_memory')) > 0);
    assert.match(mem.get('used_memory_human')!, /^\d+\.\d\dM$/);
    assert.ok(Number(mem.get('used_memory_peak')) >= Number(mem.get('used_memory')));
    assert.equal(mem.get('mem_allocator'), 'v8');
    assert.equal(mem.get('maxmemory'), '0');
    assert.equal(all.get('Persistence')!.get('loading'), '0');
    assert.equal(all.get('Replication')!.get('role'), 'master');
    assert.equal(all.get('Replication')!.get('connected_slaves'), '0');
    assert.match(all.get('CPU')!.get('used_cpu_user')!, /^\d+\.\d{6}$/);
  });

  it('sections are separated by one blank line', () => {
    const { client } = testServer();
    const text = decode(client.run('INFO', 'server', 'clients')) as string;
    assert.match(text, /^# Server\r\n(.+\r\n)+\r\n# Clients\r\n(.+\r\n)+$/);
  });

  it('named sections, all/everything, unknown sections, and RESP3 verbatim', () => {
    const { server, client } = testServer();
    assert.deepEqual([...info(client, 'server').keys()], ['Server']);
    assert.deepEqual([...info(client, 'CPU', 'keyspace').keys()], ['CPU', 'Keyspace']);
    assert.ok(info(client, 'all').has('Commandstats'));
    assert.ok(info(client, 'everything').has('Commandstats'));
    assert.ok(!info(client, 'default').has('Commandstats'));
    assert.equal(client.run('INFO', 'nosuchsection'), '$0\r\n\r\n');
    const r3 = new TestClient(server, ReplyMode.Resp3).run('INFO', 'server');
    assert.match(r3, /^=\d+\r\ntxt:# Server\r\n/);
  });

  it('stats counters move with commands', () => {
    const { server, client } = testServer();
    const before = Number(field(client, 'Stats', 'total_commands_processed'));
    client.run('SET', 'k', 'v');
    client.run('GET', 'k');
    client.run('GET', 'missing');
    client.run('GET', 'missing');
    client.run('NOSUCHCOMMAND');
    const stats = info(client, 'stats').get('Stats')!;
    // SET and GET ×3 (not the unknown command); this INFO counts itself too.
    assert.equal(Number(stats.get('total_commands_processed')), before + 4 + 1);
    assert.equal(stats.get('keyspace_hits'), '1');
    assert.equal(stats.get('keyspace_misses'), '2');
    assert.equal(stats.get('total_error_replies'), '1');
    server.stats.totalConnectionsReceived = 7;
    server.stats.netInputBytes = 1234;
    assert.equal(field(client, 'Stats', 'total_connections_received'), '7');
    assert.equal(field(client, 'Stats', 'total_net_input_bytes'), '1234');
  });

  it('expired_keys counts keys the leader expired', () => {
    const { server, clock, client } = testServer();
    const db = server.keyspace.db(0);
    db.set('a', '1', clock.nowMs + 100);
    db.set('b', '2', clock.nowMs + 100);
    db.set('c', '3');
    assert.equal(field(client, 'Keyspace', 'db0'), 'keys=3,expires=2,avg_ttl=0');
    clock.advance(200);
    server.expirer.cycle(100, 1);
    assert.equal(field(client, 'Stats', 'expired_keys'), '2');
    assert.equal(field(client, 'Keyspace', 'db0'), 'keys=1,expires=0,avg_ttl=0');
  });

  it('keyspace lists only non-empty databases', () => {
    const { server, client } = testServer();
    assert.equal(info(client, 'keyspace').get('Keyspace')!.size, 0);
    server.keyspace.db(3).set('x', 'y');
    assert.deepEqual([...info(client, 'keyspace').get('Keyspace')!], [['db3', 'keys=1,expires=0,avg_ttl=0']]);
  });

  it('commandstats per command, with failures and subcommand full names', () => {
    const { client } = testServer();
    client.run('GET', 'a');
    client.run('GET', 'b');
    client.run('CLIENT', 'ID');
    client.run('CONFIG', 'SET', 'nosuch', '1');
    const cs = info(client, 'commandstats').get('Commandstats')!;
    assert.match(cs.get('cmdstat_get')!, /^calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=0,failed_calls=0$/);
    assert.match(cs.get('cmdstat_client|id')!, /^calls=1,/);
    assert.match(cs.get('cmdstat_config|set')!, /,failed_calls=1$/);
  });

  it('instantaneous_ops_per_sec averages sampled rates', () => {
    const { server, client } = testServer();
    const t0 = 1_000_000;
    server.stats.sampleInstantaneous(t0, 0);
    for (let i = 0; i < 16; i++) {
      for (let j = 0; j < 10; j++) client.run('PING');
      server.stats.sampleInstantaneous(t0 + (i + 1) * 100, 0);
    }
    // 10 commands per 100 ms in every sample of the ring.
    assert.equal(field(client, 'Stats', 'instantaneous_ops_per_sec'), '100');
  });

  it('master_repl_offset is the applied log index', () => {
    const { client } = testServer();
    const before = Number(field(client, 'Replication', 'master_repl_offset'));
    client.run('SET', 'k', 'v');
    client.run('DEL', 'k');
    assert.equal(Number(field(client, 'Replication', 'master_repl_offset')), before + 2);
  });

  it('provider sections merge into built-ins or stand alone', () => {
    const { server, client } = testServer();
    server.infoProviders.set('persistence', () => [['rdb_changes_since_last_save', 5]]);
    server.infoProviders.set('raft', () => [['raft_term', 3], ['raft_role', 'leader']]);
    const all = info(client);
    assert.deepEqual([...all.get('Persistence')!], [['loading', '0'], ['async_loading', '0'], ['lazy_load_in_progress', '0'], ['rdb_changes_since_last_save', '5']]);
    assert.deepEqual([...all.get('Raft')!], [['raft_term', '3'], ['raft_role', 'leader']]);
    assert.deepEqual([...info(client, 'raft').keys()], ['Raft']);
  });
});

describe('unknown commands and subcommands', () => {
  it('quote names and arguments as C strings: up to a NUL byte, as Redis\'s %s does', () => {
    const { client } = testServer();
    assert.equal(client.run('x\x00y', 'a\x00b', '\x00', 'c'), "-ERR unknown command 'x', with args beginning with: 'a' '' 'c' \r\n");
    assert.equal(client.run('CONFIG', 'a\x00x'), "-ERR unknown subcommand 'a'. Try CONFIG HELP.\r\n");
    assert.equal(client.run('COMMAND', '\x00'), "-ERR unknown subcommand ''. Try COMMAND HELP.\r\n");
  });

  it('quote at most 128 bytes of arguments in all', () => {
    const { client } = testServer();
    const reply = client.run('NOSUCH', 'a'.repeat(100), 'b'.repeat(100), 'c');
    assert.equal(reply, `-ERR unknown command 'NOSUCH', with args beginning with: '${'a'.repeat(100)}' '${'b'.repeat(25)}' \r\n`);
  });
});

describe('CONFIG', () => {
  it('GET answers appendonly (from persistence) and save (empty), which tools like redis-benchmark read', () => {
    const { client } = testServer({ persistence: 'no' });
    assert.equal(client.run('CONFIG', 'GET', 'appendonly'), '*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n');
    assert.equal(client.run('CONFIG', 'GET', 'save'), '*2\r\n$4\r\nsave\r\n$0\r\n\r\n');
    assert.equal(testServer().client.run('CONFIG', 'GET', 'appendonly'), '*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n');
  });

  it('GET of an exact name answers it as spelled; globs answer the real names; each setting once', () => {
    const { client } = testServer();
    assert.equal(client.run('CONFIG', 'GET', 'HZ'), '*2\r\n$2\r\nHZ\r\n$2\r\n10\r\n');
    assert.equal(client.run('CONFIG', 'GET', 'HZ', 'hz', 'H?'), '*2\r\n$2\r\nHZ\r\n$2\r\n10\r\n');
    assert.equal(client.run('CONFIG', 'GET', 'H[z]'), '*2\r\n$2\r\nhz\r\n$2\r\n10\r\n');
    // Without glob characters the lookup is exact: a backslash is part of the name.
    assert.equal(client.run('CONFIG', 'GET', 'h\\z'), '*0\r\n');
  });

  it('GET by name and by glob, as a flat array or a RESP3 map', () => {
    const { server, client } = testServer();
    assert.equal(client.run('CONFIG', 'GET', 'maxclients'), '*2\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n');
    assert.equal(new TestClient(server, ReplyMode.Resp3).run('CONFIG', 'GET', 'maxclients'), '%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n');
    const m = pairs(decode(client.run('CONFIG', 'GET', '*max*')));
    assert.ok(m.has('maxclients') && m.has('proto-max-bulk-len'));
    assert.ok([...m.keys()].every((k) => k.includes('max')));
    assert.equal(client.run('CONFIG', 'GET', 'nothing-like-this'), '*0\r\n');
    // A setting matched by two patterns is listed once.
    const p = pairs(decode(client.run('CONFIG', 'GET', 'p*')));
    assert.ok(p.has('port'));
    assert.deepEqual(pairs(decode(client.run('CONFIG', 'GET', 'port', 'p*', 'PORT'))), p);
  });

  it('SET then GET round-trips, several at once', () => {
    const { server, client } = testServer();
    assert.equal(client.run('CONFIG', 'SET', 'timeout', '30', 'maxclients', '50'), '+OK\r\n');
    assert.equal(client.run('CONFIG', 'GET', 'timeout'), '*2\r\n$7\r\ntimeout\r\n$2\r\n30\r\n');
    assert.equal(server.config.int('maxclients'), 50);
    assert.equal(client.run('CONFIG', 'SET', 'proto-max-bulk-len', '2mb'), '+OK\r\n');
    assert.equal(server.config.int('proto-max-bulk-len'), 2 * 1024 * 1024);
  });

  it('SET is all or nothing', () => {
    const { server, client } = testServer();
    assert.equal(
      client.run('CONFIG', 'SET', 'timeout', '5', 'maxclients', 'abc'),
      "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer\r\n",
    );
    assert.equal(server.config.int('timeout'), 0);
    assert.equal(client.run('CONFIG', 'SET', 'timeout', '5', 'nosuch', '1'), "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n");
    assert.equal(server.config.int('timeout'), 0);
  });

  it('SET errors use Redis texts', () => {
    const { client } = testServer();
    assert.equal(client.run('CONFIG', 'SET', 'port', '1'), "-ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config\r\n");
    assert.equal(client.run('CONFIG', 'SET', 'hz', '0'), "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument must be between 1 and 500 inclusive\r\n");
    assert.equal(
      client.run('CONFIG', 'SET', 'timeout', '1', 'timeout', '2'),
      "-ERR CONFIG SET failed (possibly related to argument 'timeout') - duplicate parameter\r\n",
    );
    assert.equal(client.run('CONFIG', 'SET', 'timeout', '1', 'hz'), '-ERR syntax error\r\n');
    assert.equal(client.run('CONFIG', 'SET', 'timeout'), "-ERR wrong number of arguments for 'config|set' command\r\n");
    assert.equal(client.run('CONFIG', 'GET'), "-ERR wrong number of arguments for 'config|get' command\r\n");
    assert.equal(client.run('CONFIG'), "-ERR wrong number of arguments for 'config' command\r\n");
    assert.equal(client.run('CONFIG', 'FOO'), "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
  });

  it('SET requirepass takes effect for new clients', () => {
    const { server, client } = testServer();
    assert.equal(client.run('CONFIG', 'SET', 'requirepass', 'pw'), '+OK\r\n');
    const late = new TestClient(server);
    assert.equal(late.run('GET', 'k'), '-NOAUTH Authentication required.\r\n');
    assert.equal(late.run('AUTH', 'pw'), '+OK\r\n');
  });

  it('RESETSTAT zeroes the counters', () => {
    const { server, client } = testServer();
    client.run('GET', 'a');
    server.keyspace.expiredKeys = 4;
    assert.equal(client.run('CONFIG', 'RESETSTAT'), '+OK\r\n');
    const stats = info(client, 'stats').get('Stats')!;
    assert.equal(stats.get('total_commands_processed'), '1');
    assert.equal(stats.get('keyspace_misses'), '0');
    assert.equal(stats.get('expired_keys'), '0');
    assert.deepEqual([...info(client, 'commandstats').get('Commandstats')!.keys()], ['cmdstat_info']);
  });

  it('REWRITE without a config file, and HELP', () => {
    const { client } = testServer();
    assert.equal(client.run('CONFIG', 'REWRITE'), '-ERR The server is running without a config file\r\n');
    const help = decode(client.run('CONFIG', 'HELP')) as string[];
    assert.equal(help[0], 'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    assert.equal(help.at(-2), 'HELP');
  });
});

describe('COMMAND', () => {
  it('COUNT is the table size without internal commands, and COMMAND lists them all', () => {
    const { server, client } = testServer();
    let internal = 0;
    for (const s of server.commands.values()) if (s.flags & 32) internal++;
    assert.ok(internal > 0);
    const count = server.commands.size - internal;
    assert.equal(client.run('COMMAND', 'COUNT'), `:${count}\r\n`);
    const all = decode(client.run('COMMAND')) as Value[][];
    assert.equal(all.length, count);
    assert.ok(!all.some((c) => c[0] === 'expired'));
    assert.equal((decode(client.run('COMMAND', 'INFO')) as Value[]).length, count);
  });

  it('INFO has Redis 7 shape: name, arity, flags, keys, categories, tips, key specs, subcommands', () => {
    const { client } = testServer();
    assert.deepEqual(decode(client.run('COMMAND', 'INFO', 'get')), [
      ['get', 2, ['readonly', 'fast'], 1, 1, 1, ['@read', '@string', '@fast'], [], [], []],
    ]);
    assert.deepEqual(decode(client.run('COMMAND', 'INFO', 'SET', 'nosuch', 'expired')), [
      ['set', -3, ['write', 'denyoom'], 1, 1, 1, ['@write', '@string', '@slow'], [], [], []],
      null,
      null,
    ]);
    assert.ok(client.run('COMMAND', 'INFO', 'nosuch').endsWith('$-1\r\n'));
    const [auth] = decode(client.run('COMMAND', 'INFO', 'auth')) as Value[][];
    assert.deepEqual(auth![2], ['fast', 'no_auth']);
    assert.deepEqual(auth![6], ['@fast', '@connection']);
    const [cfg] = decode(client.run('COMMAND', 'INFO', 'config')) as Value[][];
    const subs = cfg![9] as Value[][];
    assert.ok(subs.some((s) => s[0] === 'config|get' && s[1] === -3));
    assert.deepEqual(decode(client.run('COMMAND', 'INFO', 'config|get')), [subs.find((s) => s[0] === 'config|get')]);
  });

  it('flags and categories are sets in RESP3', () => {
    const { server } = testServer();
    const out = new TestClient(server, ReplyMode.Resp3).run('COMMAND', 'INFO', 'get');
    assert.ok(out.startsWith('*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n'), out);
  });

  it('DOCS maps names to summaries and groups', () => {
    const { server, client } = testServer();
    const docs = pairs(decode(client.run('COMMAND', 'DOCS', 'get', 'nosuch', 'client')));
    assert.deepEqual([...docs.keys()], ['get', 'client']);
    const get = pairs(docs.get('get')!);
    assert.equal(get.get('summary'), 'Returns the string value of a key.');
    assert.equal(get.get('group'), 'string');
    assert.deepEqual(get.get('arguments'), [['name', 'key', 'type', 'key']]);
    const del = pairs(pairs(decode(client.run('COMMAND', 'DOCS', 'del'))).get('del')!);
    assert.deepEqual(del.get('arguments'), [['name', 'key', 'type', 'key', 'flags', ['multiple']]]);
    const client3 = pairs(docs.get('client')!);
    assert.ok(pairs(client3.get('subcommands')!).has('client|setname'));
    assert.ok(new TestClient(server, ReplyMode.Resp3).run('COMMAND', 'DOCS', 'get').startsWith('%1\r\n$3\r\nget\r\n%3\r\n'));
    assert.equal(pairs(decode(client.run('COMMAND', 'DOCS'))).size, Number(/:(\d+)/.exec(client.run('COMMAND', 'COUNT'))![1]));
  });

  it('DOCS argument trees come from the syntax line, as Redis shapes them', () => {
    assert.deepEqual(syntaxToArgs('key value [NX|XX] [EX seconds|KEEPTTL]'), [
      { name: 'key', type: 'key', flags: [] },
      { name: 'value', type: 'string', flags: [] },
      {
        name: 'option',
        type: 'oneof',
        flags: ['optional'],
        args: [
          { name: 'nx', type: 'pure-token', token: 'NX', flags: [] },
          { name: 'xx', type: 'pure-token', token: 'XX', flags: [] },
        ],
      },
      {
        name: 'option',
        type: 'oneof',
        flags: ['optional'],
        args: [
          { name: 'seconds', type: 'string', token: 'EX', flags: [] },
          { name: 'keepttl', type: 'pure-token', token: 'KEEPTTL', flags: [] },
        ],
      },
    ]);
    const [type, id] = syntaxToArgs('[TYPE NORMAL|MASTER] [ID client-id [client-id ...]]');
    assert.equal(type!.token, 'TYPE');
    assert.equal(type!.type, 'oneof');
    assert.deepEqual(type!.args!.map((a) => a.token), ['NORMAL', 'MASTER']);
    assert.deepEqual(id, { name: 'client-id', type: 'string', token: 'ID', flags: ['multiple', 'optional'] });
    assert.deepEqual(syntaxToArgs('[protover [AUTH username password]]'), [
      {
        name: 'block',
        type: 'block',
        flags: ['optional'],
        args: [
          { name: 'protover', type: 'string', flags: [] },
          {
            name: 'block',
            type: 'block',
            flags: ['optional'],
            args: [
              { name: 'username', type: 'string', token: 'AUTH', flags: [] },
              { name: 'password', type: 'string', flags: [] },
            ],
          },
        ],
      },
    ]);
    assert.deepEqual(syntaxToArgs('key value [key value ...]'), [
      {
        name: 'data',
        type: 'block',
        flags: ['multiple'],
        args: [
          { name: 'key', type: 'key', flags: [] },
          { name: 'value', type: 'string', flags: [] },
        ],
      },
    ]);
    const [filter] = syntaxToArgs('[FILTERBY MODULE name | ACLCAT category]');
    assert.equal(filter!.token, 'FILTERBY');
    assert.deepEqual(filter!.args!.map((a) => a.token), ['MODULE', 'ACLCAT']);
    // Malformed lines never throw.
    for (const bad of ['a [b', ']]][[', '', '| |', '(((', '...']) assert.ok(Array.isArray(syntaxToArgs(bad)));
  });

  it('GETKEYS from key positions, with Redis errors', () => {
    const { client } = testServer();
    assert.deepEqual(decode(client.run('COMMAND', 'GETKEYS', 'SET', 'k', 'v')), ['k']);
    assert.deepEqual(decode(client.run('COMMAND', 'GETKEYS', 'del', 'a', 'b', 'c')), ['a', 'b', 'c']);
    assert.deepEqual(decode(client.run('COMMAND', 'GETKEYS', 'GET', 'x')), ['x']);
    assert.equal(client.run('COMMAND', 'GETKEYS', 'GET'), "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
    assert.equal(client.run('COMMAND', 'GETKEYS', 'SET', 'k'), '-ERR Invalid number of arguments specified for command\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS', 'GET', 'a', 'b'), '-ERR Invalid number of arguments specified for command\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS', 'PING', 'x'), '-ERR The command has no key arguments\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS', 'CONFIG', 'GET', 'x'), '-ERR The command has no key arguments\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS', 'NOPE', 'x'), '-ERR Invalid command specified\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS', 'expired', 'x'), '-ERR Invalid command specified\r\n');
    assert.equal(client.run('COMMAND', 'GETKEYS'), "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
  });

  it('LIST with subcommands and filters', () => {
    const { client } = testServer();
    const names = decode(client.run('COMMAND', 'LIST')) as string[];
    assert.ok(names.includes('get') && names.includes('config|get') && names.includes('client|kill'));
    assert.ok(!names.includes('expired'));
    const conn = decode(client.run('COMMAND', 'LIST', 'FILTERBY', 'ACLCAT', 'connection')) as string[];
    assert.ok(conn.includes('ping') && conn.includes('hello') && !conn.includes('get'));
    assert.deepEqual((decode(client.run('COMMAND', 'LIST', 'FILTERBY', 'PATTERN', 'conf*')) as string[]).sort(), [
      'config',
      'config|get',
      'config|help',
      'config|resetstat',
      'config|rewrite',
      'config|set',
    ]);
    assert.equal(client.run('COMMAND', 'LIST', 'FILTERBY', 'MODULE', 'x'), '*0\r\n');
    assert.equal(client.run('COMMAND', 'LIST', 'FILTERBY', 'FOO', 'x'), '-ERR syntax error\r\n');
    assert.equal(client.run('COMMAND', 'LIST', 'x'), '-ERR syntax error\r\n');
  });

  it('HELP', () => {
    const { client } = testServer();
    const help = decode(client.run('COMMAND', 'HELP')) as string[];
    assert.equal(help[0], 'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
  });
});

describe('TIME, DEBUG, SHUTDOWN', () => {
  it('TIME answers seconds and microseconds as bulk strings', () => {
    const { clock, client } = testServer();
    clock.nowMs = 1_700_000_000_123;
    assert.equal(client.run('TIME'), '*2\r\n$10\r\n1700000000\r\n$6\r\n123000\r\n');
    assert.equal(client.run('TIME', 'x'), "-ERR wrong number of arguments for 'time' command\r\n");
  });

  it('DEBUG SLEEP blocks for the given seconds', () => {
    const { server, client } = testServer();
    const slept: number[] = [];
    server.sleep = (ms) => void slept.push(ms);
    assert.equal(client.run('DEBUG', 'SLEEP', '0.25'), '+OK\r\n');
    assert.equal(client.run('DEBUG', 'SLEEP', '0'), '+OK\r\n');
    assert.deepEqual(slept, [250]);
    assert.equal(client.run('DEBUG', 'SLEEP'), "-ERR unknown subcommand or wrong number of arguments for 'SLEEP'. Try DEBUG HELP.\r\n");
  });

  it('DEBUG OBJECT, HELP and unknown subcommands', () => {
    const { client } = testServer();
    client.run('SET', 'n', '12345');
    client.run('SET', 's', 'hello');
    assert.match(client.run('DEBUG', 'OBJECT', 'n'), /^\+Value at:\S+ refcount:1 encoding:int serializedlength:5 /);
    assert.match(client.run('DEBUG', 'OBJECT', 's'), / encoding:embstr /);
    assert.equal(client.run('DEBUG', 'OBJECT', 'missing'), '-ERR no such key\r\n');
    const help = decode(client.run('DEBUG', 'HELP')) as string[];
    assert.equal(help[0], 'DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:');
    assert.equal(client.run('DEBUG', 'nope'), "-ERR unknown subcommand or wrong number of arguments for 'nope'. Try DEBUG HELP.\r\n");
    assert.equal(client.run('DEBUG'), "-ERR wrong number of arguments for 'debug' command\r\n");
  });

  it('enable-debug-command: local (the default) refuses DEBUG from a remote address; no refuses it from all; yes allows all', () => {
    const notAllowed =
      '-ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, ' +
      'otherwise you need to set this option in the configuration file, and then restart the server.\r\n';
    const slept: number[] = [];
    const local = testServer();
    local.server.sleep = (ms) => void slept.push(ms);
    const remote = new TestClient(local.server, ReplyMode.Resp2, '10.1.2.3:40000');
    assert.equal(remote.run('DEBUG', 'SLEEP', '5'), notAllowed);
    assert.deepEqual(slept, []);
    assert.equal(new TestClient(local.server, ReplyMode.Resp2, '::1:40000').run('DEBUG', 'SLEEP', '0.01'), '+OK\r\n');
    assert.equal(new TestClient(local.server, ReplyMode.Resp2, '::ffff:127.0.0.1:40000').run('DEBUG', 'SLEEP', '0.01'), '+OK\r\n');
    assert.deepEqual(slept, [10, 10]);
    assert.equal(local.client.run('CONFIG', 'SET', 'enable-debug-command', 'yes'), "-ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - can't set immutable config\r\n");

    const none = testServer({ 'enable-debug-command': 'no' });
    assert.equal(none.client.run('DEBUG', 'OBJECT', 'k'), notAllowed);
    const all = testServer({ 'enable-debug-command': 'yes' });
    assert.equal(new TestClient(all.server, ReplyMode.Resp2, '10.1.2.3:40000').run('DEBUG', 'OBJECT', 'k'), '-ERR no such key\r\n');
  });

  it('enable-protected-configs: clock-offset-ms is refused unless allowed (no by default), and nothing changes', () => {
    const refused = "-ERR CONFIG SET failed (possibly related to argument 'clock-offset-ms') - can't set protected config\r\n";
    const { server, client } = testServer();
    assert.equal(client.run('CONFIG', 'SET', 'clock-offset-ms', '60000'), refused);
    // All or nothing: a permitted setting in the same call is not applied either.
    assert.equal(client.run('CONFIG', 'SET', 'hz', '20', 'CLOCK-OFFSET-MS', '1'), refused);
    assert.equal(server.config.int('hz'), 10);
    assert.equal(server.config.int('clock-offset-ms'), 0);
    // Reading it stays allowed, as in Redis.
    assert.equal(client.run('CONFIG', 'GET', 'clock-offset-ms'), '*2\r\n$15\r\nclock-offset-ms\r\n$1\r\n0\r\n');

    const local = testServer({ 'enable-protected-configs': 'local' });
    assert.equal(local.client.run('CONFIG', 'SET', 'clock-offset-ms', '5'), '+OK\r\n');
    assert.equal(new TestClient(local.server, ReplyMode.Resp2, '192.168.0.7:5555').run('CONFIG', 'SET', 'clock-offset-ms', '6'), refused);
    assert.equal(local.server.config.int('clock-offset-ms'), 5);
    const all = testServer({ 'enable-protected-configs': 'yes' });
    assert.equal(new TestClient(all.server, ReplyMode.Resp2, '192.168.0.7:5555').run('CONFIG', 'SET', 'clock-offset-ms', '7'), '+OK\r\n');
  });

  it('SHUTDOWN stops the node without a reply; bad options are syntax errors', () => {
    const { server, client } = testServer();
    let stops = 0;
    server.shutdown = () => void stops++;
    assert.equal(client.run('SHUTDOWN', 'NOSAVE', 'SAVE'), '-ERR syntax error\r\n');
    assert.equal(client.run('SHUTDOWN', 'ABORT', 'NOW'), '-ERR syntax error\r\n');
    assert.equal(client.run('SHUTDOWN', 'LATER'), '-ERR syntax error\r\n');
    assert.equal(client.run('SHUTDOWN', 'ABORT'), '-ERR No shutdown in progress.\r\n');
    assert.equal(stops, 0);
    assert.equal(client.run('SHUTDOWN', 'NOSAVE', 'NOW', 'FORCE'), '');
    assert.equal(stops, 1);
    assert.equal(client.client.closeAfterReply, true);
  });
});
