// netns mode: each node in a network namespace of its own, joined by a veth to a private
// bridge in the root namespace. The bridge holds the subnet's .254, so the test's clients
// (root namespace) reach every node directly. Faults live in the kernel:
// - cut i–j: a blackhole route to j's address inside i's namespace, and to i's inside j's.
//   Established connections stall (retransmissions go nowhere); a new connect() from a cut
//   side fails at once with EINVAL, as the kernel answers for a blackhole route.
// - cut clients–i: a blackhole route to the bridge address inside i's namespace, so i's
//   replies to clients vanish (a client's connect() just hangs).
// - delay: netem on each node's veth, where the kernel has it (it adds to client traffic too).
//
// Names start with `kmc<token>-` (interface names fit in 15 characters). A run claims its
// token with a pid file; at start, objects of tokens whose process is gone are removed.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientsEndpoint, CutSet, type Endpoint } from './cuts.js';
import { onProcessExit } from './exit-cleanup.js';
import { delayMsMax } from './fault-proxy.js';
import { CommandError, ipBatch, run, runSyncQuiet, succeeds } from './ip.js';
import type { ChaosNetwork } from './network.js';
import { dialGreeting, ProbeAgent } from './probe.js';
import { pickSubnet, prefixesInUse } from './subnet.js';

const namePrefix = 'kmc';
const namePattern = /^kmc([a-z0-9]+)-/;
const tokenLengthMax = 6;
/** Nodes are .1 to .nodesMax of the /24; .254 is the bridge. */
const nodesMax = 200;
const interfaceNameLengthMax = 15;
/** Every node has an address of its own, so all can use KeyMesh's default ports. */
const clientPort = 9000;
const peerPort = 19000;
const probeTimeoutMs = 5_000;
/** Pid files claiming tokens; /run is cleared at boot, as namespaces are. */
const registryDir = existsSync('/run') ? join('/run', 'keymesh-chaos') : join(tmpdir(), 'keymesh-chaos');

let tokenCounter = 0;

/** Why netns mode cannot work here, or null when it may (the trial in createNetnsNetwork decides). */
export function netnsUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root';
  if (!succeeds(['ip', 'netns', 'list'])) return '`ip netns` is not available';
  return null;
}

/** The names of one run's objects. */
class Names {
  constructor(readonly token: string) {
    assert(/^[a-z0-9]+$/.test(token) && token.length <= tokenLengthMax, `bad token '${token}'`);
  }

  get bridge(): string {
    return this.checked(`${namePrefix}${this.token}-br`);
  }

  ns(k: number): string {
    return `${namePrefix}${this.token}-n${k}`;
  }

  /** The veth end on the bridge (root namespace). */
  vethHost(k: number): string {
    return this.checked(`${namePrefix}${this.token}-v${k}`);
  }

  /** The veth end inside the node's namespace. */
  vethNode(k: number): string {
    return this.checked(`${namePrefix}${this.token}-e${k}`);
  }

