// `keymesh cli` as a user runs it: a real process against an in-process server.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Config } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';
import { freePort } from '../helpers/ports.js';
import { runKeymesh, type Run } from '../helpers/run-keymesh.js';

/** `keymesh …` with stdin from `input`, stdout byte for byte, and no history file. */
function keymesh(args: string[], input = ''): Promise<Run> {
  return runKeymesh(args, { input, stdoutEncoding: 'latin1', env: { KEYMESH_HISTFILE: '/dev/null' } });
}

let server: Server;
let port: string;

before(async () => {
  server = new Server({ config: new Config({ port: 0 }), log: pino({ level: 'silent' }) });
  port = String(await server.listen());
});

after(async () => {
  await server.close();
});

test('one-shot commands print raw replies when stdout is not a terminal', async () => {
  assert.deepEqual(await keymesh(['cli', '-p', port, 'SET', 'a', 'b']), { code: 0, stdout: 'OK\n', stderr: '' });
  assert.deepEqual(await keymesh(['cli', '-p', port, 'GET', 'a']), { code: 0, stdout: 'b\n', stderr: '' });
  // redis-cli prints raw nil as an empty line.
  assert.deepEqual(await keymesh(['cli', '-p', port, 'GET', 'missing']), { code: 0, stdout: '\n', stderr: '' });
});

test('--no-raw prints as on a terminal', async () => {
  assert.deepEqual(await keymesh(['cli', '-p', port, '--no-raw', 'GET', 'a']), { code: 0, stdout: '"b"\n', stderr: '' });
  assert.deepEqual(await keymesh(['cli', '--no-raw', '-p', port, 'GET', 'missing']), { code: 0, stdout: '(nil)\n', stderr: '' });
  assert.deepEqual(await keymesh(['cli', '--no-raw', '-p', port, 'DEL', 'nothing']), { code: 0, stdout: '(integer) 0\n', stderr: '' });
});

test('arguments after the command are not options: values may start with a dash', async () => {
  assert.equal((await keymesh(['cli', '-p', port, 'SET', 'dash', '-p'])).stdout, 'OK\n');
  assert.equal((await keymesh(['cli', '-p', port, 'GET', 'dash'])).stdout, '-p\n');
});

test('non-ASCII arguments are sent as UTF-8 bytes and printed back as bytes', async () => {
  await keymesh(['cli', '-p', port, 'SET', 'utf8', 'héllo']);
  assert.equal(Buffer.from((await keymesh(['cli', '-p', port, 'GET', 'utf8'])).stdout, 'latin1').toString('utf8'), 'héllo\n');
  assert.equal((await keymesh(['cli', '--no-raw', '-p', port, 'GET', 'utf8'])).stdout, '"h\\xc3\\xa9llo"\n');
});

test('an error reply prints the error and exits 0 as redis-cli does; -e makes it exit 1', async () => {
  const r = await keymesh(['cli', '-p', port, 'NOSUCH', 'x']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "ERR unknown command 'NOSUCH', with args beginning with: 'x' \n\n");
  const human = await keymesh(['cli', '--no-raw', '-p', port, 'NOSUCH']);
  assert.equal(human.stdout, "(error) ERR unknown command 'NOSUCH', with args beginning with: \n");
  assert.equal((await keymesh(['cli', '-e', '-p', port, 'NOSUCH'])).code, 1);
});

test('commands piped on stdin run one per line, with quoting, until quit', async () => {
  const input = 'SET s1 "hello world"\n\nGET s1\nSET s2 \'it\\\'s\'\nGET s2\nGET "unbalanced\nDEL s1 s2\nquit\nGET never\n';
  const r = await keymesh(['cli', '-p', port], input);
  assert.equal(r.code, 0);
  assert.equal(r.stdout, 'OK\nhello world\nOK\n' + "it's\n" + '2\n');
  assert.equal(r.stderr, 'Invalid argument(s)\n');
});

test('a piped session can ask for formatted output', async () => {
  const r = await keymesh(['cli', '--no-raw', '-p', port], 'SET f "x\\ty"\nGET f\nGET nothing\n');
  assert.equal(r.stdout, 'OK\n"x\\ty"\n(nil)\n');
});

test('-n selects a database before the command; a bad one fails with SELECT\'s error', async () => {
  assert.equal((await keymesh(['cli', '-p', port, '-n', '3', 'SET', 'dbk', 'v3'])).stdout, 'OK\n');
  assert.equal((await keymesh(['cli', '-p', port, 'GET', 'dbk'])).stdout, '\n');
  assert.equal((await keymesh(['cli', '-p', port, '-n', '3', 'GET', 'dbk'])).stdout, 'v3\n');
  const bad = await keymesh(['cli', '-p', port, '-n', '99', 'GET', 'dbk']);
  assert.deepEqual(bad, { code: 1, stdout: '', stderr: 'SELECT 99 failed: ERR DB index is out of range\n' });
});

test('-a sends AUTH first; a failed AUTH stops with exit 1', async () => {
  const r = await keymesh(['cli', '-p', port, '-a', 'nopass', 'PING']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Warning: Using a password with '-a' option .*\nAUTH failed: ERR AUTH <password> called without any password configured/);
});

test('cannot connect: the redis-cli message on stderr, exit 1', async () => {
  const p = String(await freePort());
  const r = await keymesh(['cli', '-p', p, 'PING']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `Could not connect to KeyMesh at 127.0.0.1:${p}: Connection refused\n`);
  const piped = await keymesh(['cli', '-p', p], 'PING\n');
  assert.equal(piped.code, 1);
  assert.match(piped.stderr, /Connection refused/);
});

test('a bad port is refused before connecting', async () => {
  const r = await keymesh(['cli', '-p', 'abc', 'PING']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /port must be an integer/);
});

test('--help works for the program and each subcommand; --version prints the version', async () => {
  for (const args of [['--help'], ['cli', '--help'], ['server', '--help'], ['help', 'cli']]) {
    const r = await keymesh(args);
    assert.equal(r.code, 0, args.join(' '));
    assert.match(r.stdout, /^Usage: keymesh/, args.join(' '));
  }
  assert.match((await keymesh(['cli', '--help'])).stdout, /-h, --host <host>/);
  assert.match((await keymesh(['server', '--help'])).stdout, /--requirepass <value>.*KEYMESH_REQUIREPASS/);
  const v = await keymesh(['--version']);
  assert.equal(v.stdout, '0.1.0\n');
});
