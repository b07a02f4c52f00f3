import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';
import { after, before, test, type TestContext } from 'node:test';
import { parsePeers } from '../../../src/cluster/node/peers.js';
import { netnsUnavailableReason } from './netns.js';
import { createNetwork, cutsBetween, type ChaosNetwork } from './network.js';
import { dialGreeting, ProbeAgent, linksUp } from './probe.js';

const ids = ['n1', 'n2', 'n3'];
/** A blackholed connect fails at once or hangs; either way, no greeting within this. */
const dialTimeoutMs = 500;
const testTimeoutMs = 20_000;
const unavailable = netnsUnavailableReason();

let network: ChaosNetwork | null = null;
/** One stand-in node per namespace, listening on its client and peer ports. */
const agents = new Map<string, ProbeAgent>();

function theNetwork(): ChaosNetwork {
  assert(network !== null);
  return network;
}

/** Skips (with the reason) when netns mode cannot run here; returns true when skipped. */
function skipped(t: TestContext): boolean {
  if (unavailable === null) return false;
  t.skip(`netns mode unavailable: ${unavailable}`);
  return true;
}

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function links(): string[] {
  return execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '');
}

/** Whether node `from`, dialling from inside its namespace the address its own --peers gives for `to`, reaches `to`. */
async function reaches(from: string, to: string): Promise<boolean> {
  const entry = parsePeers(theNetwork().peersArg(from)).find((p) => p.id === to)!;
  const greeting = await agents.get(from)!.dial(entry.host, entry.peerPort, dialTimeoutMs);
  if (greeting !== null) assert.equal(greeting, to, `${from} dialled ${to} but reached ${greeting}`);
  return greeting !== null;
}

async function clientsReach(id: string): Promise<boolean> {
  const { host, port } = theNetwork().clientAddress(id);
  const greeting = await dialGreeting(host, port, dialTimeoutMs);
  if (greeting !== null) assert.equal(greeting, id);
  return greeting !== null;
}

function connectivity(): Promise<string[]> {
  return linksUp(ids, reaches, clientsReach);
}

const everyLink = ['clients>n1', 'clients>n2', 'clients>n3', 'n1>n2', 'n1>n3', 'n2>n1', 'n2>n3', 'n3>n1', 'n3>n2'];

before(async () => {
  if (unavailable !== null) return;
  network = await createNetwork(ids, { mode: 'netns' });
  await Promise.all(
    ids.map(async (id) => {
      const n = theNetwork();
      agents.set(id, await ProbeAgent.start(n.spawnPrefix(id), id, n.bindHost(id), [n.clientPort(id), n.peerPort(id)]));
    }),
  );
}, { timeout: testTimeoutMs });

after(async () => {
  await Promise.all([...agents.values()].map((a) => a.stop()));
  await network?.close();
}, { timeout: testTimeoutMs });

test('netns mode says so and puts each node on its own address', { timeout: testTimeoutMs }, (t) => {
  if (skipped(t)) return;
  const n = theNetwork();
  assert.equal(n.mode, 'netns');
  assert.match(n.description, /^netns: /);
  assert.match(n.description, n.canDelay ? /netem delay available/ : /no delay faults/);
  const hosts = new Set(ids.map((id) => n.bindHost(id)));
  assert.equal(hosts.size, ids.length);
  for (const id of ids) {
    assert.deepEqual(n.clientAddress(id), { host: n.bindHost(id), port: n.clientPort(id) });
    const [ip, verb, exec, ns] = n.spawnPrefix(id);
    assert.deepEqual([ip, verb, exec], ['ip', 'netns', 'exec']);
    assert.ok(namespaces().includes(ns!), `namespace ${ns} exists`);
    const self = parsePeers(n.peersArg(id)).find((p) => p.id === id)!;
    assert.deepEqual([self.host, self.port, self.peerPort], [n.bindHost(id), n.clientPort(id), n.peerPort(id)]);
  }
});

test('every node reaches every other from inside its namespace, and clients reach every node', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  assert.deepEqual(await connectivity(), everyLink);
});

test('cutting n1-n2 stops both directions of that link only; heal restores it', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  await theNetwork().setCuts([['n1', 'n2']]);
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'n1>n2' && l !== 'n2>n1'),
  );
  await theNetwork().heal();
  assert.deepEqual(await connectivity(), everyLink);
});

test("a cut with 'clients' stalls an open client connection without losing it, and heal resumes it", { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  const { host, port } = theNetwork().clientAddress('n3');
  const s = net.connect({ host, port });
  s.on('error', () => {});
  let got = '';
  s.on('data', (b: Buffer) => (got += b.toString()));
  await waitFor(() => got === 'n3\n');

  await theNetwork().setCuts([['clients', 'n3']]);
  s.write('ping');
  await sleep(dialTimeoutMs);
  assert.equal(got, 'n3\n', 'no echo while cut');
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'clients>n3'),
  );
  await theNetwork().heal();
  // TCP retransmits on its own backed-off timer, so allow a few seconds.
  await waitFor(() => got === 'n3\nping', 8_000);
  s.destroy();
});

