// Durability benchmark, KeyMesh beside redis-server in the same run:
//   1. SET throughput and p99 under fsync (redis-benchmark -t set -c 50 -d 100), KeyMesh
//      --fsync always|everysec against Redis --appendonly yes --appendfsync always|everysec;
//   2. restart time with 1,000,000 keys: KeyMesh from a snapshot plus 100,000 log entries,
//      Redis from an RDB and from an AOF (rewritten, plus the same 100,000 writes);
//   3. snapshot size on disk against dump.rdb;
//   4. PING latency while a snapshot of 1,000,000 keys is written (our snapshots are
//      incremental, Node has no fork; Redis forks).
//
//   node dist/bench/durability.js [--quick] [--runs N] [--only throughput|restart] [--print-only]
//   (--help explains; appends its section to bench/RESULTS.md unless --print-only)
//
// Every server gets its own fresh temporary directory. Without redis-server or
// redis-benchmark, KeyMesh is measured alone and the install command is printed.

import assert from 'node:assert/strict';
import { appendResults, benchArgs, cpuModel } from './results.js';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KeyMeshClient, type RespValue } from '../src/client/client.js';
import { RawConnection, resp, sleep, startKeymesh, startRedis, waitUntil, type ServerProcess } from '../test/helpers/process.js';
import { runLoad } from './loadgen.js';

const run = promisify(execFile);

const installHint = 'sudo apt-get install redis-server redis-tools';
const clients = 50;
const valueBytes = 100;
/** Polling period while waiting for a restarted server's first PONG. */
const pingPollMs = 5;
const restartTimeoutMs = 120_000;

interface Scale {
  /** redis-benchmark -n per policy. */
  requests: Record<Mode, number>;
  /** Each throughput measurement is repeated, alternating servers, and the median kept (a shared machine is noisy). */
  repeats: number;
  keys: number;
  /** Writes after the snapshot (they are in the log / the AOF's incremental file). */
  extraWrites: number;
  restarts: number;
}

type Policy = 'always' | 'everysec';
/** Throughput rows: the two fsync policies, and persistence off as the baseline of the request path. */
type Mode = Policy | 'off';
const modes: readonly Mode[] = ['always', 'everysec', 'off'];

const fullScale: Scale = { requests: { always: 100_000, everysec: 200_000, off: 200_000 }, repeats: 3, keys: 1_000_000, extraWrites: 100_000, restarts: 3 };
const quickScale: Scale = { requests: { always: 10_000, everysec: 20_000, off: 20_000 }, repeats: 1, keys: 100_000, extraWrites: 10_000, restarts: 1 };

function installed(tool: string): boolean {
  return spawnSync('which', [tool], { stdio: 'ignore' }).status === 0;
}

function tempDir(): string {
  return mkdtempSync(join(os.tmpdir(), 'km-bench-durability-'));
}

// ---- throughput -------------------------------------------------------------------

interface Throughput {
  rps: number;
  p99Ms: number;
}

/** Parses `redis-benchmark --csv`: a header row, then one quoted row per test. */
function parseCsv(csv: string): Throughput {
  const rows = csv.trim().split('\n').map((l) => l.split(',').map((c) => c.replace(/^"|"$/g, '')));
  const header = rows[0] ?? [];
  const row = rows.find((r) => r[0] === 'SET');
  const rps = header.indexOf('rps');
  const p99 = header.indexOf('p99_latency_ms');
  if (row === undefined || rps < 0 || p99 < 0) throw new Error(`unexpected redis-benchmark output:\n${csv}`);
  return { rps: Number(row[rps]), p99Ms: Number(row[p99]) };
}

async function setThroughput(port: number, requests: number, useRedisBenchmark: boolean): Promise<Throughput> {
  if (!useRedisBenchmark) {
    const r = await runLoad(port, 'SET', requests, clients, 1);
    return { rps: r.rps, p99Ms: r.p99Ms };
  }
  const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'set', '-c', String(clients), '-n', String(requests), '-d', String(valueBytes), '--csv'];
  const { stdout } = await run('redis-benchmark', args, { timeout: 900_000, maxBuffer: 16 * 1024 * 1024 });
  return parseCsv(stdout);
}

