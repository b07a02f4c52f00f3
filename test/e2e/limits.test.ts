// Connection limits on real processes: the query buffer limit and the idle timeout.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection, resp, sleep, startKeymesh, type ServerProcess } from '../helpers/process.js';

const queryBufferLimitBytes = 1024 * 1024;

describe('client-query-buffer-limit', { timeout: 60_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startKeymesh({ args: ['--client-query-buffer-limit', String(queryBufferLimitBytes)] });
  });

  after(async () => {
    await server?.stop();
  });

  it('closes a client whose unfinished request outgrows the limit; the server lives on', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      // A bulk announced at 8 MB (under proto-max-bulk-len) but never finished.
      await conn.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${8 * queryBufferLimitBytes}\r\n`);
      const chunk = Buffer.alloc(64 * 1024, 'q');
      for (let sent = 0; sent < 4 * queryBufferLimitBytes && !conn.closed; sent += chunk.length) {
        await conn.write(chunk).catch(() => undefined);
      }
      await conn.waitClosed();
      assert.equal(conn.text(), '', 'Redis closes without a reply here');
    } finally {
      conn.destroy();
    }
    const after = await RawConnection.open(server.port);
    try {
      assert.equal(await after.request(resp('PING').toString('latin1')), '+PONG\r\n');
    } finally {
      after.destroy();
    }
  });

  it('accepts a complete request under the limit', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      const value = Buffer.alloc(queryBufferLimitBytes / 2, 'v');
      assert.equal(await conn.request(resp('SET', 'half', value).toString('latin1')), '+OK\r\n');
    } finally {
      conn.destroy();
    }
  });
});

describe('timeout (idle clients)', { timeout: 60_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startKeymesh({ args: ['--timeout', '1'] });
  });

  after(async () => {
    await server?.stop();
  });

  it('closes an idle client after about a second, and keeps an active one', async () => {
    const idle = await RawConnection.open(server.port);
    const active = await RawConnection.open(server.port);
    try {
      const start = Date.now();
      let stop = false;
      const pinger = (async () => {
        while (!stop) {
          assert.equal(await active.request(resp('PING').toString('latin1')), '+PONG\r\n');
          await sleep(250);
        }
      })();
      await idle.waitClosed(5000);
      const idleMs = Date.now() - start;
      assert.ok(idleMs >= 900 && idleMs <= 3500, `idle client closed after ${idleMs} ms`);
      // Keep the active client busy for well past the timeout.
      await sleep(Math.max(0, 2500 - idleMs));
      stop = true;
      await pinger;
      assert.equal(active.closed, false, 'an active client was closed');
    } finally {
      idle.destroy();
      active.destroy();
    }
  });
});