test('a partition into groups, then a different one, then heal', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  await theNetwork().setCuts(cutsBetween([['n1', 'clients'], ['n2', 'n3']]));
  assert.deepEqual(await connectivity(), ['clients>n1', 'n2>n3', 'n3>n2']);
  await theNetwork().setCuts([['n2', 'n3']]);
  assert.deepEqual(
    await connectivity(),
    everyLink.filter((l) => l !== 'n2>n3' && l !== 'n3>n2'),
  );
  await assert.rejects(theNetwork().setCuts([['n1', 'n9']]), /unknown endpoint/);
  await theNetwork().heal();
  assert.deepEqual(await connectivity(), everyLink);
});

test('delay is refused where netem is missing, and slows links where it is present', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  const n = theNetwork();
  if (!n.canDelay) {
    await assert.rejects(n.setDelay(50), /delay faults are unavailable/);
    return;
  }
  const delayMs = 200;
  await n.setDelay(delayMs);
  try {
    const t0 = performance.now();
    assert.equal(await dialGreeting(n.clientAddress('n1').host, n.clientPort('n1'), 10 * delayMs), 'n1');
    assert.ok(performance.now() - t0 >= delayMs);
  } finally {
    await n.setDelay(0);
  }
});

test('leftovers of a crashed run are removed, and close() removes everything and stops what runs inside', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  // Objects named like ours whose token no live process claims: a run that died without teardown.
  // The token is this process's own, so a concurrent run of this file uses other names.
  const dead = `kmcz${process.pid.toString(36)}`;
  execFileSync('ip', ['netns', 'add', `${dead}-n1`]);
  execFileSync('ip', ['link', 'add', `${dead}-br`, 'type', 'bridge']);
  const other = await createNetwork(['a', 'b'], { mode: 'auto' });
  let agent: ProbeAgent | null = null;
  try {
    assert.equal(other.mode, 'netns', 'auto picks netns when it works');
    assert.ok(!namespaces().includes(`${dead}-n1`), 'stale namespace removed');
    assert.ok(!links().includes(`${dead}-br`), 'stale bridge removed');
    const ns = other.spawnPrefix('a')[3]!;
    const token = /^kmc([a-z0-9]+)-/.exec(ns)![1]!;
    agent = await ProbeAgent.start(other.spawnPrefix('a'), 'a', other.bindHost('a'), [other.clientPort('a')]);
    assert.equal(await dialGreeting(other.clientAddress('a').host, other.clientPort('a'), 2000), 'a');

    await other.close();
    await other.close();
    // Nothing may outlive its namespace's network: close() killed the agent inside.
    await within(agent.exited, 5000, 'the agent inside the namespace to be killed by close()');
    const prefix = `kmc${token}-`;
    assert.deepEqual(namespaces().filter((n) => n.startsWith(prefix)), []);
    assert.deepEqual(links().filter((l) => l.startsWith(prefix)), []);
    await assert.rejects(other.setCuts([]), /closed/);
  } finally {
    await agent?.stop();
    await other.close();
  }
});

test('two live networks with the same tag get different names and subnets', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  const tag = `t${process.pid.toString(36)}`;
  const first = await createNetwork(['a'], { mode: 'netns', tag });
  try {
    const second = await createNetwork(['a'], { mode: 'netns', tag });
    try {
      assert.notEqual(first.spawnPrefix('a')[3], second.spawnPrefix('a')[3]);
      assert.notEqual(first.bindHost('a'), second.bindHost('a'));
      assert.ok(first.spawnPrefix('a')[3]!.startsWith(`kmc${tag}`.slice(0, 8)));
    } finally {
      await second.close();
    }
  } finally {
    await first.close();
  }
});

test('a process that exits, or is stopped by SIGTERM or SIGINT, without close() still removes its network', { timeout: testTimeoutMs }, async (t) => {
  if (skipped(t)) return;
  const endings = ['exit', 'SIGTERM', 'SIGINT'] as const;
  const prefixes = await Promise.all(endings.map((ending) => childThatEnds(ending)));
  endings.forEach((ending, i) => {
    assert.deepEqual(namespaces().filter((n) => n.startsWith(prefixes[i]!)), [], `namespaces left after ${ending}`);
    assert.deepEqual(links().filter((l) => l.startsWith(prefixes[i]!)), [], `interfaces left after ${ending}`);
  });
});

async function within(p: Promise<void>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)));
  try {
    await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a child that builds a netns network and ends as `ending` says; resolves with the network's name prefix. */
async function childThatEnds(ending: 'SIGTERM' | 'SIGINT' | 'exit'): Promise<string> {
  const moduleUrl = new URL('./network.js', import.meta.url).href;
  const script = `
    import { createNetwork } from ${JSON.stringify(moduleUrl)};
    const n = await createNetwork(['a', 'b'], { mode: 'netns' });
    await n.setCuts([['a', 'b']]);
    process.stdout.write(n.spawnPrefix('a')[3] + '\\n');
    if (${JSON.stringify(ending)} === 'exit') process.exit(0);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await within(
    new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve();
      });
      child.once('exit', () => reject(new Error('the child exited before building its network')));
    }),
    10_000,
    'the child to build its network',
  ).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${e.message}; stderr: ${err}`);
  });
  assert.ok(namespaces().includes(out.trim()), 'the child built its namespaces');
  if (ending !== 'exit') child.kill(ending);
  await within(exited, 10_000, 'the child to exit');
  return /^kmc[a-z0-9]+-/.exec(out.trim())![0];
}

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
