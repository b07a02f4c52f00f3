import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { parsePeers } from '../../../src/cluster/node/peers.js';
import { createNetwork, cutsBetween, type ChaosNetwork } from './network.js';
import { dialGreeting, linksUp } from './probe.js';

const ids = ['n1', 'n2', 'n3'];
/** How long a dial may take before the link counts as cut (the proxy accepts, then stays silent). */
const dialTimeoutMs = 300;
const testTimeoutMs = 15_000;

let network: ChaosNetwork;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

/** A fake node: greets every connection with its id, then echoes. */
async function listenAs(id: string, host: string, port: number): Promise<void> {
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write(`${id}\n`);
    s.pipe(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  servers.push(server);
}

/** Where node `from` dials node `to`, read from the `--peers` value `from` is started with. */
function peerAddressSeenBy(from: string, to: string): { host: string; port: number } {
  const entry = parsePeers(network.peersArg(from)).find((p) => p.id === to);
  assert(entry !== undefined, `${to} missing from the peers of ${from}`);
  return { host: entry.host, port: entry.peerPort };
}

async function reaches(from: string, to: string): Promise<boolean> {
  const { host, port } = peerAddressSeenBy(from, to);
  const greeting = await dialGreeting(host, port, dialTimeoutMs);
  if (greeting !== null) assert.equal(greeting, to, `${from} dialled ${to} but reached ${greeting}`);
  return greeting !== null;
}

async function clientsReach(id: string): Promise<boolean> {
  const { host, port } = network.clientAddress(id);
  const greeting = await dialGreeting(host, port, dialTimeoutMs);
  if (greeting !== null) assert.equal(greeting, id);
  return greeting !== null;
}

function connectivity(): Promise<string[]> {
  return linksUp(ids, reaches, clientsReach);
}

const everyLink = ['clients>n1', 'clients>n2', 'clients>n3', 'n1>n2', 'n1>n3', 'n2>n1', 'n2>n3', 'n3>n1', 'n3>n2'];

before(async () => {
  network = await createNetwork(ids, { mode: 'proxy' });
  for (const id of ids) await listenAs(id, network.bindHost(id), network.peerPort(id));
  for (const id of ids) await listenAs(id, network.bindHost(id), network.clientPort(id));
}, { timeout: testTimeoutMs });

after(async () => {
  await network.close();
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
}, { timeout: testTimeoutMs });

test('proxy mode says so and gives every node its own ports on 127.0.0.1', { timeout: testTimeoutMs }, () => {
  assert.equal(network.mode, 'proxy');
  assert.match(network.description, /^proxy: /);
  assert.equal(network.canDelay, true);
  const ports = new Set<number>();
  for (const id of ids) {
    assert.equal(network.bindHost(id), '127.0.0.1');
    assert.deepEqual(network.spawnPrefix(id), []);
    ports.add(network.clientPort(id)).add(network.peerPort(id));
    // A node listens for peers at its own entry, so that entry must be its real address.
    const self = parsePeers(network.peersArg(id)).find((p) => p.id === id)!;
    assert.deepEqual([self.host, self.port, self.peerPort], [network.bindHost(id), network.clientPort(id), network.peerPort(id)]);
    assert.deepEqual(
      parsePeers(network.peersArg(id)).map((p) => p.id),
      ids,
    );
  }
  assert.equal(ports.size, 2 * ids.length);
  assert.throws(() => network.peersArg('n9'), /no node 'n9'/);
});

test('every node reaches every other through the address in its own --peers, and clients reach every node', { timeout: testTimeoutMs }, async () => {
  assert.deepEqual(await connectivity(), everyLink);
});

test('cutting n1-n2 stops both directions of that link only; heal restores it', { timeout: testTimeoutMs }, async () => {
  await network.setCuts([['n1', 'n2']]);
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'n1>n2' && l !== 'n2>n1'),
  );
  await network.heal();
  assert.deepEqual(await connectivity(), everyLink);
});

