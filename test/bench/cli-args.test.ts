import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process.js';

/** Runs a bench entry point; a flag mistake must end it at once, before any server starts. */
function bench(script: string, ...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'bench', script), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bench entry points: flags', () => {
  for (const [script, usage] of [
    ['run.js', /^npm run bench -- \[options\]/m],
    ['durability.js', /^node dist\/bench\/durability\.js \[options\]/m],
    ['cluster.js', /^node dist\/bench\/cluster\.js \[options\]/m],
  ] as const) {
    it(`${script}: --help prints the usage; an unknown flag or a stray argument is refused with it`, () => {
      const help = bench(script, '--help');
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, usage);
      for (const args of [['--bogus'], ['stray']]) {
        const r = bench(script, ...args);
        assert.equal(r.status, 2, `${script} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, usage);
        assert.equal(r.stdout, '', 'nothing ran');
        assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
      }
    });
  }

  it('bad values are refused the same way', () => {
    for (const [script, ...args] of [
      ['run.js', '--only', 'x'],
      ['run.js', '--rounds', '0'],
      ['durability.js', '--only', 'x'],
      ['durability.js', '--runs', 'two'],
      ['wal-log.bench.js', 'x'],
      ['decoder.bench.js', '1000', '0'],
    ]) {
      const r = bench(script!, ...args);
      assert.equal(r.status, 2, `${script} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^(npm run bench|node dist\/bench\/|usage: node dist\/bench\/)/m);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
});
