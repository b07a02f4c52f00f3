// Replay one simulator seed verbosely, or soak many:
//   node dist/test/sim/cli.js --seed 17 [--nodes 5] [--steps 2000] [--liveness 600]
//   node dist/test/sim/cli.js --seeds 1000 [--from 1] [--nodes 3]
import { parseArgs } from 'node:util';
import { DEFAULT_LIVENESS_STEPS, DEFAULT_STEPS, replayCommand, runSimulation } from './sim.js';

function main(): number {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      seeds: { type: 'string' },
      from: { type: 'string', default: '1' },
      nodes: { type: 'string', default: '3' },
      steps: { type: 'string', default: String(DEFAULT_STEPS) },
      liveness: { type: 'string', default: String(DEFAULT_LIVENESS_STEPS) },
      quiet: { type: 'boolean', default: false },
    },
  });
  const nodes = Number(values.nodes);
  const steps = Number(values.steps);
  const livenessSteps = Number(values.liveness);
  if (values.seed !== undefined) {
    const seed = Number(values.seed);
    const log = values.quiet ? undefined : (line: string): void => void process.stdout.write(`${line}\n`);
    const res = runSimulation({ seed, nodes, steps, livenessSteps, log });
    process.stdout.write(`${res.ok ? 'PASS' : 'FAIL'} seed=${seed} nodes=${nodes} ${JSON.stringify(res.stats)}\n`);
    if (!res.ok) process.stdout.write(`${res.error}\n`);
    return res.ok ? 0 : 1;
  }
  const count = Number(values.seeds ?? '100');
  const from = Number(values.from);
  let failed = 0;
  const t0 = performance.now();
  for (let seed = from; seed < from + count; seed++) {
    const res = runSimulation({ seed, nodes, steps, livenessSteps });
    if (!res.ok) {
      failed++;
      process.stdout.write(`FAIL seed=${seed}: ${res.error?.split('\n')[0]}\n  replay: ${replayCommand(seed, nodes, steps)}\n`);
    }
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  process.stdout.write(`${count - failed}/${count} seeds passed (${nodes} nodes, ${steps} steps) in ${secs}s\n`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = main();
