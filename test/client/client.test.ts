import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { ConnectError, KeyMeshClient, ReplyError } from '../../src/client/client.js';
import { Config } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';
import { freePort } from '../helpers/ports.js';

let server: Server;
let port: number;

before(async () => {
  server = new Server({ config: new Config({ port: 0 }), log: pino({ level: 'silent' }) });
  port = await server.listen();
});

after(async () => {
  await server.close();
});

test('SET then GET round-trips a value', async () => {
  const c = await KeyMeshClient.connect({ port });
  assert.deepEqual(await c.call('SET', 'client:k', 'v'), { type: 'string', value: 'OK' });
  assert.deepEqual(await c.call('GET', 'client:k'), { type: 'string', value: Buffer.from('v') });
  assert.deepEqual(await c.call('GET', 'client:missing'), { type: 'null' });
  await c.close();
});

test('binary values and keys survive byte for byte; strings are sent as UTF-8', async () => {
  const c = await KeyMeshClient.connect({ port });
  const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
  const key = Buffer.from([0, 13, 10, 0xff]);
  await c.callOrThrow('SET', key, bytes);
  const v = await c.call('GET', key);
  assert.ok(v.type === 'string' && Buffer.isBuffer(v.value) && v.value.equals(bytes));
  await c.callOrThrow('SET', 'client:utf8', 'héllo €');
  const u = await c.call('GET', 'client:utf8');
  assert.ok(u.type === 'string' && Buffer.isBuffer(u.value));
  assert.equal(u.value.toString('utf8'), 'héllo €');
  await c.close();
});

test('many pipelined calls resolve in order with their own replies', async () => {
  const c = await KeyMeshClient.connect({ port });
  const n = 2000;
  const sets = [];
  for (let i = 0; i < n; i++) sets.push(c.call('SET', `client:p:${i}`, String(i * 7)));
  const gets = [];
  for (let i = 0; i < n; i++) gets.push(c.call('GET', `client:p:${i}`));
  assert.equal(c.inFlight, 2 * n);
  for (const r of await Promise.all(sets)) assert.deepEqual(r, { type: 'string', value: 'OK' });
  const values = await Promise.all(gets);
  values.forEach((r, i) => assert.deepEqual(r, { type: 'string', value: Buffer.from(String(i * 7)) }));
  assert.equal(c.inFlight, 0);
  await c.close();
});

test('calls made in one tick leave in one socket write', async () => {
  const c = await KeyMeshClient.connect({ port });
  const before = server.stats.netInputBytes;
  let reads = 0;
  const conn = [...server.connections.values()].at(-1)!;
  conn.socket.on('data', () => reads++);
  await Promise.all([c.call('PING'), c.call('PING'), c.call('PING', 'x')]);
  assert.equal(reads, 1);
  assert.ok(server.stats.netInputBytes > before);
  await c.close();
});

test('error replies are values for call and thrown by callOrThrow', async () => {
  const c = await KeyMeshClient.connect({ port });
  const r = await c.call('NOSUCHCMD', 'a');
  assert.equal(r.type, 'error');
  assert.match(r.type === 'error' ? r.message : '', /^ERR unknown command 'NOSUCHCMD'/);
  await assert.rejects(c.callOrThrow('NOSUCHCMD'), (e: unknown) => e instanceof ReplyError && /unknown command/.test(e.message));
  // The connection is still usable afterwards.
  assert.deepEqual(await c.call('PING'), { type: 'string', value: 'PONG' });
  await c.close();
});

test('connection refused gives a clear ConnectError', async () => {
  const p = await freePort();
  await assert.rejects(KeyMeshClient.connect({ port: p }), (e: unknown) => {
    assert.ok(e instanceof ConnectError);
    assert.equal(e.code, 'ECONNREFUSED');
    assert.equal(e.message, `Could not connect to KeyMesh at 127.0.0.1:${p}: Connection refused`);
    return true;
  });
});

test('calls after the server closed the connection reject; QUIT is answered first', async () => {
  const c = await KeyMeshClient.connect({ port });
  assert.deepEqual(await c.call('QUIT'), { type: 'string', value: 'OK' });
  await c.close();
  assert.equal(c.connected, false);
  await assert.rejects(c.call('PING'), /Connection closed/);
});

test('calls in flight when the connection drops are rejected', async () => {
  const c = await KeyMeshClient.connect({ port });
  const p = c.call('PING');
  c.destroy();
  await assert.rejects(p);
});
