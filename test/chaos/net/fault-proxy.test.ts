import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { test, type TestContext } from 'node:test';
import { FaultProxy } from './fault-proxy.js';

const host = '127.0.0.1';
/** Long enough that bytes would have arrived if the proxy forwarded them. */
const stallCheckMs = 300;
const testTimeoutMs = 15_000;

/** An upstream that records every connection's bytes and lets the test answer on it. */
class Upstream {
  readonly accepted: Array<{ socket: net.Socket; received: Buffer[]; ended: boolean }> = [];
  private readonly server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const conn = { socket, received: [] as Buffer[], ended: false };
    socket.on('data', (b: Buffer) => conn.received.push(b));
    socket.on('end', () => (conn.ended = true));
    socket.on('error', () => {});
    this.accepted.push(conn);
  });

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    return (this.server.address() as net.AddressInfo).port;
  }

  bytes(i: number): Buffer {
    return Buffer.concat(this.accepted[i]?.received ?? []);
  }

  close(): Promise<void> {
    for (const c of this.accepted) c.socket.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A client socket that keeps what it receives. */
async function connectClient(port: number): Promise<{ socket: net.Socket; received: () => Buffer; ended: () => boolean }> {
  const socket = net.connect({ host, port, allowHalfOpen: true });
  const chunks: Buffer[] = [];
  let ended = false;
  socket.on('data', (b: Buffer) => chunks.push(b));
  socket.on('end', () => (ended = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, received: () => Buffer.concat(chunks), ended: () => ended };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitUntil(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function setUp(t: TestContext): Promise<{ upstream: Upstream; proxy: FaultProxy }> {
  const upstream = new Upstream();
  const proxy = new FaultProxy({ host, port: await upstream.listen() }, host);
  await proxy.listen();
  t.after(
    async () => {
      await proxy.close();
      await upstream.close();
    },
    { timeout: testTimeoutMs },
  );
  return { upstream, proxy };
}

test('bytes cross the proxy both ways intact, and half-closes are passed on', { timeout: testTimeoutMs }, async (t) => {
  const { upstream, proxy } = await setUp(t);
  const up = randomBytes(4 << 20);
  const down = randomBytes(3 << 20);
  const client = await connectClient(proxy.port);
  client.socket.end(up);
  await waitUntil(() => upstream.accepted[0]?.ended === true, 'the upstream to see the client FIN');
  assert.equal(sha(upstream.bytes(0)), sha(up));
  upstream.accepted[0]!.socket.end(down);
  await waitUntil(() => client.ended(), 'the client to see the upstream FIN');
  assert.equal(sha(client.received()), sha(down));
});

test('a cut stalls both directions without losing a byte, and healing delivers everything in order', { timeout: testTimeoutMs }, async (t) => {
  const { upstream, proxy } = await setUp(t);
  const client = await connectClient(proxy.port);
  client.socket.write('before-cut|');
  await waitUntil(() => upstream.bytes(0).toString() === 'before-cut|', 'the first bytes');

  proxy.setCut(true);
  // More than socket buffers hold, so backpressure must build rather than bytes pile up or vanish.
  const during = randomBytes(8 << 20);
  const fromUpstream = randomBytes(1 << 20);
  client.socket.write(during);
  client.socket.end();
  upstream.accepted[0]!.socket.write(fromUpstream);
  await sleep(stallCheckMs);
  assert.equal(upstream.bytes(0).toString(), 'before-cut|', 'nothing reaches the upstream during the cut');
  assert.equal(upstream.accepted[0]!.ended, false, 'not even the FIN');
  assert.equal(client.received().length, 0, 'nothing reaches the client during the cut');
  assert.ok(client.socket.writableLength > 0, 'the client feels backpressure');

  proxy.setCut(false);
  await waitUntil(() => upstream.accepted[0]!.ended, 'the upstream to get everything and the FIN', 10_000);
  assert.equal(sha(upstream.bytes(0)), sha(Buffer.concat([Buffer.from('before-cut|'), during])));
  await waitUntil(() => client.received().length === fromUpstream.length, 'the client to get the upstream bytes');
  assert.equal(sha(client.received()), sha(fromUpstream));
});

test('a connection made during a cut is held, not dialled upstream, and works once healed', { timeout: testTimeoutMs }, async (t) => {
  const { upstream, proxy } = await setUp(t);
  proxy.setCut(true);
  const client = await connectClient(proxy.port);
  client.socket.write('hello');
  await sleep(stallCheckMs);
  assert.equal(upstream.accepted.length, 0, 'no upstream connection during the cut');
  assert.equal(proxy.connectionCount, 1);

  proxy.setCut(false);
  await waitUntil(() => upstream.bytes(0).toString() === 'hello', 'the held bytes upstream');
  upstream.accepted[0]!.socket.write('world');
  await waitUntil(() => client.received().toString() === 'world', 'the reply');
});

test('an upstream that refuses the connection resets the client', { timeout: testTimeoutMs }, async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, host, resolve));
  const port = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const proxy = new FaultProxy({ host, port }, host);
  await proxy.listen();
  t.after(() => proxy.close(), { timeout: testTimeoutMs });
  const client = await connectClient(proxy.port);
  const error = await new Promise<NodeJS.ErrnoException>((resolve) => client.socket.once('error', resolve));
  assert.equal(error.code, 'ECONNRESET');
  await waitUntil(() => proxy.connectionCount === 0, 'the proxy to forget the connection');
});

test('delay adds latency to every chunk and keeps their order', { timeout: testTimeoutMs }, async (t) => {
  const { upstream, proxy } = await setUp(t);
  const client = await connectClient(proxy.port);
  client.socket.write('x');
  await waitUntil(() => upstream.bytes(0).length === 1, 'the undelayed byte');

  const delayMs = 150;
  proxy.setDelay(delayMs);
  const started = performance.now();
  const expected: string[] = [];
  for (let i = 0; i < 50; i++) {
    expected.push(`${i},`);
    client.socket.write(`${i},`);
    if (i % 10 === 0) await sleep(10);
  }
  await waitUntil(() => upstream.bytes(0).length > 1, 'the first delayed chunk');
  const firstArrivalMs = performance.now() - started;
  assert.ok(firstArrivalMs >= delayMs - 5, `arrived after ${firstArrivalMs.toFixed(0)} ms, expected >= ${delayMs}`);
  await waitUntil(() => upstream.bytes(0).toString() === `x${expected.join('')}`, 'every chunk, in order');

  proxy.setDelay(0);
  const t0 = performance.now();
  client.socket.write('y');
  await waitUntil(() => upstream.bytes(0).toString().endsWith('y'), 'the byte after the delay was removed');
  assert.ok(performance.now() - t0 < delayMs, 'no delay once set back to 0');
  assert.throws(() => proxy.setDelay(-1));
});

test('close() closes held and open connections and stops listening', { timeout: testTimeoutMs }, async (t) => {
  const { upstream, proxy } = await setUp(t);
  const open = await connectClient(proxy.port);
  open.socket.write('a');
  await waitUntil(() => upstream.accepted.length === 1, 'the open connection upstream');
  proxy.setCut(true);
  const held = await connectClient(proxy.port);
  assert.equal(proxy.connectionCount, 2);

  await proxy.close();
  await proxy.close();
  await waitUntil(() => open.ended() && held.ended(), 'both clients to see their connection closed');
  assert.equal(proxy.connectionCount, 0);
  await assert.rejects(connectClient(proxy.port), /ECONNREFUSED/);
});

test('a process that used a proxy exits on its own after close()', { timeout: testTimeoutMs }, async () => {
  // Any handle the proxy leaked (a listener, a socket, a timer) would keep this child alive.
  const moduleUrl = new URL('./fault-proxy.js', import.meta.url).href;
  const script = `
    import net from 'node:net';
    import { FaultProxy } from ${JSON.stringify(moduleUrl)};
    const upstream = net.createServer({ allowHalfOpen: true }, (s) => { s.on('error', () => {}); s.pipe(s); });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    const proxy = new FaultProxy({ host: '127.0.0.1', port: upstream.address().port });
    await proxy.listen();
    proxy.setDelay(20);
    const echoed = await new Promise((resolve) => {
      const c = net.connect(proxy.port, '127.0.0.1', () => c.write('ping'));
      c.on('error', () => {});
      c.once('data', (d) => resolve(String(d)));
    });
    proxy.setCut(true);
    const held = net.connect(proxy.port, '127.0.0.1');
    held.on('error', () => {});
    await new Promise((r) => held.once('connect', r));
    held.write('pending');
    await proxy.close();
    upstream.close();
    process.stdout.write(echoed);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exitTimeoutMs = 10_000;
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve(null);
    }, exitTimeoutMs);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0, `the child should exit by itself with 0 (stderr: ${err})`);
  assert.equal(out, 'ping');
});
