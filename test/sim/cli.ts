// Replay one simulator seed verbosely, or soak many:
//   node dist/test/sim/cli.js --seed 17 [--nodes 5] [--steps 2000] [--liveness 600]
//   node dist/test/sim/cli.js --seeds 1000 [--from 1] [--nodes 3]
import { parseArgs } from 'node:util';
import { DEFAULT_LIVENESS_STEPS, DEFAULT_STEPS, replayCommand, runSimulation } from './sim.js';

const usage = `usage: npm run sim -- [options]

Runs the deterministic Raft simulation: one seed, printing every step, or many seeds as a soak.

  --seed N       replay seed N verbosely (exit status 1 if it fails)
  --seeds N      run N seeds (default 100), printing only failures and a summary
  --from N       first seed of a soak (default 1)
  --nodes N      cluster size (default 3)
  --steps N      simulated steps with faults (default ${DEFAULT_STEPS})
  --liveness N   fault-free steps after them in which a leader must emerge (default ${DEFAULT_LIVENESS_STEPS})
  --quiet        with --seed, print only the verdict
  -h, --help     this text
`;

class UsageError extends Error {}

function count(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name}: expected an integer >= ${min}, got '${text}'`);
  return n;
}

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        seeds: { type: 'string' },
        from: { type: 'string', default: '1' },
        nodes: { type: 'string', default: '3' },
        steps: { type: 'string', default: String(DEFAULT_STEPS) },
        liveness: { type: 'string', default: String(DEFAULT_LIVENESS_STEPS) },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    const nodes = count('nodes', values.nodes, 1);
    const steps = count('steps', values.steps, 1);
    const livenessSteps = count('liveness', values.liveness, 0);
    if (values.seed !== undefined) return replay(count('seed', values.seed, 0), nodes, steps, livenessSteps, values.quiet);
    return soak(count('seeds', values.seeds ?? '100', 1), count('from', values.from, 0), nodes, steps, livenessSteps);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n\n${usage}`);
    return 2;
  }
}

function replay(seed: number, nodes: number, steps: number, livenessSteps: number, quiet: boolean): number {
  const log = quiet ? undefined : (line: string): void => void process.stdout.write(`${line}\n`);
  const res = runSimulation({ seed, nodes, steps, livenessSteps, log });
  process.stdout.write(`${res.ok ? 'PASS' : 'FAIL'} seed=${seed} nodes=${nodes} ${JSON.stringify(res.stats)}\n`);
  if (!res.ok) process.stdout.write(`${res.error}\n`);
  return res.ok ? 0 : 1;
}

function soak(seeds: number, from: number, nodes: number, steps: number, livenessSteps: number): number {
  let failed = 0;
  const t0 = performance.now();
  for (let seed = from; seed < from + seeds; seed++) {
    const res = runSimulation({ seed, nodes, steps, livenessSteps });
    if (!res.ok) {
      failed++;
      process.stdout.write(`FAIL seed=${seed}: ${res.error?.split('\n')[0]}\n  replay: ${replayCommand(seed, nodes, steps)}\n`);
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  process.stdout.write(`${seeds - failed}/${seeds} seeds passed (${nodes} nodes, ${steps} steps) in ${secs}s\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
