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
// A test that hangs fails after --test-timeout instead of stalling CI. A file that never
// exits (a leaked handle: a test bug) is caught by the run's own deadline below, not by
// --test-force-exit: with it, a file's process may exit before its last results reach the
// runner, and those tests vanish from the report without a failure (nodejs/node#64833;
// seen here as 12 of 1,012 tests missing from one run).
const runDeadlineMs = 20 * 60_000;
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=180000', ...files],
  { stdio: 'inherit', timeout: runDeadlineMs, killSignal: 'SIGTERM' },
);
if (r.error !== undefined || r.signal !== null) {
  console.error(`test run stopped after ${runDeadlineMs / 60_000} minutes (${r.error?.message ?? r.signal}): a test file did not exit; look for a leaked handle`);
  process.exit(1);
}
process.exit(r.status ?? 1);