function startKeymeshDurable(cwd: string, mode: Mode): Promise<ServerProcess> {
  return startKeymesh({ cwd, args: mode === 'off' ? ['--persistence', 'no'] : ['--data-dir', 'data', '--fsync', mode] });
}

/** A redis-server with AOF on (or nothing persisted for 'off'); its working directory, and so its files, is a fresh temp dir. */
function startRedisAof(mode: Mode): Promise<ServerProcess> {
  return startRedis({ args: mode === 'off' ? [] : ['--appendonly', 'yes', '--appendfsync', mode] });
}

async function measureOnce(start: () => Promise<ServerProcess>, requests: number, useRedisBenchmark: boolean): Promise<Throughput> {
  const server = await start();
  try {
    return await setThroughput(server.port, requests, useRedisBenchmark);
  } finally {
    await server.stop();
  }
}

function medianRun(runs: Throughput[]): Throughput {
  return [...runs].sort((a, b) => a.rps - b.rps)[runs.length >> 1]!;
}

interface ModeResult {
  km: Throughput;
  redis?: Throughput;
  /** Every run's SET/s, in order, to show the spread behind the median. */
  kmRuns: number[];
  redisRuns: number[];
}

async function throughputs(scale: Scale, sideBySide: boolean, haveBenchmark: boolean, log: (s: string) => void): Promise<Map<Mode, ModeResult>> {
  const runs = new Map<Mode, { km: Throughput[]; redis: Throughput[] }>(modes.map((m) => [m, { km: [], redis: [] }]));
  for (let rep = 0; rep < scale.repeats; rep++) {
    for (const mode of modes) {
      const n = scale.requests[mode];
      const cwd = tempDir();
      try {
        const k = await measureOnce(() => startKeymeshDurable(cwd, mode), n, haveBenchmark);
        runs.get(mode)!.km.push(k);
        log(`  KeyMesh ${mode}: ${fmtInt(k.rps)} SET/s, p99 ${fmtMs(k.p99Ms)} ms`);
      } finally {
        rmSync(cwd, { recursive: true, force: true });
      }
      if (!sideBySide) continue;
      const r = await measureOnce(() => startRedisAof(mode), n, true);
      runs.get(mode)!.redis.push(r);
      log(`  Redis ${mode}: ${fmtInt(r.rps)} SET/s, p99 ${fmtMs(r.p99Ms)} ms`);
    }
  }
  const out = new Map<Mode, ModeResult>();
  for (const [mode, r] of runs) {
    out.set(mode, {
      km: medianRun(r.km),
      ...(r.redis.length > 0 ? { redis: medianRun(r.redis) } : {}),
      kmRuns: r.km.map((x) => x.rps),
      redisRuns: r.redis.map((x) => x.rps),
    });
  }
  return out;
}

// ---- loading ---------------------------------------------------------------------------

const loadBatch = 10_000;

/**
 * SETs `key:0000000`… to random printable values of `valueBytes` bytes, in pipelines of
 * 10,000. Random, because repetitive values would let Redis's RDB compression (LZF)
 * shrink its file in a way real data rarely allows, and flatter the size comparison.
 */
async function loadRandom(port: number, count: number): Promise<number> {
  const c = await KeyMeshClient.connect({ port });
  const t0 = performance.now();
  try {
    for (let lo = 0; lo < count; lo += loadBatch) {
      const n = Math.min(loadBatch, count - lo);
      const pool = randomBytes(Math.ceil((n * valueBytes * 3) / 4) + 3).toString('base64');
      const calls: Promise<RespValue>[] = [];
      for (let i = 0; i < n; i++) {
        calls.push(c.callOrThrow('SET', `key:${String(lo + i).padStart(7, '0')}`, pool.slice(i * valueBytes, (i + 1) * valueBytes)));
      }
      await Promise.all(calls);
    }
  } finally {
    await c.close();
  }
  return performance.now() - t0;
}

