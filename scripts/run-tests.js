#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node's built-in runner.
// Node 20's `--test` takes file paths, not globs, so we find them here.
// `node scripts/run-tests.js unit` runs only files whose path contains "unit".
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('../dist/test/', import.meta.url).pathname;
const filter = process.argv.slice(2);
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js') && (filter.length === 0 || filter.some((f) => p.includes(f)))) files.push(p);
  }
})(root);
if (files.length === 0) {
  console.error('no test files found under dist/test (did the build run?)');
  process.exit(1);
}
// A test that hangs fails after the timeout instead of stalling CI; each file exits once its
// tests are done even if a test leaked a handle (that is a test bug, not a reason to hang).
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', '--test-force-exit', ...files],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
