// Redis's own tools against a real process: redis-cli and redis-benchmark.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { startKeymesh, type ServerProcess } from '../helpers/process.js';

const run = promisify(execFile);

function installed(tool: string): boolean {
  return spawnSync('which', [tool], { stdio: 'ignore' }).status === 0;
}

const noCli = installed('redis-cli') ? false : 'redis-cli not installed (apt-get install redis-tools)';
const noBenchmark = installed('redis-benchmark') ? false : 'redis-benchmark not installed (apt-get install redis-tools)';

describe('redis-cli and redis-benchmark', { skip: noCli, timeout: 90_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startKeymesh();
  });

  after(async () => {
    await server?.stop();
  });

  async function cli(...args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-p', String(server.port), ...args], { timeout: 10_000 });
    return stdout;
  }

  it('redis-cli set and get', async () => {
    assert.equal(await cli('set', 'a', 'b'), 'OK\n');
    assert.equal(await cli('get', 'a'), 'b\n');
    assert.equal(await cli('get', 'missing'), '\n');
    assert.equal(await cli('--no-raw', 'get', 'missing'), '(nil)\n');
    assert.equal(await cli('del', 'a'), '1\n');
  });

  it('redis-cli reads commands from stdin (pipe mode for scripts)', async () => {
    const r = spawnSync('redis-cli', ['-p', String(server.port)], { input: 'set piped yes\nget piped\n', encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'OK\nyes\n');
  });

  it('redis-benchmark -t set,get completes', { skip: noBenchmark }, async () => {
    const { stdout } = await run('redis-benchmark', ['-p', String(server.port), '-t', 'set,get', '-n', '2000', '-q'], { timeout: 60_000 });
    assert.match(stdout, /SET: [\d.]+ requests per second/);
    assert.match(stdout, /GET: [\d.]+ requests per second/);
  });
});
