// clock-offset-ms moves a node's wall clock (fault injection) for everything that reads
// it: TIME, the absolute times writes are rewritten to, and expiry.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testServer } from '../helpers/harness.js';

test('CONFIG SET clock-offset-ms moves TIME, rewritten expiry times and expiry itself', () => {
  const { server, clock, client } = testServer({ 'enable-protected-configs': 'yes' });
  const t0 = clock.nowMs;
  assert.equal(client.run('CONFIG', 'SET', 'clock-offset-ms', '60000'), '+OK\r\n');
  assert.equal(client.run('CONFIG', 'GET', 'clock-offset-ms'), '*2\r\n$15\r\nclock-offset-ms\r\n$5\r\n60000\r\n');
  assert.equal(server.clock(), t0 + 60_000);
  const time = client.run('TIME');
  assert.match(time, new RegExp(`^\\*2\\r\\n\\$10\\r\\n${Math.floor((t0 + 60_000) / 1000)}\\r\\n`));
  client.run('SET', 'k', 'v', 'PX', '1000');
  assert.equal(client.run('PEXPIRETIME', 'k'), `:${t0 + 61_000}\r\n`);
  // Jumping back: the key's absolute expiry did not move, so it lives longer in local terms.
  assert.equal(client.run('CONFIG', 'SET', 'clock-offset-ms', '-5000'), '+OK\r\n');
  assert.equal(client.run('PTTL', 'k'), `:${66_000}\r\n`);
  clock.advance(66_001);
  assert.equal(client.run('GET', 'k'), '$-1\r\n');
  assert.match(client.run('CONFIG', 'SET', 'clock-offset-ms', 'soon'), /^-ERR CONFIG SET failed/);
});
