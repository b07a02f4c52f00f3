// Connection commands (PING, ECHO, QUIT, HELLO, AUTH, CLIENT): exact replies in RESP2,
// RESP3 and plain text, the authentication flow, and CLIENT against real sockets.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyMode } from '../../src/protocol/reply.js';
import { TestClient, testServer } from '../helpers/harness.js';
import { RawConnection, resp } from '../helpers/process.js';

const helloBody = (proto: number, id: number): string =>
  '$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.2.0\r\n' +
  `$5\r\nproto\r\n:${proto}\r\n$2\r\nid\r\n:${id}\r\n` +
  '$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n';

describe('PING, ECHO, QUIT', () => {
  it('PING answers PONG, or echoes its argument as a bulk string', () => {
    const { client } = testServer();
    assert.equal(client.run('PING'), '+PONG\r\n');
    assert.equal(client.run('ping', 'hello'), '$5\r\nhello\r\n');
    assert.equal(client.run('PING', 'a', 'b'), "-ERR wrong number of arguments for 'ping' command\r\n");
  });

  it('PING in RESP3 and in plain text', () => {
    const { server } = testServer();
    assert.equal(new TestClient(server, ReplyMode.Resp3).run('PING'), '+PONG\r\n');
    assert.equal(new TestClient(server, ReplyMode.Plain).run('PING'), 'PONG\n');
  });

  it('ECHO returns its argument byte for byte', () => {
    const { client } = testServer();
    assert.equal(client.run('ECHO', 'h\u00e9\r\nx'), '$5\r\nh\u00e9\r\nx\r\n');
    assert.equal(client.run('ECHO'), "-ERR wrong number of arguments for 'echo' command\r\n");
  });

  it('QUIT answers OK and marks the connection to close', () => {
    const { client } = testServer();
    assert.equal(client.run('QUIT'), '+OK\r\n');
    assert.equal(client.client.closeAfterReply, true);
  });
});

