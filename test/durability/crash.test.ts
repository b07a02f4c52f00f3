// Crash tests on real processes: a storm of concurrent writes, `kill -9` at a seeded
// random moment, a restart on the same data directory, and a check that everything the
// server acknowledged is still there (recovery.test.ts covers the same ground in-process,
// where no write can really be caught half-way through a write(2) or an fsync).
//
// What "acknowledged" allows after a crash, per operation kind:
//   SET/DEL  the key holds the effect of an operation on it that was acknowledged or in
//            flight at the kill, and that no acknowledged operation on the same key sent
//            after it had been acknowledged overrides; its TTL survives too;
//   INCR     the counter lies within [acknowledged, acknowledged + in flight];
//   APPEND   every acknowledged token is there exactly once, each connection's tokens
//            form a prefix of what it sent (one connection is applied in order and a
//            crash loses only a suffix of the log), and real-time order holds.
//
// Seeds are fresh on every run and printed in every assertion message;
// KM_CRASH_SEED=n runs each round with seed n to replay a failure: the same operations and
// kill delay (a real process's timing still varies, so replays are close, not exact).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KeyMeshClient, type RespValue } from '../../src/client/client.js';
import { freePort, keymeshBin, sleep, startKeymesh, waitUntil, type ServerProcess } from '../helpers/process.js';
import { SeededRandom } from '../../src/raft/rand.js';
import { recordsEnd } from '../storage/helpers.js';

/** Small, fast, seedable PRNG (mulberry32): the same seed gives the same choices. */
function prng(seed: number): () => number {
  const r = new SeededRandom(seed);
  return () => r.next();
}

const replaySeed = process.env['KM_CRASH_SEED'];

function seedFor(round: number): number {
  if (replaySeed !== undefined) return Number(replaySeed);
  return ((Date.now() + round * 7919) % 1_000_000) + 1;
}

// ---- the history of one storm ---------------------------------------------------

type Status = 'pending' | 'acked' | 'failed';

interface KeyOp {
  readonly kind: 'set' | 'del';
  readonly key: string;
  readonly value: string;
  readonly pxMs: number | undefined;
  readonly sentAt: number;
  /** Infinity until acknowledged: an operation in flight could have applied at any time. */
  ackedAt: number;
  status: Status;
}

interface TokenOp {
  readonly worker: number;
  readonly n: number;
  readonly sentAt: number;
  ackedAt: number;
  status: Status;
}

/** Everything sent and what came back, on one logical clock (a counter of events). */
class History {
  private clock = 0;
  readonly keyOps = new Map<string, KeyOp[]>();
  readonly valueOwner = new Map<string, KeyOp>();
  /** Per worker, its APPEND tokens in the order sent. */
  readonly tokens: TokenOp[][] = [];
  incrAcked = 0;
  incrPending = 0;
  incrMaxReply = 0;
  appendMaxReply = 0;
  readonly errors: string[] = [];

  tick(): number {
    return ++this.clock;
  }

  addKeyOp(op: KeyOp): void {
    let ops = this.keyOps.get(op.key);
    if (ops === undefined) this.keyOps.set(op.key, (ops = []));
    ops.push(op);
    if (op.kind === 'set') this.valueOwner.set(op.value, op);
  }

  /** Records the reply to `op`; false when it was an error (the write was refused). */
  settle(op: { ackedAt: number; status: Status }, reply: RespValue, what: string): boolean {
    if (reply.type === 'error') {
      op.status = 'failed';
      this.errors.push(`${what}: ${reply.message}`);
      return false;
    }
    op.status = 'acked';
    op.ackedAt = this.tick();
    return true;
  }
}

interface StormOptions {
  workers: number;
  /** Calls in flight per connection. */
  lanes: number;
  keyPool: number;
}

