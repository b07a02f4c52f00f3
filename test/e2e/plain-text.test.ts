// The plain-text session of the original KeyMesh README, on a real process and a raw
// socket, as typed into nc: one line per command, human-readable replies.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawConnection, startKeymesh, type ServerProcess } from '../helpers/process.js';

/** Sends one line and returns the reply once `lines` newline-terminated lines arrived. */
async function say(conn: RawConnection, line: string, lines = 1): Promise<string> {
  conn.take();
  await conn.write(line);
  await conn.waitFor((b) => countNewlines(b) >= lines, `${lines} reply line(s) to ${JSON.stringify(line)}`);
  return conn.take();
}

function countNewlines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}

describe('plain-text (nc-style) session', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let conn: RawConnection;

  before(async () => {
    server = await startKeymesh();
    conn = await RawConnection.open(server.port);
  });

  after(async () => {
    conn?.destroy();
    await server?.stop();
  });

  it('answers every line piped in before the client shuts its side (printf … | nc -q1), then closes', async () => {
    // Writes wait for the log before their reply; the client's FIN must not lose them.
    const socket = net.connect(server.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (b: Buffer) => chunks.push(b));
    const closedByServer = new Promise<void>((resolve) => socket.on('end', () => resolve()));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.end('SET piped john\nGET piped\nINCR piped:n\nGET missing\nPING\nGET piped');
    await closedByServer;
    socket.destroy();
    // The last line has no newline: a request never completed, so never run.
    assert.equal(Buffer.concat(chunks).toString(), 'OK\njohn\n1\n(nil)\nPONG\n');
  });

  it('answers the README session exactly', async () => {
    assert.equal(await say(conn, 'SET name john\n'), 'OK\n');
    assert.equal(await say(conn, 'GET name\n'), 'john\n');
    assert.equal(await say(conn, 'GET missing\n'), '(nil)\n');
  });

  it('accepts CRLF line endings (nc -C, telnet) with the same replies', async () => {
    assert.equal(await say(conn, 'GET name\r\n'), 'john\n');
  });

  it('prints integers as digits', async () => {
    await say(conn, 'SET gone x\n');
    assert.equal(await say(conn, 'DEL gone\n'), '1\n');
    assert.equal(await say(conn, 'DEL gone\n'), '0\n');
    assert.equal(await say(conn, 'INCR counter\n'), '1\n');
    assert.equal(await say(conn, 'INCRBY counter -11\n'), '-10\n');
  });

  it('prints errors as one ERR line and keeps the connection', async () => {
    assert.equal(await say(conn, 'GET\n'), "ERR wrong number of arguments for 'get' command\n");
    assert.equal(await say(conn, 'NOSUCHCMD a b\n'), "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \n");
    await say(conn, 'SET notnum abc\n');
    assert.equal(await say(conn, 'INCR notnum\n'), 'ERR value is not an integer or out of range\n');
    assert.equal(await say(conn, 'GET name\n'), 'john\n');
    assert.equal(conn.closed, false);
  });

  it('prints arrays one element per line, and (empty array)', async () => {
    await say(conn, 'SET a 1\n');
    await say(conn, 'SET b 2\n');
    assert.equal(await say(conn, 'MGET a missing b\n', 3), '1\n(nil)\n2\n');
    assert.equal(await say(conn, 'KEYS nothing-matches-this*\n'), '(empty array)\n');
  });

  it('tokenises quotes and escapes like redis-cli', async () => {
    assert.equal(await say(conn, `SET "a b" 'c d'\n`), 'OK\n');
    assert.equal(await say(conn, 'GET "a b"\n'), 'c d\n');
    assert.equal(await say(conn, `SET esc "tab\\there\\x41"\n`), 'OK\n');
    assert.equal(await say(conn, 'GET esc\n'), 'tab\thereA\n');
    assert.equal(await say(conn, `SET sq 'it\\'s'\n`), 'OK\n');
    assert.equal(await say(conn, 'GET sq\n'), "it's\n");
  });

  it('answers a RESP request on the same connection in RESP', async () => {
    conn.take();
    await conn.write('*2\r\n$3\r\nGET\r\n$4\r\nname\r\n');
    await conn.waitForText('john\r\n');
    assert.equal(conn.take(), '$4\r\njohn\r\n');
    assert.equal(await say(conn, 'GET name\n'), 'john\n');
  });

  it('executes several lines sent in one write, in order', async () => {
    assert.equal(await say(conn, 'SET x 1\nGET x\nGET missing\nDEL x\n', 4), 'OK\n1\n(nil)\n1\n');
  });
});

describe('--inline-replies resp', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let conn: RawConnection;

  before(async () => {
    server = await startKeymesh({ args: ['--inline-replies', 'resp'] });
    conn = await RawConnection.open(server.port);
  });

  after(async () => {
    conn?.destroy();
    await server?.stop();
  });

  it('gives RESP replies to inline commands, as Redis does', async () => {
    assert.equal(await conn.request('SET name john\n'), '+OK\r\n');
    assert.equal(await conn.request('GET name\n'), '$4\r\njohn\r\n');
    assert.equal(await conn.request('GET missing\n'), '$-1\r\n');
    assert.equal(await conn.request('GET\n'), "-ERR wrong number of arguments for 'get' command\r\n");
  });
});