describe('HELLO', () => {
  it('without arguments describes the server in the current protocol', () => {
    const { client } = testServer();
    assert.equal(client.run('HELLO'), '*14\r\n' + helloBody(2, client.client.id));
  });

  it('HELLO 3 answers with a map and switches later replies to RESP3', () => {
    const { client } = testServer();
    assert.equal(client.run('HELLO', '3'), '%7\r\n' + helloBody(3, client.client.id));
    assert.equal(client.client.resp, 3);
    assert.equal(client.run('GET', 'missing'), '_\r\n');
    assert.equal(client.run('HELLO', '2'), '*14\r\n' + helloBody(2, client.client.id));
    assert.equal(client.run('GET', 'missing'), '$-1\r\n');
  });

  it('rejects unknown versions and options with Redis texts', () => {
    const { client } = testServer();
    assert.equal(client.run('HELLO', '4'), '-NOPROTO unsupported protocol version\r\n');
    assert.equal(client.run('HELLO', '1'), '-NOPROTO unsupported protocol version\r\n');
    assert.equal(client.run('HELLO', 'x'), '-ERR Protocol version is not an integer or out of range\r\n');
    assert.equal(client.run('HELLO', '3', 'FOO'), "-ERR Syntax error in HELLO option 'FOO'\r\n");
    assert.equal(client.run('HELLO', '3', 'AUTH', 'default'), "-ERR Syntax error in HELLO option 'AUTH'\r\n");
    assert.equal(client.run('HELLO', '3', 'SETNAME', 'a b'), '-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    // A failed HELLO changes nothing.
    assert.equal(client.client.resp, 2);
  });

  it('SETNAME names the connection', () => {
    const { client } = testServer();
    assert.ok(client.run('HELLO', '2', 'SETNAME', 'worker-1').startsWith('*14\r\n'));
    assert.equal(client.run('CLIENT', 'GETNAME'), '$8\r\nworker-1\r\n');
  });

  it('in plain text switches the protocol but keeps the reply human', () => {
    const { server } = testServer();
    const c = new TestClient(server, ReplyMode.Plain);
    const out = c.run('HELLO', '3');
    assert.ok(out.startsWith('server\nredis\nversion\n7.2.0\nproto\n3\n'), out);
    assert.equal(c.client.resp, 3);
  });
});

describe('AUTH', () => {
  it('without requirepass: the one-argument form is refused, the default user accepts anything', () => {
    const { client } = testServer();
    assert.equal(
      client.run('AUTH', 'x'),
      '-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n',
    );
    assert.equal(client.run('AUTH', 'default', 'x'), '+OK\r\n');
    assert.equal(client.run('AUTH', 'alice', 'x'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(client.run('AUTH', 'a', 'b', 'c'), '-ERR syntax error\r\n');
  });

  it('with requirepass: NOAUTH until the right password, WRONGPASS for a wrong one', () => {
    const { client } = testServer({ requirepass: 's3cret' });
    assert.equal(client.run('GET', 'k'), '-NOAUTH Authentication required.\r\n');
    assert.equal(client.run('PING'), '-NOAUTH Authentication required.\r\n');
    assert.equal(client.run('AUTH', 'wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(client.run('AUTH', 'default', 'wrong'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(client.run('GET', 'k'), '-NOAUTH Authentication required.\r\n');
    assert.equal(client.run('AUTH', 's3cret'), '+OK\r\n');
    assert.equal(client.client.authenticated, true);
    assert.equal(client.run('GET', 'k'), '$-1\r\n');
  });

  it('the two-argument form takes the default user', () => {
    const { client } = testServer({ requirepass: 's3cret' });
    assert.equal(client.run('AUTH', 'other', 's3cret'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(client.run('AUTH', 'default', 's3cret'), '+OK\r\n');
  });

  it('HELLO needs authentication unless it carries AUTH', () => {
    const { client } = testServer({ requirepass: 's3cret' });
    assert.match(client.run('HELLO', '3'), /^-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used/);
    assert.equal(client.client.resp, 2);
    assert.equal(client.run('HELLO', '3', 'AUTH', 'default', 'nope'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(client.run('HELLO', '3', 'AUTH', 'default', 's3cret'), '%7\r\n' + helloBody(3, client.client.id));
    assert.equal(client.client.authenticated, true);
    assert.equal(client.run('GET', 'k'), '_\r\n');
  });

  it('QUIT works before authentication', () => {
    const { client } = testServer({ requirepass: 's3cret' });
    assert.equal(client.run('QUIT'), '+OK\r\n');
  });
});

/** CLIENT LIST / INFO line as Redis 7.2 lays it out. */
const clientLine =
  /^id=(\d+) addr=\S+:\d+ laddr=\S+:\d+ fd=-?\d+ name=(\S*) age=\d+ idle=\d+ flags=[A-Za-z]+ db=(\d+) sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=0 rbs=\d+ rbp=\d+ obl=0 oll=0 omem=\d+ tot-mem=\d+ events=r cmd=(\S+) user=default redir=-1 resp=([23]) lib-name=(\S*) lib-ver=(\S*)$/;

/** Unwraps a bulk string reply. */
function bulkText(reply: string): string {
  const m = /^\$(\d+)\r\n/.exec(reply);
  assert.ok(m, reply);
  return reply.slice(m[0].length, m[0].length + Number(m[1]));
}

describe('CLIENT', () => {
  it('ID, SETNAME and GETNAME', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT', 'ID'), `:${client.client.id}\r\n`);
    assert.equal(client.run('CLIENT', 'GETNAME'), '$-1\r\n');
    assert.equal(client.run('CLIENT', 'SETNAME', 'conn-1'), '+OK\r\n');
    assert.equal(client.run('client', 'getname'), '$6\r\nconn-1\r\n');
    for (const bad of ['a b', 'a\nb', 'caf\u00e9']) {
      assert.equal(client.run('CLIENT', 'SETNAME', bad), '-ERR Client names cannot contain spaces, newlines or special characters.\r\n');
    }
    assert.equal(client.run('CLIENT', 'SETNAME', ''), '+OK\r\n');
    assert.equal(client.run('CLIENT', 'GETNAME'), '$-1\r\n');
  });

  it('arity and unknown subcommands use Redis texts', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT'), "-ERR wrong number of arguments for 'client' command\r\n");
    assert.equal(client.run('CLIENT', 'SETNAME'), "-ERR wrong number of arguments for 'client|setname' command\r\n");
    assert.equal(client.run('CLIENT', 'NOPE'), "-ERR unknown subcommand 'NOPE'. Try CLIENT HELP.\r\n");
  });

  it('LIST shows one Redis-format line per client', () => {
    const { server, client } = testServer();
    const other = new TestClient(server);
    other.run('HELLO', '3', 'SETNAME', 'other');
    other.run('CLIENT', 'SETINFO', 'LIB-NAME', 'node-redis');
    client.run('CLIENT', 'SETNAME', 'me');
    const text = bulkText(client.run('CLIENT', 'LIST'));
    assert.ok(text.endsWith('\n'));
    const lines = text.slice(0, -1).split('\n');
    assert.equal(lines.length, 2);
    const parsed = lines.map((l) => {
      const m = clientLine.exec(l);
      assert.ok(m, l);
      return { id: Number(m[1]), name: m[2], cmd: m[4], resp: m[5], lib: m[6] };
    });
    const mine = parsed.find((p) => p.id === client.client.id)!;
    assert.deepEqual(mine, { id: client.client.id, name: 'me', cmd: 'client|list', resp: '2', lib: '' });
    const theirs = parsed.find((p) => p.id === other.client.id)!;
    assert.deepEqual(theirs, { id: other.client.id, name: 'other', cmd: 'client|setinfo', resp: '3', lib: 'node-redis' });
  });

  it('LIST filters by TYPE and ID, and is verbatim in RESP3', () => {
    const { server, client } = testServer();
    const other = new TestClient(server);
    assert.equal(bulkText(client.run('CLIENT', 'LIST', 'TYPE', 'normal')).split('\n').length, 3);
    assert.equal(client.run('CLIENT', 'LIST', 'TYPE', 'master'), '$0\r\n\r\n');
    assert.equal(client.run('CLIENT', 'LIST', 'TYPE', 'bogus'), "-ERR Unknown client type 'bogus'\r\n");
    const only = bulkText(client.run('CLIENT', 'LIST', 'ID', String(other.client.id), '999999'));
    assert.match(only, new RegExp(`^id=${other.client.id} `));
    assert.equal(only.split('\n').length, 2);
    assert.equal(client.run('CLIENT', 'LIST', 'ID', 'x'), '-ERR Invalid client ID\r\n');
    assert.equal(client.run('CLIENT', 'LIST', 'ID', '0'), '$0\r\n\r\n');
    assert.equal(client.run('CLIENT', 'LIST', 'FOO'), '-ERR syntax error\r\n');
    client.run('HELLO', '3');
    assert.match(client.run('CLIENT', 'LIST', 'ID', String(client.client.id)), /^=\d+\r\ntxt:id=/);
  });

  it('INFO describes the calling client only', () => {
    const { client } = testServer();
    const line = bulkText(client.run('CLIENT', 'INFO'));
    assert.ok(line.endsWith('\n'));
    const m = clientLine.exec(line.slice(0, -1));
    assert.ok(m, line);
    assert.equal(Number(m[1]), client.client.id);
    assert.equal(m[4], 'client|info');
  });

  it('SETINFO sets the library name and version, with Redis errors', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT', 'SETINFO', 'lib-name', 'ioredis'), '+OK\r\n');
    assert.equal(client.run('CLIENT', 'SETINFO', 'LIB-VER', '5.4.1'), '+OK\r\n');
    assert.match(bulkText(client.run('CLIENT', 'INFO')), / lib-name=ioredis lib-ver=5\.4\.1\n$/);
    assert.equal(client.run('CLIENT', 'SETINFO', 'lib-foo', 'x'), "-ERR Unrecognized option 'lib-foo'\r\n");
    assert.equal(client.run('CLIENT', 'SETINFO', 'lib-name', 'a b'), '-ERR lib-name cannot contain spaces, newlines or special characters.\r\n');
  });

  it('NO-EVICT and NO-TOUCH accept ON and OFF', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT', 'NO-EVICT', 'on'), '+OK\r\n');
    assert.equal(client.run('CLIENT', 'NO-TOUCH', 'OFF'), '+OK\r\n');
    assert.equal(client.run('CLIENT', 'NO-EVICT', 'maybe'), '-ERR syntax error\r\n');
  });

  it('HELP lists the subcommands as status lines', () => {
    const { client } = testServer();
    const out = client.run('CLIENT', 'HELP');
    assert.match(out, /^\*\d+\r\n\+CLIENT <subcommand> \[<arg> \[value\] \[opt\] \.\.\.\]\. Subcommands are:\r\n/);
    assert.ok(out.endsWith('+HELP\r\n+    Prints this help.\r\n'));
    const n = Number(/^\*(\d+)/.exec(out)![1]);
    assert.equal(out.split('\r\n+').length - 1, n);
  });

  it('KILL by address (old form) and by filters (new form)', () => {
    const { server, client } = testServer();
    const killed: number[] = [];
    server.killClient = (id) => {
      killed.push(id);
      return server.clients.has(id);
    };
    const other = new TestClient(server);
    assert.equal(client.run('CLIENT', 'KILL', '10.0.0.1:1'), '-ERR No such client\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'ID', '999999'), ':0\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'ID', String(other.client.id)), ':1\r\n');
    assert.deepEqual(killed, [other.client.id]);
    // Every test client shares one address; SKIPME (default yes) spares the caller.
    killed.length = 0;
    assert.equal(client.run('CLIENT', 'KILL', 'ADDR', '127.0.0.1:50000', 'TYPE', 'normal'), ':1\r\n');
    assert.equal(client.client.closeAfterReply, false);
    assert.equal(client.run('CLIENT', 'KILL', 'USER', 'default', 'LADDR', '127.0.0.1:1'), ':0\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'TYPE', 'master'), ':0\r\n');
  });

  it('KILL can target the caller, which is answered first', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT', 'KILL', 'ID', String(client.client.id), 'SKIPME', 'no'), ':1\r\n');
    assert.equal(client.client.closeAfterReply, true);
  });

  it('KILL errors', () => {
    const { client } = testServer();
    assert.equal(client.run('CLIENT', 'KILL', 'ID', '0'), '-ERR client-id should be greater than 0\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'ID', 'abc'), '-ERR client-id should be greater than 0\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'TYPE', 'x'), "-ERR Unknown client type 'x'\r\n");
    assert.equal(client.run('CLIENT', 'KILL', 'USER', 'bob'), "-ERR No such user 'bob'\r\n");
    assert.equal(client.run('CLIENT', 'KILL', 'SKIPME', 'maybe'), '-ERR syntax error\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'ID', '1', 'SKIPME'), '-ERR syntax error\r\n');
    assert.equal(client.run('CLIENT', 'KILL', 'FOO', 'bar'), '-ERR syntax error\r\n');
  });
});

describe('CLIENT over real sockets', () => {
  it('KILL closes another connection; the killer stays; LIST sees both', async () => {
    const { server } = testServer({ port: 0 });
    const port = await server.listen();
    const a = await RawConnection.open(port);
    const b = await RawConnection.open(port);
    try {
      const idB = Number(/^:(\d+)/.exec(await b.request(resp('CLIENT', 'ID').toString('latin1')))![1]);
      const list = await a.request(resp('CLIENT', 'LIST').toString('latin1'));
      assert.match(list, new RegExp(`id=${idB} addr=127\\.0\\.0\\.1:\\d+ laddr=127\\.0\\.0\\.1:${port} `));
      assert.equal(await a.request(resp('CLIENT', 'KILL', 'ID', String(idB)).toString('latin1')), ':1\r\n');
      await b.waitClosed();
      assert.equal(await a.request(resp('PING').toString('latin1')), '+PONG\r\n');
      assert.equal(await a.request(resp('CLIENT', 'KILL', 'ID', String(idB)).toString('latin1')), ':0\r\n');
    } finally {
      a.destroy();
      b.destroy();
      await server.close();
    }
  });

  it('HELLO 3 switches the wire protocol', async () => {
    const { server } = testServer({ port: 0 });
    const port = await server.listen();
    const c = await RawConnection.open(port);
    try {
      assert.match(await c.request(resp('HELLO', '3').toString('latin1')), /^%7\r\n\$6\r\nserver\r\n/);
      assert.equal(await c.request(resp('GET', 'nothing').toString('latin1')), '_\r\n');
      assert.equal(await c.request(resp('QUIT').toString('latin1')), '+OK\r\n');
      await c.waitClosed();
    } finally {
      c.destroy();
      await server.close();
    }
  });
});
