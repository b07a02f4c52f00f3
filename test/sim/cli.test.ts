import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('./cli.js', import.meta.url));

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('npm run sim: --help, a replayed seed, a short soak', () => {
  const help = run('--help');
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^usage: npm run sim -- \[options\]/);
  const one = run('--seed', '7', '--quiet');
  assert.equal(one.status, 0, one.stderr);
  assert.match(one.stdout, /^PASS seed=7 nodes=3 \{"elections":\d+/);
  const soak = run('--seeds', '3', '--from', '40', '--steps', '300');
  assert.equal(soak.status, 0, soak.stderr);
  assert.match(soak.stdout, /^3\/3 seeds passed \(3 nodes, 300 steps\)/);
});

test('npm run sim: an unknown option or a bad number is a usage error, not a stack trace', () => {
  for (const args of [['--start', '5'], ['--nodes', 'x'], ['--seeds', '0'], ['--seed', '-1']]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /usage: npm run sim/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