  private checked(name: string): string {
    assert(name.length <= interfaceNameLengthMax, `interface name '${name}' is longer than ${interfaceNameLengthMax}`);
    return name;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function pidFile(token: string): string {
  return join(registryDir, `${token}.pid`);
}

/** Tokens claimed by live processes; pid files of dead ones are removed. */
function liveTokens(): Set<string> {
  const live = new Set<string>();
  for (const file of readdirSync(registryDir)) {
    if (!file.endsWith('.pid')) continue;
    const token = file.slice(0, -'.pid'.length);
    const pid = claimant(token);
    if (pid !== null && pidAlive(pid)) live.add(token);
    else rmSync(join(registryDir, file), { force: true });
  }
  return live;
}

/** The pid in `token`'s pid file; null when there is none (another run may just have removed it). */
function claimant(token: string): number | null {
  let text: string;
  try {
    text = readFileSync(pidFile(token), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Removes namespaces and interfaces of ours whose run is gone (crashed without teardown).
 * Objects are listed before the pid files are read: a run claims its token before it
 * creates anything, so whatever the listing holds of a live run has its pid file by then.
 */
async function removeStale(): Promise<void> {
  const namespaces = (await run(['ip', 'netns', 'list'])).split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '');
  // `ip -o link` lines look like "13: kmcab-v1@kmcab-e1: <...> ...".
  const links = (await run(['ip', '-o', 'link', 'show'])).split('\n').map((l) => (l.split(': ')[1] ?? '').split('@')[0] ?? '');
  const live = liveTokens();
  const isStale = (name: string): boolean => {
    const m = namePattern.exec(name);
    return m !== null && !live.has(m[1]!);
  };
  const lines = [...links.filter(isStale).map((l) => `link del ${l}`), ...namespaces.filter(isStale).map((n) => `netns del ${n}`)];
  if (lines.length > 0) await ipBatch(lines, { force: true }).catch(() => {});
}

/** Writes the pid file for `token`; false when a live process holds it. */
function tryClaim(token: string): boolean {
  try {
    writeFileSync(pidFile(token), String(process.pid), { flag: 'wx' });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const pid = claimant(token);
    if (pid !== null && pidAlive(pid)) return false;
    rmSync(pidFile(token), { force: true });
    return tryClaim(token);
  }
}

const base36 = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Claims a token: the tag's letters and digits, or a variant of them when a live run holds that; else one from the pid. */
function claimToken(tag: string | undefined): string {
  if (tag !== undefined) {
    const token = tag.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, tokenLengthMax);
    if (token === '') throw new Error(`netns tag '${tag}' has no letters or digits to name things with`);
    const variants = [token, ...[...base36].map((c) => token.slice(0, tokenLengthMax - 1) + c)];
    const claimed = variants.find((t) => tryClaim(t));
    if (claimed === undefined) throw new Error(`netns tag '${token}' and its variants are all in use by running processes (see ${registryDir})`);
    return claimed;
  }
  // pid in base 36 is at most 5 characters (pid_max 4194304), plus one for networks made by this process.
  for (let attempt = 0; attempt < base36.length; attempt++) {
    const token = `${process.pid.toString(36)}${base36[tokenCounter++ % base36.length]}`;
    if (tryClaim(token)) return token;
  }
  throw new Error(`netns: this process already holds ${base36.length} networks`);
}

class NetnsNetwork implements ChaosNetwork {
  readonly mode = 'netns' as const;
  private delayAvailable = false;
  private summary = '';
  private readonly names: Names;
  /** 1-based position of each node: its namespace number and the last octet of its address. */
  private readonly index = new Map<string, number>();
  /** Blackhole routes in place, as "k address". */
  private routes = new Set<string>();
  /** Fault changes run one at a time, in call order. */
  private chain: Promise<void> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly unregisterExit: () => void;

  constructor(
    private readonly ids: readonly string[],
    token: string,
    /** The first three octets of the /24. */
    private readonly subnet: string,
  ) {
    assert(ids.length <= nodesMax, `netns mode supports at most ${nodesMax} nodes`);
    this.names = new Names(token);
    ids.forEach((id, i) => this.index.set(id, i + 1));
    this.unregisterExit = onProcessExit(() => this.tearDownSync());
  }

  get canDelay(): boolean {
    return this.delayAvailable;
  }

  get description(): string {
    return this.summary;
  }

  bindHost(id: string): string {
    return this.address(id);
  }

  clientPort(id: string): number {
    this.k(id);
    return clientPort;
  }

  peerPort(id: string): number {
    this.k(id);
    return peerPort;
  }

  peersArg(id: string): string {
    this.k(id);
    return this.ids.map((other) => `${other}@${this.address(other)}:${clientPort}@${peerPort}`).join(',');
  }

  clientAddress(id: string): { host: string; port: number } {
    return { host: this.address(id), port: clientPort };
  }

  spawnPrefix(id: string): string[] {
    return ['ip', 'netns', 'exec', this.names.ns(this.k(id))];
  }

  async setCuts(pairs: ReadonlyArray<readonly [Endpoint, Endpoint]>): Promise<void> {
    this.assertOpen();
    const cuts = new CutSet(this.ids, pairs);
    const wanted = new Set<string>();
    for (const a of this.ids) {
      for (const b of this.ids) if (a !== b && cuts.has(a, b)) wanted.add(`${this.k(a)} ${this.address(b)}`);
      if (cuts.has(clientsEndpoint, a)) wanted.add(`${this.k(a)} ${this.bridgeAddress}`);
    }
    return this.serially(async () => {
      const linesByNs = new Map<number, string[]>();
      const add = (route: string, verb: 'add' | 'del'): void => {
        const [k, address] = route.split(' ') as [string, string];
        const lines = linesByNs.get(Number(k)) ?? [];
        lines.push(`route ${verb} blackhole ${address}/32`);
        linesByNs.set(Number(k), lines);
      };
      for (const r of this.routes) if (!wanted.has(r)) add(r, 'del');
      for (const r of wanted) if (!this.routes.has(r)) add(r, 'add');
      try {
        await Promise.all([...linesByNs].map(([k, lines]) => ipBatch(lines, { ns: this.names.ns(k) })));
        this.routes = wanted;
      } catch (e) {
        // Some lines may have applied: learn what the kernel now has, so the next call starts from the truth.
        this.routes = await this.blackholesInPlace();
        throw e;
      }
    });
  }

  heal(): Promise<void> {
    return this.setCuts([]);
  }

  async setDelay(ms: number): Promise<void> {
    this.assertOpen();
    if (!this.canDelay) throw new Error(`delay faults are unavailable: ${this.description}`);
    assert(Number.isFinite(ms) && ms >= 0 && ms <= delayMsMax, `delay must be 0..${delayMsMax} ms, got ${ms}`);
    return this.serially(async () => {
      await Promise.all(this.ids.map((id) => this.netem(this.k(id), 'change', ms)));
    });
  }

  /** Also kills whatever still runs inside the namespaces: without their network those processes are only orphans. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.chain.catch(() => {});
      await this.killNamespaceProcesses();
      await ipBatch(this.teardownLines(), { force: true }).catch(() => {});
      rmSync(pidFile(this.names.token), { force: true });
      this.unregisterExit();
    })();
    return this.closing;
  }

  /** Builds the bridge and namespaces, tries netem, and proves a TCP connection into every namespace. */
  async setUp(): Promise<void> {
    const n = this.names;
    const root = [`link add ${n.bridge} type bridge`, `link set ${n.bridge} up`, `addr add ${this.bridgeAddress}/24 dev ${n.bridge}`];
    for (const k of this.index.values()) {
      root.push(
        `netns add ${n.ns(k)}`,
        `link add ${n.vethHost(k)} type veth peer name ${n.vethNode(k)}`,
        `link set ${n.vethNode(k)} netns ${n.ns(k)}`,
        `link set ${n.vethHost(k)} master ${n.bridge}`,
        `link set ${n.vethHost(k)} up`,
      );
    }
    await ipBatch(root);
    await Promise.all(
      this.ids.map((id) => {
        const k = this.k(id);
        return ipBatch([`addr add ${this.address(id)}/24 dev ${n.vethNode(k)}`, `link set ${n.vethNode(k)} up`, 'link set lo up'], { ns: n.ns(k) });
      }),
    );
    const delayNote = await this.tryNetem();
    await Promise.all(this.ids.map((id) => this.probe(id)));
    this.summary = `netns: root with ip netns; subnet ${this.subnet}.0/24 on bridge ${n.bridge}; ${delayNote}`;
  }

  /** Adds a zero netem qdisc to every node's veth; a kernel without netem leaves canDelay false. */
  private async tryNetem(): Promise<string> {
    try {
      await Promise.all(this.ids.map((id) => this.netem(this.k(id), 'add', 0)));
      this.delayAvailable = true;
      return 'tc netem delay available';
    } catch (e) {
      const why = e instanceof CommandError ? e.stderr.trim().split('\n')[0]!.replace(/^Error: /, '') : String(e);
      return `tc netem unavailable (${why}), no delay faults`;
    }
  }

  private netem(k: number, verb: 'add' | 'change', ms: number): Promise<string> {
    return run(['tc', '-n', this.names.ns(k), 'qdisc', verb, 'dev', this.names.vethNode(k), 'root', 'netem', 'delay', `${ms}ms`]);
  }

  /** A listener inside the namespace, reached from the root namespace over real TCP. */
  private async probe(id: string): Promise<void> {
    const agent = await ProbeAgent.start(this.spawnPrefix(id), id, this.address(id), [clientPort]);
    try {
      const greeting = await dialGreeting(this.address(id), clientPort, probeTimeoutMs);
      if (greeting !== id) throw new Error(`no TCP connection from the root namespace to a listener in ${this.names.ns(this.k(id))} at ${this.address(id)}:${clientPort}`);
    } finally {
      await agent.stop();
    }
  }

  private async blackholesInPlace(): Promise<Set<string>> {
    const inPlace = new Set<string>();
    await Promise.all(
      [...this.index.values()].map(async (k) => {
        const out = await run(['ip', '-n', this.names.ns(k), '-4', 'route', 'show', 'type', 'blackhole']).catch(() => '');
        for (const m of out.matchAll(/^blackhole (\S+)/gm)) inPlace.add(`${k} ${m[1]!.replace(/\/32$/, '')}`);
      }),
    );
    return inPlace;
  }

  private async killNamespaceProcesses(): Promise<void> {
    await Promise.all(
      [...this.index.values()].map(async (k) => {
        const out = await run(['ip', 'netns', 'pids', this.names.ns(k)]).catch(() => '');
        killAll(out);
      }),
    );
  }

  private tearDownSync(): void {
    for (const k of this.index.values()) killAll(runSyncQuiet(['ip', 'netns', 'pids', this.names.ns(k)]));
    runSyncQuiet(['ip', '-force', '-batch', '-'], this.teardownLines().join('\n') + '\n');
    rmSync(pidFile(this.names.token), { force: true });
  }

  /** Deleting the host end of a veth deletes both ends, even while a process keeps the namespace alive. */
  private teardownLines(): string[] {
    const ks = [...this.index.values()];
    return [...ks.map((k) => `link del ${this.names.vethHost(k)}`), `link del ${this.names.bridge}`, ...ks.map((k) => `netns del ${this.names.ns(k)}`)];
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => {});
    return next;
  }

  private get bridgeAddress(): string {
    return `${this.subnet}.254`;
  }

  private address(id: string): string {
    return `${this.subnet}.${this.k(id)}`;
  }

  private k(id: string): number {
    const k = this.index.get(id);
    assert(k !== undefined, `no node '${id}' in this network (${this.ids.join(', ')})`);
    return k;
  }

  private assertOpen(): void {
    assert(this.closing === null, 'the network is closed');
  }
}

/** Kills the processes listed (one pid a line) by `ip netns pids`: nothing may outlive its namespace's network. */
function killAll(pidLines: string): void {
  for (const line of pidLines.split('\n')) {
    const pid = Number(line.trim());
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** Builds a netns network for `ids`; throws (having cleaned up) when any step or the TCP trial fails. */
export async function createNetnsNetwork(ids: readonly string[], tag: string | undefined): Promise<ChaosNetwork> {
  mkdirSync(registryDir, { recursive: true });
  await removeStale();
  const token = claimToken(tag);
  let network: NetnsNetwork;
  try {
    const inUse = prefixesInUse(await run(['ip', '-4', 'route', 'show', 'table', 'all']), await run(['ip', '-4', '-o', 'addr', 'show']));
    network = new NetnsNetwork(ids, token, pickSubnet(token, inUse));
  } catch (e) {
    rmSync(pidFile(token), { force: true });
    throw e;
  }
  try {
    await network.setUp();
  } catch (e) {
    await network.close();
    throw e;
  }
  return network;
}
