// Thousands of connections opened and closed: every one is forgotten afterwards
// (INFO's connected_clients returns to 1) and memory does not keep growing.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection, infoField, resp, startKeymesh, waitUntil, type ServerProcess } from '../helpers/process.js';

const batchSize = 100;
const MiB = 1024 * 1024;

/** Opens `count` connections in batches; each does a little work and leaves one of three ways. */
async function churn(port: number, count: number): Promise<void> {
  for (let done = 0; done < count; done += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, count - done) }, async (_, i) => {
      const conn = await RawConnection.open(port);
      const n = done + i;
      switch (n % 3) {
        case 0: // leaves abruptly mid-request
          await conn.write('*2\r\n$3\r\nGET\r\n$10\r\n12345');
          conn.destroy();
          break;
        case 1: // a request, then a polite close
          assert.equal(await conn.request(resp('SET', `churn:${n % 50}`, 'v').toString('latin1')), '+OK\r\n');
          conn.end();
          await conn.waitClosed();
          break;
        default: // QUIT, closed by the server
          await conn.write(resp('QUIT'));
          await conn.waitClosed();
      }
    });
    await Promise.all(batch);
  }
}

describe('connection churn', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let control: RawConnection;

  before(async () => {
    server = await startKeymesh();
    control = await RawConnection.open(server.port);
  });

  after(async () => {
    control?.destroy();
    await server?.stop();
  });

  async function connectedClients(): Promise<number> {
    const info = await control.request(resp('INFO', 'clients').toString('latin1'));
    return Number(infoField(info, 'connected_clients'));
  }

  it('forgets 3,000 closed connections and does not leak memory', async (t) => {
    await churn(server.port, 500);
    await waitUntil(async () => (await connectedClients()) === 1, 'connected_clients back to 1 after warm-up');
    const warmRss = server.rssBytes()!;

    await churn(server.port, 3000);
    await waitUntil(async () => (await connectedClients()) === 1, 'connected_clients back to 1');
    const info = await control.request(resp('INFO').toString('latin1'));
    assert.ok(Number(infoField(info, 'total_connections_received')) >= 3501, 'total_connections_received');

    const growth = server.rssBytes()! - warmRss;
    t.diagnostic(`server RSS ${(warmRss / MiB).toFixed(1)} MiB after warm-up, ${growth >= 0 ? '+' : ''}${(growth / MiB).toFixed(1)} MiB after 3,000 more connections`);
    assert.ok(growth < 40 * MiB, `RSS grew by ${(growth / MiB).toFixed(1)} MiB over 3,000 connections`);
    assert.equal(await control.request(resp('PING').toString('latin1')), '+PONG\r\n');
  });
});
