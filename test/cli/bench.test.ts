// `keymesh bench` as a user runs it (a real process against an in-process server), and
// its load engine against servers that misbehave.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { pino } from 'pino';
import { Config } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';
import { KeyMeshClient, type RespValue } from '../../src/client/client.js';
import { LoadError, LoadRun, requestMaker } from '../../src/cli/bench-load.js';
import { csvHeader } from '../../src/cli/bench-command.js';
import { freePort } from '../helpers/ports.js';
import { runKeymesh as keymesh } from '../helpers/run-keymesh.js';


let server: Server;
let port: string;
let client: KeyMeshClient;

before(async () => {
  server = new Server({ config: new Config({ port: 0 }), log: pino({ level: 'silent' }) });
  port = String(await server.listen());
  client = await KeyMeshClient.connect({ port: Number(port) });
});

after(async () => {
  client.close();
  await server.close();
});

function text(v: RespValue): string {
  if (v.type === 'string') return typeof v.value === 'string' ? v.value : v.value.toString('latin1');
  if (v.type === 'int') return String(v.value);
  if (v.type === 'null') return '(nil)';
  if (v.type === 'error') return `error: ${v.message}`;
  return JSON.stringify(v);
}

async function call(...args: string[]): Promise<string> {
  return text(await client.call(...args));
}

test('--csv: the header and one row per test, in order, with ordered latencies', async () => {
  await call('FLUSHALL');
  const r = await keymesh(['bench', '-p', port, '-n', '2000', '-c', '5', '-t', 'ping,set,get,incr,mset', '--csv']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], csvHeader);
  assert.deepEqual(
    lines.slice(1).map((l) => JSON.parse(`[${l}]`)[0]),
    ['PING', 'SET', 'GET', 'INCR', 'MSET'],
  );
  for (const line of lines.slice(1)) {
    const [, rps, avg, min, p50, p95, p99, max] = (JSON.parse(`[${line}]`) as string[]).map(Number);
    assert.ok(rps! > 0, line);
    assert.ok(min! <= p50! && p50! <= p95! && p95! <= p99! && p99! <= max!, line);
    assert.ok(min! <= avg! && avg! <= max!, line);
  }
  // Exactly -n requests ran: INCR counted each.
  assert.equal(await call('GET', 'counter:__rand_int__'), '2000');
  assert.equal(r.stderr, '');
});

test('-P: pipelines of 16 with a shorter last one still send exactly -n requests', async () => {
  await call('FLUSHALL');
  const r = await keymesh(['bench', '-p', port, '-n', '1000', '-c', '3', '-P', '16', '-t', 'incr', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^INCR: \d+\.\d\d requests per second, p50=\d+\.\d{3} msec\n$/);
  assert.equal(await call('GET', 'counter:__rand_int__'), '1000');
});

test('-r spreads keys over the keyspace; -d sets the value size; --dbnum the database', async () => {
  await call('FLUSHALL');
  let r = await keymesh(['bench', '-p', port, '-n', '2000', '-c', '4', '-r', '50', '-t', 'set', '-q']);
  assert.equal(r.code, 0, r.stderr);
  const size = Number(await call('DBSIZE'));
  assert.ok(size > 10 && size <= 50, `DBSIZE ${size}`);
  assert.match(await call('RANDOMKEY'), /^key:0000000000[0-4]\d$/);

  r = await keymesh(['bench', '-p', port, '-n', '10', '-c', '1', '-d', '100', '-t', 'set', '--dbnum', '3', '-q']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await call('GET', 'key:__rand_int__'), '(nil)');
  await call('SELECT', '3');
  assert.equal(await call('GET', 'key:__rand_int__'), 'x'.repeat(100));
  await call('SELECT', '0');
});

test('the default report names the test, the requests and the latency summary', async () => {
  const r = await keymesh(['bench', '-p', port, '-n', '500', '-c', '2', '-t', 'get']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /====== GET ======\n {2}500 requests completed in \d+\.\d\d seconds\n {2}2 parallel clients, pipeline 1, 3 bytes payload, one key\n/);
  assert.match(r.stdout, /latency summary \(msec\):\n\s+avg\s+min\s+p50\s+p95\s+p99\s+max\n(\s+\d+\.\d{3}){6}\n\s+throughput summary: \d+\.\d\d requests per second/);
});

test('error replies are counted and shown, and the exit status says so', async () => {
  await call('SET', 'counter:__rand_int__', 'not a number');
  const r = await keymesh(['bench', '-p', port, '-n', '100', '-c', '2', '-t', 'incr', '-q']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /INCR: 100 error replies; the first: ERR value is not an integer or out of range/);
  await call('DEL', 'counter:__rand_int__');
});

test('bad options, an unreachable server and a refused AUTH end with a clear message and status 1', async () => {
  const closed = String(await freePort());
  const cases: [string[], RegExp][] = [
    [['bench', '-p', port, '-t', 'set,foo'], /unknown test "foo"; the tests are ping, set, get, incr, mset/],
    [['bench', '-p', port, '-c', '0'], /clients must be between 1 and 10000/],
    [['bench', '-p', port, '-n', 'ten'], /requests must be an integer/],
    [['bench', '-p', port, '--consistency', 'sometimes'], /Allowed choices are eventual, quorum, strong/],
    [['bench', '-p', closed, '-t', 'ping'], /Could not connect to KeyMesh at 127\.0\.0\.1:\d+: Connection refused/],
    [['bench', '-p', port, '-a', 'secret', '-t', 'ping'], /ERR AUTH <password> called without any password configured/],
  ];
  for (const [args, message] of cases) {
    const r = await keymesh(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
  }
});

test('the load engine rejects, and leaves no connection open, when the server hangs up mid-run', async () => {
  const sockets = new Set<net.Socket>();
  const rude = net.createServer((s) => {
    sockets.add(s);
    s.once('data', () => s.destroy());
  });
  await new Promise<void>((r) => rude.listen(0, '127.0.0.1', r));
  const rudePort = (rude.address() as net.AddressInfo).port;
  try {
    const run = new LoadRun({ host: '127.0.0.1', port: rudePort, db: 0, clients: 3, requests: 100, pipeline: 1, dataSize: 3, keyspaceLen: null }, 'ping');
    await assert.rejects(run.run(), (e: unknown) => e instanceof LoadError && /closed the connection/.test(e.message));
  } finally {
    await new Promise<void>((r) => rude.close(() => r()));
  }
  assert.ok([...sockets].every((s) => s.destroyed));
});

test('requests: fixed keys by default; 12-digit random keys with a keyspace; MSET sets ten', () => {
  assert.equal(requestMaker('get', 3, null)(), '*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n');
  assert.match(requestMaker('set', 5, 1000)(), /^\*3\r\n\$3\r\nSET\r\n\$16\r\nkey:000000000\d{3}\r\n\$5\r\nxxxxx\r\n$/);
  assert.match(requestMaker('incr', 3, 7)(), /^\*2\r\n\$4\r\nINCR\r\n\$20\r\ncounter:00000000000[0-6]\r\n$/);
  const mset = requestMaker('mset', 2, null)();
  assert.ok(mset.startsWith('*21\r\n$4\r\nMSET\r\n'));
  assert.equal(mset.split('key:__rand_int__').length - 1, 10);
});
