// Side-by-side benchmark: KeyMesh and a real redis-server, same machine, same run, same
// load (redis-benchmark), then memory for a million keys. Appends the results to
// bench/RESULTS.md. The throughput tests also drive bench/node-floor-server.ts, a Node
// server that answers without doing any work: what no server on Node can beat here.
//
//   npm run bench                 full run: -n 200000, 1,000,000 keys
//   npm run bench -- --help       the other flags (--quick, --durable, --own-load, --rounds, --only)
//
// The three parts: this file (one node vs redis-server), bench/durability.ts (fsync
// policies, restart time, snapshots vs Redis's AOF/RDB), bench/cluster.ts (3 nodes vs
// Redis with replicas and etcd, and failover time). Each appends its own section.

import { appendResults, benchArgs, cpuModel, median } from './results.js';
import { execFile, spawnSync } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { infoField, procRssBytes, resp, RawConnection, startKeymesh, startNodeFloor, startRedis, type ServerProcess } from '../test/helpers/process.js';
import { loadKeys, runLoad, type LoadResult } from './loadgen.js';

const run = promisify(execFile);

const usage = `npm run bench -- [options]

KeyMesh beside a real redis-server (and, for the cluster part, Redis with replicas and
etcd) in one run; appends each part's figures to bench/RESULTS.md.

  --quick           smoke run: -n 20000, 100,000 keys, one round
  --durable         KeyMesh with its log on disk (default: memory only, as the redis-server here)
  --own-load        drive both with bench/loadgen.ts instead of redis-benchmark
  --rounds N        rounds of the throughput tests (default 3, 1 with --quick)
  --only PART       single | durability | cluster (default: all three)
  --help            this text`;

const args = benchArgs(
  {
    quick: { type: 'boolean', default: false },
    durable: { type: 'boolean', default: false },
    'own-load': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  usage,
);
const quick = args.quick;
const parts = ['single', 'durability', 'cluster'];
const only = args.only ?? null;
if (only !== null && !parts.includes(only)) {
  console.error(`--only takes one of: ${parts.join(', ')}\n\n${usage}`);
  process.exit(2);
}
const durable = args.durable;
const ownLoad = args['own-load'];
const requests = quick ? 20_000 : 200_000;
/**
 * Throughput rounds. Each round starts both servers afresh, in alternating order, and the
 * median of the rounds is reported: on a shared 2-core machine one sample of each server,
 * taken a minute apart, measures the neighbours as much as the servers.
 */
const rounds = args.rounds === undefined ? (quick ? 1 : 3) : Number(args.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds takes a positive integer\n\n${usage}`);
  process.exit(2);
}
/** Requests of the warm-up pass before each measured one, so Node's JIT has compiled the hot path (as on a server that has been up). */
const warmupRequests = Math.max(1000, requests / 10);
const keyCount = quick ? 100_000 : 1_000_000;
const clients = 50;
const pipelines = [1, 16];
const valueBytes = 100;
const installHint = 'sudo apt-get install redis-server redis-tools';

interface Target {
  name: string;
  start: () => Promise<ServerProcess>;
}

function installed(tool: string): boolean {
  return spawnSync('which', [tool], { stdio: 'ignore' }).status === 0;
}

/** Parses redis-benchmark --csv output: a header line, then one quoted row per test. */
function parseBenchmarkCsv(csv: string): LoadResult[] {
  const rows = csv.trim().split('\n').map((l) => l.split(',').map((c) => c.replace(/^"|"$/g, '')));
  const header = rows.shift() ?? [];
  const col = (name: string): number => {
    const i = header.indexOf(name);
    if (i < 0) throw new Error(`redis-benchmark --csv has no "${name}" column: ${header.join(',')}`);
    return i;
  };
  const [test, rps, p50, p99] = [col('test'), col('rps'), col('p50_latency_ms'), col('p99_latency_ms')];
  return rows.map((r) => ({ test: r[test]!, rps: Number(r[rps]), p50Ms: Number(r[p50]), p99Ms: Number(r[p99]) }));
}

async function throughput(port: number, pipeline: number, useRedisBenchmark: boolean, requests: number): Promise<LoadResult[]> {
  if (useRedisBenchmark) {
    const args = ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get', '-c', String(clients), '-n', String(requests), '--csv'];
    if (pipeline > 1) args.push('-P', String(pipeline));
    const { stdout } = await run('redis-benchmark', args, { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
    return parseBenchmarkCsv(stdout);
  }
  return [await runLoad(port, 'SET', requests, clients, pipeline), await runLoad(port, 'GET', requests, clients, pipeline)];
}

interface MemoryResult {
  usedBefore: number;
  usedAfter: number;
  rssBefore: number;
  rssAfter: number;
  loadMs: number;
}

async function usedMemory(port: number): Promise<number> {
  const conn = await RawConnection.open(port);
  try {
    const info = await conn.request(resp('INFO', 'memory').toString('latin1'));
    return Number(infoField(info, 'used_memory') ?? Number.NaN);
  } finally {
    conn.destroy();
  }
}

/** Loads `keyCount` keys into a fresh server and measures memory before and after. */
async function memory(target: Target): Promise<MemoryResult> {
  const server = await target.start();
  try {
    const usedBefore = await usedMemory(server.port);
    const rssBefore = procRssBytes(server.pid) ?? Number.NaN;
    const loadMs = await loadKeys(server.port, keyCount, valueBytes);
    const conn = await RawConnection.open(server.port);
    const dbsize = await conn.request(resp('DBSIZE').toString('latin1'));
    conn.destroy();
    if (dbsize !== `:${keyCount}\r\n`) throw new Error(`${target.name} holds ${dbsize.trim()} keys after loading ${keyCount}`);
    return { usedBefore, usedAfter: await usedMemory(server.port), rssBefore, rssAfter: procRssBytes(server.pid) ?? Number.NaN, loadMs };
  } finally {
    await server.stop();
  }
}

const fmtInt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
const fmtMs = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : 'n/a');
const fmtMiB = (n: number): string => (Number.isFinite(n) ? (n / 1024 / 1024).toFixed(1) + ' MiB' : 'n/a');
const ratio = (a: number, b: number | undefined): string => (b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0 ? (a / b).toFixed(2) : '—');

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => '| ' + cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  return [line(head), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...rows.map(line)].join('\n');
}

function machine(): string[] {
  const cpu = cpuModel();
  const redisVersion = installed('redis-server') ? (/v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? 'unknown') : 'not installed';
  return [
    `- machine: ${os.availableParallelism()} CPUs (nproc), ${cpu}, ${fmtMiB(os.totalmem())} RAM, ${os.platform()} ${os.release()}`,
    `- Node ${process.version}; Redis ${redisVersion}`,
    // A shared or busy machine skews both columns; the load average says how busy it was.
    `- load average at start: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  ];
}