// ---- talking to a server ------------------------------------------------------------

async function call(port: number, ...argv: string[]): Promise<RespValue> {
  const c = await KeyMeshClient.connect({ port });
  try {
    return await c.call(...argv);
  } finally {
    c.destroy();
  }
}

async function info(port: number, section: string): Promise<string> {
  const v = await call(port, 'INFO', section);
  if (v.type === 'string' || v.type === 'verbatim') return v.value.toString();
  throw new Error(`INFO ${section}: ${JSON.stringify(v)}`);
}

function field(infoText: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*?)\\r?$`, 'm').exec(infoText)?.[1];
}

async function waitNoBackgroundWork(port: number): Promise<void> {
  await waitUntil(
    async () => {
      const p = await info(port, 'persistence');
      return field(p, 'rdb_bgsave_in_progress') === '0' && (field(p, 'aof_rewrite_in_progress') ?? '0') === '0' && (field(p, 'aof_rewrite_scheduled') ?? '0') === '0';
    },
    'background save/rewrite to finish',
    600_000,
    50,
  );
}

async function answersPong(port: number): Promise<boolean> {
  let conn: RawConnection | undefined;
  try {
    conn = await RawConnection.open(port, 1000);
    // Redis answers -LOADING while it reads its files: not ready yet.
    return (await conn.request(resp('PING').toString('latin1'), 5000)).startsWith('+PONG');
  } catch {
    return false;
  } finally {
    conn?.destroy();
  }
}

/** KeyMesh's INFO persistence says whether a snapshot's values are still being read in the background. */
async function lazyLoadDone(port: number): Promise<boolean> {
  return field(await info(port, 'persistence'), 'lazy_load_in_progress') !== '1';
}

/**
 * kill -9, then the time from spawning it again to its first PONG (polled every few ms),
 * and, when `settled` is given, until it says its background loading is over too.
 */
async function crashRestartMs(proc: ServerProcess, settled?: (port: number) => Promise<boolean>): Promise<{ readyMs: number; settledMs: number }> {
  proc.signal('SIGKILL');
  await proc.exited();
  const t0 = performance.now();
  const restarted = proc.restart();
  let readyMs = Number.NaN;
  let settledMs = Number.NaN;
  const deadline = t0 + restartTimeoutMs;
  while (performance.now() < deadline) {
    if (await answersPong(proc.port)) {
      readyMs = performance.now() - t0;
      break;
    }
    await sleep(pingPollMs);
  }
  while (settled !== undefined && !Number.isNaN(readyMs) && performance.now() < deadline) {
    if (await settled(proc.port)) {
      settledMs = performance.now() - t0;
      break;
    }
    await sleep(pingPollMs);
  }
  await restarted;
  return { readyMs, settledMs };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] ?? Number.NaN;
}

// ---- pauses while snapshotting ---------------------------------------------------------

interface PauseResult {
  pings: number;
  maxMs: number;
  p99Ms: number;
  /** From BGSAVE's reply until the server reports no save in progress (client's view). */
  snapshotMs: number;
}

/** PINGs back to back on one connection from before BGSAVE until the save is done. */
async function pingDuringBgsave(port: number): Promise<PauseResult> {
  await waitNoBackgroundWork(port);
  const pinger = await KeyMeshClient.connect({ port });
  const latencies: number[] = [];
  let measuring = false;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      const t = performance.now();
      await pinger.call('PING');
      if (measuring) latencies.push(performance.now() - t);
    }
  })();
  await sleep(200);
  measuring = true;
  const t0 = performance.now();
  const started = await call(port, 'BGSAVE');
  if (started.type === 'error') throw new Error(`BGSAVE: ${started.message}`);
  await waitUntil(async () => field(await info(port, 'persistence'), 'rdb_bgsave_in_progress') === '0', 'BGSAVE to finish', 600_000, 10);
  const snapshotMs = performance.now() - t0;
  stop = true;
  await loop;
  pinger.destroy();
  latencies.sort((a, b) => a - b);
  return {
    pings: latencies.length,
    maxMs: latencies[latencies.length - 1] ?? Number.NaN,
    p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? Number.NaN,
    snapshotMs,
  };
}

/** The duration the node itself logged for its last snapshot ("snapshot saved", ms). */
function loggedSnapshotMs(proc: ServerProcess): number {
  const lines = proc.recentOutput.split('\n').filter((l) => l.includes('"snapshot saved"'));
  const m = /"ms":(\d+)/.exec(lines[lines.length - 1] ?? '');
  return m === null ? Number.NaN : Number(m[1]);
}

function newestFileBytes(dir: string, suffix: string): number {
  if (!existsSync(dir)) return Number.NaN;
  const files = readdirSync(dir).filter((n) => n.endsWith(suffix)).sort();
  const last = files[files.length - 1];
  return last === undefined ? Number.NaN : statSync(join(dir, last)).size;
}

// ---- the restart scenarios -------------------------------------------------------------

interface RestartResult {
  readyMs: number[];
  /** KeyMesh: until the snapshot's values were all read in (INFO lazy_load_in_progress:0). */
  settledMs: number[];
  /** The node's own account of its loading time (KeyMesh's recovery_ms; Redis's INFO has no such field). */
  recoveryMs: number[];
  replayed: number;
  /** Entries the log holds at restart (it keeps those since the previous snapshot, as a fallback). */
  logEntries: number;
  keysAfter: number;
  snapshotBytes: number;
  pause: PauseResult | null;
  loggedSnapshotMs: number;
}

async function dbsize(port: number): Promise<number> {
  const v = await call(port, 'DBSIZE');
  return v.type === 'int' ? Number(v.value) : Number.NaN;
}

async function keymeshRestart(scale: Scale, log: (s: string) => void): Promise<RestartResult> {
  const cwd = tempDir();
  const proc = await startKeymeshDurable(cwd, 'everysec');
  try {
    const loadMs = await loadRandom(proc.port, scale.keys);
    log(`  KeyMesh: ${scale.keys.toLocaleString('en-US')} keys loaded in ${(loadMs / 1000).toFixed(1)} s`);
    await waitNoBackgroundWork(proc.port);
    const saved = await call(proc.port, 'SAVE');
    if (saved.type === 'error') throw new Error(`SAVE: ${saved.message}`);
    const pause = await pingDuringBgsave(proc.port);
    const logged = loggedSnapshotMs(proc);
    log(`  KeyMesh: BGSAVE of ${scale.keys.toLocaleString('en-US')} keys: PING max ${pause.maxMs.toFixed(1)} ms, p99 ${pause.p99Ms.toFixed(1)} ms over ${pause.pings} PINGs; snapshot ${logged} ms`);
    await loadRandom(proc.port, scale.extraWrites);
    const snapshotBytes = newestFileBytes(join(cwd, 'data', 'snap'), '.snap');
    const readyMs: number[] = [];
    const settledMs: number[] = [];
    const recoveryMs: number[] = [];
    let replayed = 0;
    let logEntries = 0;
    for (let i = 0; i < scale.restarts; i++) {
      const t = await crashRestartMs(proc, lazyLoadDone);
      readyMs.push(t.readyMs);
      settledMs.push(t.settledMs);
      const p = await info(proc.port, 'persistence');
      recoveryMs.push(Number(field(p, 'recovery_ms')));
      replayed = Number(field(p, 'recovery_replayed_entries'));
      logEntries = Number(field(p, 'log_last_index')) - Number(field(p, 'log_first_index')) + 1;
      log(`  KeyMesh: restart ${i + 1}: first PONG after ${readyMs[i]!.toFixed(0)} ms (recovery_ms ${recoveryMs[i]}, ${replayed} log entries replayed), every value read in after ${settledMs[i]!.toFixed(0)} ms`);
    }
    return { readyMs, settledMs, recoveryMs, replayed, logEntries, keysAfter: await dbsize(proc.port), snapshotBytes, pause, loggedSnapshotMs: logged };
  } finally {
    await proc.stop();
    rmSync(cwd, { recursive: true, force: true });
  }
}

async function redisRdbRestart(scale: Scale, log: (s: string) => void): Promise<RestartResult> {
  const proc = await startRedis();
  try {
    await loadRandom(proc.port, scale.keys);
    const saved = await call(proc.port, 'SAVE');
    if (saved.type === 'error') throw new Error(`SAVE: ${saved.message}`);
    const pause = await pingDuringBgsave(proc.port);
    log(`  Redis: BGSAVE of ${scale.keys.toLocaleString('en-US')} keys: PING max ${pause.maxMs.toFixed(1)} ms, p99 ${pause.p99Ms.toFixed(1)} ms over ${pause.pings} PINGs`);
    const snapshotBytes = statSync(join(proc.cwd, 'dump.rdb')).size;
    const readyMs: number[] = [];
    for (let i = 0; i < scale.restarts; i++) {
      readyMs.push((await crashRestartMs(proc)).readyMs);
      log(`  Redis (RDB): restart ${i + 1}: first PONG after ${readyMs[i]!.toFixed(0)} ms`);
    }
    return { readyMs, settledMs: [], recoveryMs: [], replayed: 0, logEntries: 0, keysAfter: await dbsize(proc.port), snapshotBytes, pause, loggedSnapshotMs: Number.NaN };
  } finally {
    await proc.stop();
  }
}

async function redisAofRestart(scale: Scale, log: (s: string) => void): Promise<RestartResult> {
  const proc = await startRedisAof('everysec');
  try {
    await loadRandom(proc.port, scale.keys);
    const rewrite = await call(proc.port, 'BGREWRITEAOF');
    if (rewrite.type === 'error') throw new Error(`BGREWRITEAOF: ${rewrite.message}`);
    await waitNoBackgroundWork(proc.port);
    await loadRandom(proc.port, scale.extraWrites);
    // everysec: give the last second's writes to the file before the kill, as KeyMesh's
    // are (written to the OS before they are acknowledged).
    await sleep(1500);
    const readyMs: number[] = [];
    for (let i = 0; i < scale.restarts; i++) {
      readyMs.push((await crashRestartMs(proc)).readyMs);
      log(`  Redis (AOF): restart ${i + 1}: first PONG after ${readyMs[i]!.toFixed(0)} ms`);
    }
    return { readyMs, settledMs: [], recoveryMs: [], replayed: 0, logEntries: 0, keysAfter: await dbsize(proc.port), snapshotBytes: Number.NaN, pause: null, loggedSnapshotMs: Number.NaN };
  } finally {
    await proc.stop();
  }
}

// ---- report ---------------------------------------------------------------------------

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmtMs = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const fmtMiB = (n: number): string => (Number.isFinite(n) ? (n / 1024 / 1024).toFixed(1) + ' MiB' : 'n/a');
const ratioOf = (a: number, b: number | undefined): number => (b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : Number.NaN);
const fmtRatio = (r: number): string => (Number.isFinite(r) ? r.toFixed(2) + '×' : '—');
const verdict = (ok: boolean | undefined): string => (ok === undefined ? '—' : ok ? 'met' : '**missed**');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

function machine(): string[] {
  const cpu = cpuModel();
  const redis = installed('redis-server') ? (/v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown') : 'not installed';
  return [
    `- machine: ${os.availableParallelism()} CPUs (nproc), ${cpu}, ${fmtMiB(os.totalmem())} RAM, ${os.platform()} ${os.release()}; data directories under the OS temp dir`,
    `- Node ${process.version}; Redis ${redis}`,
  ];
}

/** Which halves of the benchmark to run: SET throughput, and/or restart + snapshot size + pauses. */
export type DurabilityPart = 'throughput' | 'restart';

export interface DurabilityBenchOptions {
  quick: boolean;
  /** Repeats of each throughput measurement and of each restart (default: 3, or 1 with quick). */
  runs?: number;
  /** Default: both. */
  only?: DurabilityPart;
}

/** Runs the durability benchmark and returns its markdown section. */
export async function runDurabilityBench(opts: DurabilityBenchOptions, log: (s: string) => void = console.log): Promise<string> {
  const base = opts.quick ? quickScale : fullScale;
  const runs = opts.runs ?? base.repeats;
  assert(Number.isSafeInteger(runs) && runs >= 1, `--runs must be a positive integer, got ${runs}`);
  const scale: Scale = { ...base, repeats: runs, restarts: runs };
  const doThroughput = opts.only === undefined || opts.only === 'throughput';
  const doRestart = opts.only === undefined || opts.only === 'restart';
  const loadAtStart = os.loadavg();
  const haveRedis = installed('redis-server');
  const haveBenchmark = installed('redis-benchmark');
  if (!haveRedis || !haveBenchmark) {
    log(`redis-server and/or redis-benchmark are not installed; for the side-by-side comparison run:\n  ${installHint}`);
  }
  const sideBySide = haveRedis && haveBenchmark;
  const flags = [opts.quick ? ' --quick' : '', opts.runs !== undefined ? ` --runs ${runs}` : '', opts.only !== undefined ? ` --only ${opts.only}` : ''].join('');
  const command = `node dist/bench/durability.js${flags}`;
  log(`${command}: SET -c ${clients} -d ${valueBytes}; restart with ${scale.keys.toLocaleString('en-US')} keys + ${scale.extraWrites.toLocaleString('en-US')} logged writes`);

  const parts: string[] = [];
  if (doThroughput) parts.push(throughputSection(await throughputs(scale, sideBySide, haveBenchmark, log), scale, haveBenchmark));
  const loadAfterThroughput = os.loadavg();
  if (doRestart) {
    const km = await keymeshRestart(scale, log);
    const rdb = haveRedis ? await redisRdbRestart(scale, log) : undefined;
    const aof = haveRedis ? await redisAofRestart(scale, log) : undefined;
    parts.push(restartSection(scale, km, rdb, aof));
  }
  const loadAtEnd = os.loadavg();

  return [
    `## Durability — ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}${opts.quick ? ' (quick)' : ''}${opts.only !== undefined ? ` (${opts.only} only)` : ''}`,
    '',
    `- command: \`npm run build && ${command}\` (bench/durability.ts)`,
    ...machine(),
    `- load average (1, 5, 15 min; other work on the machine skews every figure): ${fmtLoad(loadAtStart)} at start${doThroughput && doRestart ? `, ${fmtLoad(loadAfterThroughput)} after the throughput part` : ''}, ${fmtLoad(loadAtEnd)} at the end`,
    ...(doThroughput
      ? [`- throughput: ${haveBenchmark ? 'redis-benchmark' : 'bench/loadgen.ts (redis-benchmark not installed; 3-byte values)'} \`-t set -c ${clients} -d ${valueBytes} --csv\`, -n ${fmtInt(scale.requests.always)} (always) / ${fmtInt(scale.requests.everysec)} (everysec, none); KeyMesh \`--fsync <policy>\`, Redis \`--appendonly yes --appendfsync <policy>\`, each on a fresh data directory; baseline: KeyMesh \`--persistence no\`, Redis \`--save '' --appendonly no\`; median of ${scale.repeats} run(s), servers alternating`]
      : []),
    ...(doRestart
      ? [`- restart: ${fmtInt(scale.keys)} keys with ${valueBytes}-byte values loaded in pipelines of 10,000; KeyMesh (\`--fsync everysec\`): SAVE, a BGSAVE (the pause measurement), then ${fmtInt(scale.extraWrites)} more SETs in its log; Redis RDB: SAVE; Redis AOF (everysec, RDB preamble): BGREWRITEAOF, then the same ${fmtInt(scale.extraWrites)} SETs. Then \`kill -9\` and time from spawn to the first \`+PONG\` (polled every ${pingPollMs} ms; Redis's \`-LOADING\` does not count), ${scale.restarts} time(s)`]
      : []),
    '',
    ...parts,
  ].join('\n');
}