/** One connection's traffic: `lanes` loops sharing it, all drawing from the worker's PRNG. */
async function worker(w: number, port: number, seed: number, h: History, opts: StormOptions, stopped: () => boolean): Promise<void> {
  const rand = prng(seed * 1000 + w);
  const client = await KeyMeshClient.connect({ port });
  const tokens: TokenOp[] = [];
  h.tokens[w] = tokens;
  let serial = 0;
  const lane = async (): Promise<void> => {
    while (!stopped()) {
      const r = rand();
      const key = `k:${Math.floor(rand() * opts.keyPool)}`;
      if (r < 0.45) {
        // Unique values, of varied sizes so records straddle write and block boundaries.
        const value = `v:${w}:${serial++}:` + 'x'.repeat(Math.floor(rand() * 300));
        const pxMs = rand() < 0.4 ? 120_000 + Math.floor(rand() * 480_000) : undefined;
        const op: KeyOp = { kind: 'set', key, value, pxMs, sentAt: h.tick(), ackedAt: Infinity, status: 'pending' };
        h.addKeyOp(op);
        const reply = await client.call(...(pxMs === undefined ? ['SET', key, value] : ['SET', key, value, 'PX', String(pxMs)]));
        h.settle(op, reply, `SET ${key}`);
      } else if (r < 0.65) {
        h.incrPending++;
        const op = { sentAt: h.tick(), ackedAt: Infinity, status: 'pending' as Status };
        const reply = await client.call('INCR', 'counter');
        h.incrPending--;
        if (h.settle(op, reply, 'INCR counter')) {
          h.incrAcked++;
          if (reply.type === 'int') h.incrMaxReply = Math.max(h.incrMaxReply, Number(reply.value));
        }
      } else if (r < 0.85) {
        const op: TokenOp = { worker: w, n: tokens.length, sentAt: h.tick(), ackedAt: Infinity, status: 'pending' };
        tokens.push(op);
        const reply = await client.call('APPEND', 'journal', `${w}.${op.n};`);
        if (h.settle(op, reply, 'APPEND journal') && reply.type === 'int') {
          h.appendMaxReply = Math.max(h.appendMaxReply, Number(reply.value));
        }
      } else {
        const op: KeyOp = { kind: 'del', key, value: '', pxMs: undefined, sentAt: h.tick(), ackedAt: Infinity, status: 'pending' };
        h.addKeyOp(op);
        h.settle(op, await client.call('DEL', key), `DEL ${key}`);
      }
    }
  };
  const lanes: Promise<void>[] = [];
  for (let i = 0; i < opts.lanes; i++) lanes.push(lane());
  // The kill closes the connection: calls in flight reject and stay 'pending'.
  await Promise.allSettled(lanes);
  client.destroy();
}

// ---- checking a recovered node against the history ------------------------------

function text(v: RespValue): string | null {
  if (v.type === 'null') return null;
  if (v.type === 'string') return typeof v.value === 'string' ? v.value : v.value.toString('latin1');
  throw new Error(`expected a bulk string, got ${JSON.stringify(v)}`);
}

function int(v: RespValue): number {
  if (v.type !== 'int') throw new Error(`expected an integer, got ${JSON.stringify(v)}`);
  return Number(v.value);
}

/**
 * Which operations on one key may have produced its state after the crash: acknowledged
 * or in-flight ones not overridden by an acknowledged operation sent after their
 * acknowledgement. `null` stands for the key's initial absence.
 */
function candidates(ops: readonly KeyOp[]): (KeyOp | null)[] {
  const acked = ops.filter((o) => o.status === 'acked');
  const latestAckedSend = Math.max(0, ...acked.map((o) => o.sentAt));
  const out: (KeyOp | null)[] = ops.filter((o) => o.status !== 'failed' && o.ackedAt > latestAckedSend);
  if (acked.length === 0) out.push(null);
  return out;
}

function describeOp(o: KeyOp | null): string {
  if (o === null) return 'initial absence';
  const v = o.kind === 'set' ? ` ${o.value.slice(0, 24)}${o.pxMs === undefined ? '' : ` PX ${o.pxMs}`}` : '';
  return `${o.kind.toUpperCase()}${v} (${o.status}, sent ${o.sentAt}, acked ${o.ackedAt})`;
}

/** Checks every key the storm touched; returns how many exist after recovery. */
async function checkKeys(c: KeyMeshClient, h: History, tag: string): Promise<number> {
  const keys = [...h.keyOps.keys()];
  const replies = await Promise.all(keys.map((k) => Promise.all([c.call('GET', k), c.call('PTTL', k)])));
  let present = 0;
  keys.forEach((key, i) => {
    const [got, pttlReply] = replies[i]!;
    const value = text(got);
    const pttl = int(pttlReply);
    const ops = h.keyOps.get(key)!;
    const allowed = candidates(ops);
    const why = (): string => `${tag}: key ${key} = ${value === null ? '(nil)' : value.slice(0, 24)}, PTTL ${pttl}; allowed: ${allowed.map(describeOp).join('; ')}`;
    if (value === null) {
      assert(allowed.some((o) => o === null || o.kind === 'del'), `lost an acknowledged SET — ${why()}`);
      return;
    }
    present++;
    const op = h.valueOwner.get(value);
    assert(op !== undefined && op.key === key, `a value never written to this key — ${why()}`);
    assert(allowed.includes(op), `an older value came back (an acknowledged later write was lost) — ${why()}`);
    if (op.pxMs === undefined) assert.equal(pttl, -1, `a TTL appeared — ${why()}`);
    else assert(pttl > 0 && pttl <= op.pxMs, `the TTL was lost or grew — ${why()}`);
  });
  return present;
}