async function main(): Promise<void> {
  const haveBenchmark = installed('redis-benchmark') && !ownLoad;
  if (!installed('redis-server') || !installed('redis-benchmark')) {
    console.log(`redis-server and/or redis-benchmark are not installed; for the side-by-side comparison run:\n  ${installHint}`);
  }
  const haveRedis = installed('redis-server');
  if (!haveBenchmark) console.log(`Measuring with our own load generator (bench/loadgen.ts)${haveRedis ? '' : ', KeyMesh only'}.`);
  const machineLines = machine();
  const keymeshArgs = durable ? [] : ['--persistence', 'no'];
  const targets: Target[] = [{ name: 'KeyMesh', start: () => startKeymesh({ args: keymeshArgs }) }];
  if (haveRedis) targets.push({ name: 'Redis', start: () => startRedis() });
  // Throughput only: it holds no keys, so it has no memory figures.
  const floor: Target = { name: 'Node floor', start: startNodeFloor };
  const command = `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`;
  console.log(`${command}: ${requests.toLocaleString('en-US')} requests, ${clients} clients, pipelines ${pipelines.join(' and ')}; ${keyCount.toLocaleString('en-US')} keys of ${valueBytes} bytes`);

  // test ("SET -P 1") → target → one result per round
  const perf = new Map<string, Map<string, LoadResult[]>>();
  for (let round = 0; round < rounds; round++) {
    const all = [...targets, floor];
    const order = round % 2 === 0 ? all : all.reverse();
    for (const target of order) {
      const server = await target.start();
      try {
        for (const p of pipelines) {
          await throughput(server.port, p, haveBenchmark, warmupRequests);
          for (const r of await throughput(server.port, p, haveBenchmark, requests)) {
            const key = `${r.test} -P ${p}`;
            if (!perf.has(key)) perf.set(key, new Map());
            const byTarget = perf.get(key)!;
            if (!byTarget.has(target.name)) byTarget.set(target.name, []);
            byTarget.get(target.name)!.push(r);
            console.log(`  round ${round + 1}/${rounds} ${target.name} ${key}: ${fmtInt(r.rps)} req/s, p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms`);
          }
        }
      } finally {
        await server.stop();
      }
    }
  }

  const mem = new Map<string, MemoryResult>();
  for (const target of targets) {
    const m = await memory(target);
    mem.set(target.name, m);
    console.log(`  ${target.name} ${keyCount} keys loaded in ${(m.loadMs / 1000).toFixed(1)} s: used_memory ${fmtMiB(m.usedAfter)}, RSS ${fmtMiB(m.rssAfter)}`);
  }

  const medianOf = (rs: readonly LoadResult[] | undefined): LoadResult | undefined =>
    rs === undefined ? undefined : { test: rs[0]!.test, rps: median(rs.map((r) => r.rps)), p50Ms: median(rs.map((r) => r.p50Ms)), p99Ms: median(rs.map((r) => r.p99Ms)) };
  const perfRows = [...perf].map(([test, byTarget]) => {
    const k = medianOf(byTarget.get('KeyMesh'))!;
    const r = medianOf(byTarget.get('Redis'));
    return [
      test,
      fmtInt(k.rps), r ? fmtInt(r.rps) : '—', ratio(k.rps, r?.rps),
      fmtMs(k.p50Ms), r ? fmtMs(r.p50Ms) : '—', ratio(k.p50Ms, r?.p50Ms),
      fmtMs(k.p99Ms), r ? fmtMs(r.p99Ms) : '—', ratio(k.p99Ms, r?.p99Ms),
    ];
  });
  const floorRows = [...perf].map(([test, byTarget]) => {
    const k = medianOf(byTarget.get('KeyMesh'))!;
    const f = medianOf(byTarget.get('Node floor'))!;
    const r = medianOf(byTarget.get('Redis'));
    return [test, fmtInt(f.rps), ratio(f.rps, r?.rps), ratio(k.rps, f.rps), fmtMs(f.p99Ms), ratio(f.p99Ms, r?.p99Ms), ratio(k.p99Ms, f.p99Ms)];
  });
  const floorTable = table(['test', 'Node floor req/s', 'floor / Redis', 'KeyMesh / floor', 'floor p99 ms', 'floor / Redis', 'KeyMesh / floor'], floorRows);
  // Each round's ratios, to show the spread behind the medians.
  const roundRows = [...perf].map(([test, byTarget]) => {
    const k = byTarget.get('KeyMesh')!;
    const r = byTarget.get('Redis');
    const each = (f: (x: LoadResult) => number): string => k.map((x, i) => ratio(f(x), r?.[i] === undefined ? undefined : f(r[i]!))).join(' / ');
    return [test, each((x) => x.rps), each((x) => x.p99Ms)];
  });
  const roundTable = table(['test', 'req/s ratio, each round', 'p99 ratio, each round'], roundRows);
  const perfTable = table(
    ['test', 'KeyMesh req/s', 'Redis req/s', 'ratio', 'KeyMesh p50 ms', 'Redis p50 ms', 'ratio', 'KeyMesh p99 ms', 'Redis p99 ms', 'ratio'],
    perfRows,
  );
  const km = mem.get('KeyMesh')!;
  const rd = mem.get('Redis');
  const perKey = (m: MemoryResult | undefined, a: 'used' | 'rss'): number =>
    m === undefined ? Number.NaN : a === 'used' ? (m.usedAfter - m.usedBefore) / keyCount : (m.rssAfter - m.rssBefore) / keyCount;
  const memRow = (label: string, k: number, r: number | undefined, f: (n: number) => string): string[] => [label, f(k), r === undefined ? '—' : f(r), ratio(k, r)];
  const memTable = table(['memory', 'KeyMesh', 'Redis', 'ratio'], [
    memRow('used_memory (INFO)', km.usedAfter, rd?.usedAfter, fmtMiB),
    memRow('RSS (VmRSS)', km.rssAfter, rd?.rssAfter, fmtMiB),
    memRow('used_memory per key, bytes', perKey(km, 'used'), rd && perKey(rd, 'used'), fmtInt),
    memRow('RSS per key, bytes', perKey(km, 'rss'), rd && perKey(rd, 'rss'), fmtInt),
    memRow('load time, s', km.loadMs / 1000, rd && rd.loadMs / 1000, (n) => n.toFixed(1)),
  ]);

  const note = durable ? 'KeyMesh with persistence on (log on disk, appendfsync everysec)' : 'KeyMesh with --persistence no';
  const section = [
    `## ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}${quick ? ' (quick)' : ''}`,
    '',
    `- command: \`${command}\``,
    ...machineLines,
    `- load: ${haveBenchmark ? 'redis-benchmark' : 'bench/loadgen.ts'} \`-t set,get -c ${clients} -n ${requests}\`, with and without \`-P 16\`; ${note}; Redis with \`--save '' --appendonly no\``,
    `- ${rounds} round${rounds === 1 ? '' : 's'}, each starting both servers afresh in alternating order, with a warm-up pass of ${warmupRequests.toLocaleString('en-US')} requests before each measured one; the tables show each figure's median over the rounds`,
    `- memory: ${keyCount.toLocaleString('en-US')} keys (\`key:0000000\`…) with ${valueBytes}-byte values, loaded by bench/loadgen.ts in pipelines of 10,000 SETs, into fresh servers; ratio = KeyMesh / Redis (higher is better for req/s, lower for latency and memory)`,
    '',
    perfTable,
    '',
    roundTable,
    '',
    'The Node floor (bench/node-floor-server.ts) answers every request with a fixed reply and does no other work; the same load, in the same rounds:',
    '',
    floorTable,
    '',
    memTable,
    '',
  ].join('\n');
  console.log('\n' + section);
  appendResults(section);
}

if (only === null || only === 'single') await main();

// ---- durability and cluster benchmarks (bench/durability.ts, bench/cluster.ts) ------------
// Each appends its own section; `--quick` makes them quick too.
if (only === null || only === 'durability') {
  const { runDurabilityBench } = await import('./durability.js');
  const section = await runDurabilityBench({ quick });
  console.log('\n' + section);
  appendResults(section);
}
if (only === null || only === 'cluster') {
  const { runClusterBench } = await import('./cluster.js');
  const section = await runClusterBench({ quick });
  console.log('\n' + section);
  appendResults(section);
}