const fmtLoad = (l: readonly number[]): string => l.map((x) => x.toFixed(2)).join(' ');

function throughputSection(tput: Map<Mode, ModeResult>, scale: Scale, haveBenchmark: boolean): string {
  const targets: Record<Mode, number | undefined> = { always: 1.0, everysec: 0.8, off: undefined };
  const modeLabel: Record<Mode, string> = { always: 'always', everysec: 'everysec', off: 'none (memory only, baseline)' };
  const tputRows = modes.map((m) => {
    const { km: k, redis: r, kmRuns, redisRuns } = tput.get(m)!;
    const ratio = ratioOf(k.rps, r?.rps);
    const target = targets[m];
    return [
      modeLabel[m], fmtInt(k.rps), r ? fmtInt(r.rps) : '—', fmtRatio(ratio),
      fmtMs(k.p99Ms), r ? fmtMs(r.p99Ms) : '—', fmtRatio(ratioOf(k.p99Ms, r?.p99Ms)),
      target === undefined ? '—' : `≥ ${target.toFixed(1)}×: ${verdict(Number.isFinite(ratio) ? ratio >= target : undefined)}`,
      `${kmRuns.map(fmtInt).join(', ')} / ${redisRuns.length > 0 ? redisRuns.map(fmtInt).join(', ') : '—'}`,
    ];
  });
  // Each run's own ratio: the servers of one repeat ran back to back, so they shared the machine's load.
  const perRun = modes
    .filter((m) => targets[m] !== undefined)
    .map((m) => {
      const { kmRuns, redisRuns } = tput.get(m)!;
      const ratios = kmRuns.map((k, i) => fmtRatio(ratioOf(k, redisRuns[i])));
      return `${m} ${ratios.join(', ')}`;
    });
  return [
    '### SET throughput with fsync (ratio = KeyMesh / Redis; the p99 of the median run)',
    '',
    table(['fsync', 'KeyMesh SET/s', 'Redis SET/s', 'ratio', 'KeyMesh p99 ms', 'Redis p99 ms', 'p99 ratio', 'target', 'each run, SET/s (KeyMesh / Redis)'], tputRows),
    '',
    `- ratio of each run (KeyMesh / the Redis run right after it): ${perRun.join('; ')}${haveBenchmark ? '' : ' (own load generator)'}; ${scale.repeats} run(s)`,
    '',
  ].join('\n');
}