function checkCounter(value: number, h: History, tag: string): void {
  const why = `${tag}: counter ${value}, acknowledged INCRs ${h.incrAcked}, in flight ${h.incrPending}, highest reply ${h.incrMaxReply}`;
  assert(value >= h.incrAcked && value >= h.incrMaxReply, `lost acknowledged INCRs — ${why}`);
  assert(value <= h.incrAcked + h.incrPending, `more INCRs applied than were sent — ${why}`);
}

/**
 * The journal must be a prefix-consistent interleaving: no token twice, no token never
 * sent, each worker's tokens a prefix of what it sent, acknowledged tokens (unless the
 * log was cut on purpose) all there, and no token before one acknowledged ahead of it.
 */
function checkJournal(journal: string, h: History, tag: string, requireAcked: boolean): void {
  const parsed = journal === '' ? [] : journal.slice(0, -1).split(';');
  assert(journal === '' || journal.endsWith(';'), `${tag}: journal has a partial token at its end: ${journal.slice(-40)}`);
  const seen = new Set<string>();
  const count = h.tokens.map(() => 0);
  let maxSentBefore = 0;
  for (const [pos, tok] of parsed.entries()) {
    assert(!seen.has(tok), `${tag}: token ${tok} appears twice (position ${pos})`);
    seen.add(tok);
    const [w, n] = tok.split('.').map(Number) as [number, number];
    const op = h.tokens[w]?.[n];
    assert(op !== undefined, `${tag}: token ${tok} was never sent`);
    assert.equal(n, count[w], `${tag}: worker ${w}'s tokens are not a prefix of what it sent: ${tok} at position ${pos} after ${count[w]} of its tokens`);
    count[w]!++;
    assert(maxSentBefore < op.ackedAt, `${tag}: token ${tok} (acknowledged at ${op.ackedAt}) follows a token sent after that`);
    maxSentBefore = Math.max(maxSentBefore, op.sentAt);
  }
  if (!requireAcked) return;
  assert(journal.length >= h.appendMaxReply, `${tag}: journal is ${journal.length} bytes, an APPEND was acknowledged at ${h.appendMaxReply}`);
  for (const [w, ops] of h.tokens.entries()) {
    const lastAcked = ops.findLastIndex((o) => o.status === 'acked');
    assert(count[w]! > lastAcked, `${tag}: worker ${w}'s acknowledged token ${w}.${lastAcked} is missing (journal has ${count[w]} of its tokens)`);
  }
}

// ---- one round -------------------------------------------------------------------

interface RoundSpec {
  name: string;
  fsync: 'always' | 'everysec';
  args?: string[];
  /** Keys loaded before the storm (untouched by it, checked after it). */
  preload?: number;
  /** Start a BGSAVE and kill while it is writing its temp file. */
  killDuringBgsave?: boolean;
  /** Cut the last log segment by a few bytes after the kill: acknowledged writes may go, consistency may not. */
  tornTail?: boolean;
  /** Crashes in a row on the same data directory, each followed by a restart and a check. */
  cycles?: number;
}

const storm: StormOptions = { workers: 6, lanes: 3, keyPool: 250 };
const preloadValueBytes = 100;

function preloadValue(i: number): string {
  return `p${i}:`.padEnd(preloadValueBytes, '.');
}

async function preload(port: number, n: number): Promise<void> {
  const c = await KeyMeshClient.connect({ port });
  const batch = 10_000;
  for (let lo = 0; lo < n; lo += batch) {
    const calls: Promise<RespValue>[] = [];
    for (let i = lo; i < Math.min(n, lo + batch); i++) calls.push(c.callOrThrow('SET', `pre:${i}`, preloadValue(i)));
    await Promise.all(calls);
  }
  await c.close();
}

