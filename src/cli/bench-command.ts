// `keymesh bench`: a load generator in the manner of redis-benchmark, for KeyMesh or any
// Redis-compatible server. The same options where redis-benchmark has them (-h -p -a -c
// -n -d -P -r -t -q --csv --dbnum), and its output formats, so results read side by
// side; plus --consistency, to measure a KeyMesh cluster at each level.

import { Command, InvalidArgumentError, Option } from 'commander';
import { passwordOf, withConnectionOptions, type ConnectionFlags } from './connection-options.js';
import { benchTests, LoadRun, type BenchTest, type LoadOptions, type LoadResult } from './bench-load.js';

type IntegerParser = (min: number, max: number, what: string) => (text: string) => number;

interface BenchFlags extends ConnectionFlags {
  dbnum: number;
  clients: number;
  requests: number;
  datasize: number;
  pipeline: number;
  keyspacelen?: number;
  tests: BenchTest[];
  quiet?: boolean;
  csv?: boolean;
  consistency?: string;
}

const progressEveryMs = 250;
export const csvHeader = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"';

function parseTests(text: string): BenchTest[] {
  const names = text
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== '');
  if (names.length === 0) throw new InvalidArgumentError('give at least one test.');
  for (const n of names) {
    if (!(benchTests as readonly string[]).includes(n)) throw new InvalidArgumentError(`unknown test "${n}"; the tests are ${benchTests.join(', ')}.`);
  }
  return [...new Set(names)] as BenchTest[];
}

const ms = (n: number): string => n.toFixed(3);

export function csvRow(r: LoadResult): string {
  return [r.test, r.rps.toFixed(2), ms(r.avgMs), ms(r.minMs), ms(r.p50Ms), ms(r.p95Ms), ms(r.p99Ms), ms(r.maxMs)].map((c) => `"${c}"`).join(',');
}

function report(r: LoadResult, o: LoadOptions): string {
  const keys = o.keyspaceLen === null ? 'one key' : `random keys from a keyspace of ${o.keyspaceLen}`;
  const cols = ['avg', 'min', 'p50', 'p95', 'p99', 'max'].map((c) => c.padStart(9)).join(' ');
  const vals = [r.avgMs, r.minMs, r.p50Ms, r.p95Ms, r.p99Ms, r.maxMs].map((v) => ms(v).padStart(9)).join(' ');
  return [
    `====== ${r.test} ======`,
    `  ${r.requests} requests completed in ${(r.elapsedMs / 1000).toFixed(2)} seconds`,
    `  ${o.clients} parallel clients, pipeline ${o.pipeline}, ${o.dataSize} bytes payload, ${keys}`,
    ...(o.consistency === undefined ? [] : [`  consistency ${o.consistency}`]),
    ...(r.errors === 0 ? [] : [`  ${r.errors} error replies; the first: ${r.firstError}`]),
    '',
    '  latency summary (msec):',
    `  ${cols}`,
    `  ${vals}`,
    `  throughput summary: ${r.rps.toFixed(2)} requests per second`,
    '',
  ].join('\n');
}

async function runTests(flags: BenchFlags): Promise<number> {
  const password = passwordOf(flags);
  const o: LoadOptions = {
    host: flags.host,
    port: flags.port,
    ...(password === undefined ? {} : { password }),
    db: flags.dbnum,
    ...(flags.consistency === undefined ? {} : { consistency: flags.consistency }),
    clients: flags.clients,
    requests: flags.requests,
    pipeline: flags.pipeline,
    dataSize: flags.datasize,
    keyspaceLen: flags.keyspacelen ?? null,
  };
  // The live line is for a person watching; scripts (--csv, or output to a file) get results only.
  const live = process.stdout.isTTY === true && flags.csv !== true;
  if (flags.csv === true) process.stdout.write(csvHeader + '\n');
  let status = 0;
  for (const test of flags.tests) {
    const run = new LoadRun(o, test);
    const timer = live
      ? setInterval(() => {
          const rps = run.elapsedMs > 0 ? (run.completed / run.elapsedMs) * 1000 : 0;
          process.stdout.write(`\r${test.toUpperCase()}: ${run.completed} of ${o.requests} requests, ${rps.toFixed(0)} per second `);
        }, progressEveryMs)
      : null;
    let r: LoadResult;
    try {
      r = await run.run();
    } catch (e) {
      if (live) process.stdout.write('\n');
      process.stderr.write(`${(e as Error).message}\n`);
      return 1;
    } finally {
      if (timer !== null) clearInterval(timer);
    }
    if (live) process.stdout.write('\r\x1b[K');
    if (flags.csv === true) process.stdout.write(csvRow(r) + '\n');
    else if (flags.quiet === true) process.stdout.write(`${r.test}: ${r.rps.toFixed(2)} requests per second, p50=${ms(r.p50Ms)} msec\n`);
    else process.stdout.write(report(r, o) + '\n');
    if (r.errors > 0) {
      if (flags.quiet === true || flags.csv === true) process.stderr.write(`${r.test}: ${r.errors} error replies; the first: ${r.firstError}\n`);
      status = 1;
    }
  }
  return status;
}

export function benchCommand(integerIn: IntegerParser): Command {
  return (
    withConnectionOptions(
      new Command('bench').description('measure throughput and latency of a KeyMesh (or Redis) server, in the manner of redis-benchmark'),
      integerIn(1, 65535, 'port'),
    )
      .option('--dbnum <db>', 'database number', integerIn(0, 2147483647, 'db'), 0)
      .option('-c, --clients <n>', 'parallel connections', integerIn(1, 10_000, 'clients'), 50)
      .option('-n, --requests <n>', 'requests per test', integerIn(1, Number.MAX_SAFE_INTEGER, 'requests'), 100_000)
      .option('-d, --datasize <bytes>', 'bytes of each SET/MSET value', integerIn(1, 512 * 1024 * 1024, 'datasize'), 3)
      .option('-P, --pipeline <n>', 'requests per pipeline', integerIn(1, 100_000, 'pipeline'), 1)
      .option('-r, --keyspacelen <n>', 'use random keys from 0 to n-1 instead of one key', integerIn(1, 1e12, 'keyspacelen'))
      .addOption(new Option('-t, --tests <list>', `comma-separated tests: ${benchTests.join(', ')}`).argParser(parseTests).default([...benchTests], 'all'))
      .option('-q, --quiet', 'one line per test: requests per second and p50')
      .option('--csv', 'CSV output, redis-benchmark columns')
      .addOption(new Option('--consistency <level>', 'CONSISTENCY for every connection (KeyMesh clusters)').choices(['eventual', 'quorum', 'strong']))
      .addHelpText('after', '\nExamples:\n  keymesh bench -t set,get -n 200000\n  keymesh bench -p 9001 -t set --consistency eventual -q\n  keymesh bench -t get -P 16 -r 100000 --csv')
      .action(async (flags: BenchFlags) => {
        process.exitCode = await runTests(flags);
      })
  );
}
