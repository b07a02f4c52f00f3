import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection, startNodeFloor } from '../helpers/process.js';

describe('the benchmark floor server (bench/node-floor-server.ts)', () => {
  it('answers each request of a pipeline once, however the packets split it', async () => {
    const server = await startNodeFloor();
    const conn = await RawConnection.open(server.port);
    try {
      const requests = '*3\r\n$3\r\nSET\r\n$16\r\nkey:__rand_int__\r\n$3\r\nxxx\r\n'.repeat(2) + '*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n';
      conn.write(requests.slice(0, 30));
      conn.write(requests.slice(30));
      await conn.waitFor((b) => b.length >= 3 * '+PONG\r\n'.length, 'three replies');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(conn.take(), '+PONG\r\n'.repeat(3));
    } finally {
      conn.destroy();
      await server.stop();
    }
  });
});