async function checkPreload(c: KeyMeshClient, n: number, tag: string): Promise<void> {
  const batch = 1000;
  for (let lo = 0; lo < n; lo += batch) {
    const keys: string[] = [];
    for (let i = lo; i < Math.min(n, lo + batch); i++) keys.push(`pre:${i}`);
    const got = await c.call('MGET', ...keys);
    assert(got.type === 'array', `${tag}: MGET failed: ${JSON.stringify(got)}`);
    got.items.forEach((v, j) => assert.equal(text(v), preloadValue(lo + j), `${tag}: preloaded key pre:${lo + j} lost or changed`));
  }
}

function snapshotTemps(dataDir: string): string[] {
  const snap = path.join(dataDir, 'snap');
  return fs.existsSync(snap) ? fs.readdirSync(snap).filter((n) => n.endsWith('.tmp')) : [];
}

function lastSegment(dataDir: string): string {
  const wal = path.join(dataDir, 'wal');
  const segs = fs.readdirSync(wal).filter((n) => n.endsWith('.seg')).sort();
  assert(segs.length > 0, 'no log segment on disk');
  return path.join(wal, segs[segs.length - 1]!);
}

async function crashRound(spec: RoundSpec, seed: number): Promise<string> {
  const tag = `round "${spec.name}", seed=${seed} (replay: KM_CRASH_SEED=${seed})`;
  const rand = prng(seed);
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'km-crash-'));
  const dataDir = path.join(cwd, 'data');
  let proc: ServerProcess | undefined;
  try {
    proc = await startKeymesh({ cwd, args: ['--data-dir', 'data', '--fsync', spec.fsync, ...(spec.args ?? [])] });
    const p = proc;
    if (spec.preload !== undefined) await preload(p.port, spec.preload);
    // One history across crashes: each restart is checked against everything sent so far.
    const h = new History();
    const cuts: number[] = [];
    const cycles = spec.cycles ?? 1;
    for (let cycle = 0; cycle < cycles; cycle++) {
      const cycleTag = cycles > 1 ? `${tag}, crash ${cycle + 1} of ${cycles}` : tag;
      cuts.push(await stormAndKill(p, spec, h, seed, cycle, rand, dataDir, cycleTag));
      await p.restart();
      await checkRecovered(p, spec, h, cycleTag);
    }
    const c = await KeyMeshClient.connect({ port: p.port });
    assert.equal(text(await c.callOrThrow('SET', 'after', 'crash')), 'OK');
    c.destroy();
    await p.restart();
    const c2 = await KeyMeshClient.connect({ port: p.port });
    assert.equal(text(await c2.call('GET', 'after')), 'crash', `${tag}: a write after recovery was lost on a clean restart`);
    c2.destroy();
    const sets = [...h.keyOps.values()].flat().filter((o) => o.kind === 'set');
    const acked = sets.filter((o) => o.status === 'acked').length;
    return `${tag}: ${acked} SETs acknowledged (${sets.length - acked} in flight), INCR ${h.incrAcked}+${h.incrPending}, ` +
      `${h.tokens.flat().filter((t) => t.status === 'acked').length} APPENDs acknowledged` +
      (cycles > 1 ? `, ${cycles} crashes` : '') + (spec.tornTail === true ? `, log cut by ${cuts.join(', ')} bytes` : '');
  } finally {
    await proc?.stop();
    fs.rmSync(cwd, { recursive: true, force: true });
  }
}

/** Runs the storm, kills the node at the seeded moment, and cuts the log if asked; returns bytes cut. */
async function stormAndKill(p: ServerProcess, spec: RoundSpec, h: History, seed: number, cycle: number, rand: () => number, dataDir: string, tag: string): Promise<number> {
  let stopped = false;
  const workers: Promise<void>[] = [];
  // Each crash's connections are new workers: a token prefix holds per connection.
  for (let w = 0; w < storm.workers; w++) workers.push(worker(cycle * storm.workers + w, p.port, seed, h, storm, () => stopped));
  if (spec.killDuringBgsave === true) {
    await sleep(200 + rand() * 300);
    const admin = await KeyMeshClient.connect({ port: p.port });
    const started = await admin.call('BGSAVE');
    assert(started.type === 'string', `${tag}: BGSAVE refused: ${JSON.stringify(started)}`);
    await waitUntil(() => snapshotTemps(dataDir).length > 0, `${tag}: the snapshot's temp file`, 10_000, 2);
    await sleep(rand() * 30);
    admin.destroy();
  } else {
    await sleep(250 + rand() * 750);
  }
  stopped = true;
  p.signal('SIGKILL');
  await p.exited();
  await Promise.all(workers);
  assert.deepEqual(h.errors, [], `${tag}: writes refused during the storm`);
  if (spec.killDuringBgsave === true) {
    assert(snapshotTemps(dataDir).length > 0, `${tag}: the snapshot finished before the kill; this round must catch one in progress`);
  }
  if (spec.tornTail !== true) return 0;
  const seg = lastSegment(dataDir);
  // The records end before the file does when zeroed space was preallocated after them.
  const bytes = fs.readFileSync(seg);
  const end = recordsEnd(bytes);
  const cut = Math.min(end, 1 + Math.floor(rand() * 20));
  if (rand() < 0.5) {
    fs.truncateSync(seg, end - cut);
  } else {
    // Torn inside preallocated space: the lost bytes read back as zeros.
    bytes.fill(0, end - cut);
    fs.writeFileSync(seg, bytes);
  }
  return cut;
}

