// npm run chaos -- [--nodes 5] [--time 120] [--nemesis kill,pause,partition,clock]
//   [--workload register,counter,append,ttl] [--consistency strong] [--seed N] …
// Runs real KeyMesh processes under faults and checks what the clients saw.

import { Command, InvalidArgumentError, Option } from 'commander';
import { appendFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process.js';
import type { Level, Workload } from './history.js';
import { faultKinds, type FaultKind } from './nemesis.js';
import { runChaos } from './run.js';

function listOf<T extends string>(allowed: readonly T[], what: string, allowNone = false) {
  return (text: string): T[] => {
    if (allowNone && (text === 'none' || text === '')) return [];
    const items = text === 'all' ? [...allowed] : text.split(',').map((s) => s.trim().toLowerCase());
    for (const i of items) if (!allowed.includes(i as T)) throw new InvalidArgumentError(`unknown ${what} '${i}' (one of: ${allowed.join(', ')})`);
    if (items.length === 0) throw new InvalidArgumentError(`no ${what} given`);
    return [...new Set(items)] as T[];
  };
}

function int(min: number, max: number) {
  return (text: string): number => {
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return Number(text);
  };
}

const program = new Command('chaos')
  .description('Fault-injection test of a KeyMesh cluster of real processes (Jepsen-style): runs clients under faults, then checks the history.')
  .option('--nodes <n>', 'cluster size', int(1, 9), 5)
  .option('--time <s>', 'seconds of load and faults', int(1, 86400), 120)
  .option('--nemesis <list>', `faults, comma-separated, 'all' or 'none' (${faultKinds.join(', ')})`, listOf(faultKinds, 'nemesis', true), [...faultKinds])
  .option('--workload <list>', "workloads, comma-separated or 'all' (register, counter, append, ttl)", listOf<Workload>(['register', 'counter', 'append', 'ttl'], 'workload'), ['register', 'counter', 'append', 'ttl'] as Workload[])
  .option('--consistency <list>', 'consistency level(s); with several, the clients are split between them', listOf<Level>(['strong', 'quorum', 'eventual'], 'level'), ['strong'] as Level[])
  .option('--clients <n>', 'concurrent clients', int(1, 200), 10)
  .option('--seed <n>', 'seed for the schedule and the clients (default: random)', int(0, 2 ** 31 - 1))
  .addOption(new Option('--network <mode>', 'netns (root, ip netns), proxy (TCP fault proxy), or auto').choices(['auto', 'netns', 'proxy']).default('auto'))
  .option('--lease-reads', 'start the nodes with --cluster-lease-reads yes', false)
  .option('--tick-ms <ms>', 'the nodes\' --cluster-tick-ms', int(1, 1000), 50)
  .option('--op-timeout <ms>', 'a client gives up on an operation after this long (indeterminate)', int(100, 60000), 2000)
  .option('--think <ms>', 'mean pause between one client\'s operations', int(0, 10000), 40)
  .option('--settle <s>', 'after healing, how long the cluster may take to settle', int(1, 600), 60)
  .option('--runs <n>', 'run this many times, seeds counting up from --seed', int(1, 10000), 1)
  .option('--record <file>', 'append a markdown table of the runs to this file (e.g. test/chaos/RESULTS.md)')
  .option('--out <dir>', 'where to write history.jsonl, results.json, report.html and node logs (default: chaos-out/<time>-seed<N>)')
  .showHelpAfterError();

program.parse();
const o = program.opts<{
  nodes: number;
  time: number;
  nemesis: FaultKind[];
  workload: Workload[];
  consistency: Level[];
  clients: number;
  seed?: number;
  network: 'auto' | 'netns' | 'proxy';
  leaseReads: boolean;
  tickMs: number;
  opTimeout: number;
  think: number;
  settle: number;
  out?: string;
  runs: number;
  record?: string;
}>();
const firstSeed = o.seed ?? Math.floor(Math.random() * 2 ** 30);
const batchStarted = performance.now();
const summaries: RunSummary[] = [];
for (let run = 0; run < o.runs; run++) {
  const seed = firstSeed + run;
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  const out = o.out !== undefined ? (o.runs > 1 ? join(o.out, `seed${seed}`) : o.out) : join(repoRoot, 'chaos-out', `${stamp}-seed${seed}`);
  const started = performance.now();
  const replay = `npm run chaos -- ${replayArgs(seed)}`;
  console.log(`chaos${o.runs > 1 ? ` run ${run + 1}/${o.runs}` : ''}: seed ${seed}; replay with: ${replay}`);
  const r = await runChaos({
    nodes: o.nodes,
    timeS: o.time,
    nemeses: o.nemesis,
    workloads: o.workload,
    levels: o.consistency,
    clients: o.clients,
    seed,
    out,
    network: o.network,
    tickMs: o.tickMs,
    leaseReads: o.leaseReads,
    opTimeoutMs: o.opTimeout,
    thinkMs: o.think,
    settleTimeoutS: o.settle,
    replay,
    log: (line) => console.log(line),
  });
  for (const res of r.results) {
    const counts = Object.entries(res.counts).map(([k, v]) => `${k}=${v}`).join(' ');
    console.log(`${res.valid ? 'ok     ' : 'INVALID'} ${res.workload}/${res.level}: ${counts}`);
    for (const a of res.anomalies.slice(0, 10)) console.log(`          ${a.kind}${a.key ? ` ${a.key}` : ''}: ${a.message}`);
    if (res.anomalies.length > 10) console.log(`          … ${res.anomalies.length - 10} more in results.json`);
    for (const a of (res.allowedLosses ?? []).slice(0, 5)) console.log(`          allowed loss: ${a.message}`);
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  console.log(`report: ${join(r.out, 'report.html')}  (history.jsonl, results.json, logs/ beside it); ${seconds} s`);
  console.log(r.verdict);
  summaries.push({ seed, valid: r.valid, verdict: r.verdict, seconds, network: r.network, faults: r.faults });
}
if (o.runs > 1) {
  const bad = summaries.filter((s) => !s.valid);
  console.log(`${o.runs} runs in ${Math.round((performance.now() - batchStarted) / 1000)} s: ${o.runs - bad.length} VALID, ${bad.length} INVALID${bad.length > 0 ? ` (seeds ${bad.map((b) => b.seed).join(', ')})` : ''}`);
}
if (o.record !== undefined) appendFileSync(o.record, recordTable(summaries));
process.exitCode = summaries.every((s) => s.valid) ? 0 : 1;

interface RunSummary {
  seed: number;
  valid: boolean;
  verdict: string;
  seconds: number;
  network: string;
  faults: string;
}

/** A markdown section for a results file: the setup, then one row per run. */
function recordTable(runs: readonly RunSummary[]): string {
  const lines = [
    `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${runs.length} run(s)\n`,
    `- command: \`npm run chaos -- ${replayArgs(runs[0]!.seed).replace(/^--seed \d+ /, '')} --runs ${runs.length} --seed ${runs[0]!.seed}\``,
    `- machine: ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average at the end ${loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    `- network: ${runs[0]!.network}`,
    `- result: ${runs.filter((r) => r.valid).length} of ${runs.length} VALID\n`,
    '| seed | verdict | faults injected | seconds |',
    '|---|---|---|---|',
    ...runs.map((r) => `| ${r.seed} | ${r.verdict.replace(/\|/g, '\\|')} | ${r.faults} | ${r.seconds} |`),
  ];
  return lines.join('\n') + '\n';
}

function replayArgs(seed: number): string {
  return [
    `--seed ${seed}`,
    `--nodes ${o.nodes}`,
    `--time ${o.time}`,
    `--nemesis ${o.nemesis.join(',') || 'none'}`,
    `--workload ${o.workload.join(',')}`,
    `--consistency ${o.consistency.join(',')}`,
    `--clients ${o.clients}`,
    ...(o.leaseReads ? ['--lease-reads'] : []),
    ...(o.network !== 'auto' ? [`--network ${o.network}`] : []),
    ...(o.tickMs !== 50 ? [`--tick-ms ${o.tickMs}`] : []),
    ...(o.opTimeout !== 2000 ? [`--op-timeout ${o.opTimeout}`] : []),
    ...(o.think !== 40 ? [`--think ${o.think}`] : []),
  ].join(' ');
}