test('a cut stalls a connection that is already open, and healing lets its bytes through', { timeout: testTimeoutMs }, async () => {
  const { host, port } = peerAddressSeenBy('n1', 'n2');
  const s = net.connect({ host, port });
  s.on('error', () => {});
  let got = '';
  s.on('data', (b: Buffer) => (got += b.toString()));
  await waitFor(() => got === 'n2\n');
  await network.setCuts(cutsBetween([['n1'], ['n2', 'n3']]));
  s.write('ping');
  await sleep(dialTimeoutMs);
  assert.equal(got, 'n2\n', 'no echo through a cut link');
  await network.heal();
  await waitFor(() => got === 'n2\nping');
  s.destroy();
});

test("a cut with 'clients' stalls that node's client proxy and nothing else", { timeout: testTimeoutMs }, async () => {
  await network.setCuts([['clients', 'n2']]);
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'clients>n2'),
  );
  await network.heal();
  assert.deepEqual(await connectivity(), everyLink);
});

test('a partition into groups cuts every pair across groups', { timeout: testTimeoutMs }, async () => {
  assert.deepEqual(cutsBetween([['n1'], ['n2', 'n3']]), [
    ['n1', 'n2'],
    ['n1', 'n3'],
  ]);
  assert.deepEqual(cutsBetween([['n1', 'n2', 'n3']]), []);
  assert.throws(() => cutsBetween([['n1'], ['n1', 'n2']]), /more than one group/);

  await network.setCuts(cutsBetween([['n1', 'clients'], ['n2', 'n3']]));
  assert.deepEqual(await connectivity(), ['clients>n1', 'n2>n3', 'n3>n2']);
  // setCuts replaces the whole set rather than adding to it.
  await network.setCuts([['n2', 'n3']]);
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'n2>n3' && l !== 'n3>n2'),
  );
  await network.heal();
});

test('cuts naming an unknown endpoint or a node and itself are refused', { timeout: testTimeoutMs }, async () => {
  await assert.rejects(network.setCuts([['n1', 'n9']]), /unknown endpoint/);
  await assert.rejects(network.setCuts([['n1', 'n1']]), /cut from itself/);
  await assert.rejects(createNetwork(['n1', 'clients'], { mode: 'proxy' }), /reserved/);
  await assert.rejects(createNetwork(['n1', 'n1'], { mode: 'proxy' }), /unique/);
});

test('delay slows node-to-node links and not clients', { timeout: testTimeoutMs }, async () => {
  const delayMs = 200;
  await network.setDelay(delayMs);
  try {
    const { host, port } = peerAddressSeenBy('n1', 'n3');
    const t0 = performance.now();
    assert.equal(await dialGreeting(host, port, 5 * delayMs), 'n3');
    const peerMs = performance.now() - t0;
    // Only the greeting crosses the link, one way.
    assert.ok(peerMs >= delayMs - 5, `greeting took ${peerMs.toFixed(0)} ms, expected >= ${delayMs}`);
    const client = network.clientAddress('n3');
    const t1 = performance.now();
    assert.equal(await dialGreeting(client.host, client.port, 5 * delayMs), 'n3');
    assert.ok(performance.now() - t1 < delayMs, 'client links are not delayed');
  } finally {
    await network.setDelay(0);
  }
});

test('close() is idempotent and stops every proxy', { timeout: testTimeoutMs }, async () => {
  const other = await createNetwork(['a', 'b'], { mode: 'proxy' });
  const { host, port } = other.clientAddress('a');
  await other.close();
  await other.close();
  await assert.rejects(
    new Promise((resolve, reject) => {
      const s = net.connect({ host, port }, () => resolve(s.destroy()));
      s.once('error', reject);
    }),
    /ECONNREFUSED/,
  );
  await assert.rejects(other.setCuts([]), /closed/);
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(5);
  }
}