function restartSection(scale: Scale, km: RestartResult, rdb: RestartResult | undefined, aof: RestartResult | undefined): string {
  const kmReady = median(km.readyMs);
  const restartRow = (name: string, r: RestartResult | undefined, recovery: string): string[] => [
    name, r ? fmtInt(median(r.readyMs)) : '—', r ? r.readyMs.map((x) => fmtInt(x)).join(', ') : '—', recovery, r ? fmtInt(r.keysAfter) : '—',
  ];
  const restartTable = table(['restart after kill -9', 'first PONG, ms (median)', 'each run, ms', 'server-side load, ms', 'keys after'], [
    restartRow(`KeyMesh: snapshot + ${fmtInt(km.replayed)} log entries replayed (of ${fmtInt(km.logEntries)} read)`, km, km.recoveryMs.map((x) => fmtInt(x)).join(', ') + ' (recovery_ms)'),
    restartRow('Redis: RDB (dump.rdb)', rdb, '—'),
    restartRow(`Redis: AOF (rewritten base + ${fmtInt(scale.extraWrites)} writes)`, aof, '—'),
  ]);
  const vsRdb = ratioOf(kmReady, rdb && median(rdb.readyMs));
  const vsAof = ratioOf(kmReady, aof && median(aof.readyMs));
  const fastestRedis = Math.min(rdb ? median(rdb.readyMs) : Infinity, aof ? median(aof.readyMs) : Infinity);

  const sizeTable = table(['snapshot on disk', 'bytes', 'MiB', 'ratio'], [
    ['KeyMesh newest snapshot (snap/*.snap)', fmtInt(km.snapshotBytes), fmtMiB(km.snapshotBytes), fmtRatio(ratioOf(km.snapshotBytes, rdb?.snapshotBytes))],
    ['Redis dump.rdb', rdb ? fmtInt(rdb.snapshotBytes) : '—', rdb ? fmtMiB(rdb.snapshotBytes) : '—', rdb ? '1.00×' : '—'],
  ]);

  const pauseRow = (name: string, r: RestartResult | undefined, logged: string): string[] => {
    const p = r?.pause;
    return p ? [name, fmtInt(p.pings), fmtMs(p.maxMs), fmtMs(p.p99Ms), fmtInt(p.snapshotMs), logged] : [name, '—', '—', '—', '—', '—'];
  };
  const pauseTable = table(['during BGSAVE', 'PINGs', 'max ms', 'p99 ms', 'BGSAVE→done (client), ms', 'node-logged snapshot, ms'], [
    pauseRow('KeyMesh (incremental copy-on-write)', km, fmtInt(km.loggedSnapshotMs)),
    pauseRow('Redis (fork)', rdb, '—'),
  ]);

  return [
    `### Restart with ${fmtInt(scale.keys)} keys`,
    '',
    restartTable,
    '',
    `- KeyMesh / Redis RDB: ${fmtRatio(vsRdb)}; KeyMesh / Redis AOF: ${fmtRatio(vsAof)}; target ≤ 2× Redis (${verdict(Number.isFinite(fastestRedis) ? kmReady <= 2 * fastestRedis : undefined)} against the faster of the two) and under 5 s (${verdict(kmReady < 5000)})`,
    `- KeyMesh serves from its first PONG; the snapshot's values it has not read yet are read in the background after that (keyspace/lazy-values.ts). Every value was read in ${fmtInt(median(km.settledMs))} ms after spawn (median; each run: ${km.settledMs.map((x) => fmtInt(x)).join(', ')}), ${fmtRatio(ratioOf(median(km.settledMs), rdb && median(rdb.readyMs)))} Redis RDB's load.`,
    '',
    '### Snapshot size',
    '',
    sizeTable,
    '',
    `### Pauses while snapshotting ${fmtInt(scale.keys)} keys (one connection PINGing back to back)`,
    '',
    pauseTable,
    '',
    `- target: no pause above 50 ms (${verdict(km.pause ? km.pause.maxMs <= 50 : undefined)}: KeyMesh max ${fmtMs(km.pause?.maxMs ?? Number.NaN)} ms)`,
    '',
  ].join('\n');
}