async function checkRecovered(p: ServerProcess, spec: RoundSpec, h: History, tag: string): Promise<void> {
  const torn = spec.tornTail === true;
  if (torn) {
    // Only this restart's output: an earlier warning must not count.
    const out = p.recentOutput;
    assert.match(out.slice(out.lastIndexOf('--- restarted ---')), /torn tail/, `${tag}: no warning about the cut log in the node's output`);
  }
  const c = await KeyMeshClient.connect({ port: p.port });
  try {
    const journal = text(await c.call('GET', 'journal')) ?? '';
    checkJournal(journal, h, tag, !torn);
    const counter = Number(text(await c.call('GET', 'counter')) ?? '0');
    if (torn) {
      assert(counter <= h.incrAcked + h.incrPending, `${tag}: counter ${counter} beyond what was sent`);
      return;
    }
    checkCounter(counter, h, tag);
    const present = await checkKeys(c, h, tag);
    if (spec.preload !== undefined) await checkPreload(c, spec.preload, tag);
    const expected = present + (journal === '' ? 0 : 1) + (counter === 0 ? 0 : 1) + (spec.preload ?? 0);
    assert.equal(int(await c.call('DBSIZE')), expected, `${tag}: keys that no operation created`);
  } finally {
    c.destroy();
  }
}

// ---- the tests ---------------------------------------------------------------------

const roundTimeoutMs = 60_000;

const rounds: RoundSpec[] = [
  { name: 'fsync always', fsync: 'always' },
  { name: 'fsync always', fsync: 'always' },
  { name: 'fsync always, a snapshot every KiB of log', fsync: 'always', args: ['--snapshot-threshold', '1024'] },
  { name: 'fsync always, killed during BGSAVE', fsync: 'always', preload: 100_000, killDuringBgsave: true },
  { name: 'fsync everysec', fsync: 'everysec' },
  { name: 'fsync everysec', fsync: 'everysec' },
  { name: 'fsync always, three crashes in a row, a snapshot every 64 KiB of log', fsync: 'always', args: ['--snapshot-threshold', '65536'], cycles: 3 },
];

for (const [i, spec] of rounds.entries()) {
  test(`kill -9 during a write storm loses nothing acknowledged: ${spec.name} (#${i + 1})`, { timeout: roundTimeoutMs }, async (t) => {
    t.diagnostic(await crashRound(spec, seedFor(i)));
  });
}

test('kill -9, then a log cut by a few bytes: the node starts with a warning and consistent data', { timeout: roundTimeoutMs }, async (t) => {
  t.diagnostic(await crashRound({ name: 'torn tail', fsync: 'always', tornTail: true, cycles: 2 }, seedFor(rounds.length)));
});

test('a second node on the same data directory refuses to start (CLI: exit code 1, the reason on stderr)', { timeout: roundTimeoutMs }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'km-lock-'));
  const dataDir = path.join(dir, 'data');
  const first = await startKeymesh({ cwd: dir, args: ['--data-dir', dataDir] });
  try {
    const port = await freePort();
    const second = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [keymeshBin, 'server', '--port', String(port), '--bind', '127.0.0.1', '--data-dir', dataDir], { timeout: 20_000 }, (err, _stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr });
      });
      child.stdin?.end();
    });
    assert.equal(second.code, 1, `the second node should exit with code 1; stderr: ${second.stderr}`);
    assert.match(second.stderr, new RegExp(`data directory .*data is in use by process ${first.pid}`));
    // The first node is unharmed and still owns its data.
    const c = await KeyMeshClient.connect({ port: first.port });
    assert.equal(text(await c.callOrThrow('SET', 'still', 'mine')), 'OK');
    c.destroy();
  } finally {
    await first.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