const usage = `node dist/bench/durability.js [options]

KeyMesh beside redis-server in one run: SET throughput under --fsync always/everysec (and
memory only) with redis-benchmark -c ${clients} -d ${valueBytes}; restart time after kill -9 with
1,000,000 keys (snapshot + 100,000 logged writes) against Redis RDB and AOF; snapshot size;
PING pauses during a snapshot. Appends a section to bench/RESULTS.md.

  --quick           a tenth of the requests and keys, one run (a smoke test, not a result)
  --runs N          repeats of every throughput measurement and every restart (default 3; 1 with --quick)
  --only PART       throughput | restart (default: both)
  --print-only      print the section, do not append it to bench/RESULTS.md
  --help            this text`;

function usageError(problem: string): never {
  console.error(`${problem}\n\n${usage}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const values = benchArgs(
    {
      quick: { type: 'boolean', default: false },
      runs: { type: 'string' },
      only: { type: 'string' },
      'print-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    usage,
  );
  const only = values.only;
  if (only !== undefined && only !== 'throughput' && only !== 'restart') usageError(`--only: expected throughput or restart, got '${only}'`);
  const runs = values.runs === undefined ? undefined : Number(values.runs);
  if (runs !== undefined && !(Number.isInteger(runs) && runs >= 1)) usageError(`--runs: expected a positive integer, got '${values.runs}'`);
  const section = await runDurabilityBench({
    quick: values.quick,
    ...(runs !== undefined ? { runs } : {}),
    ...(only !== undefined ? { only } : {}),
  });
  console.log('\n' + section);
  if (values['print-only']) return;
  appendResults(section);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
