// A client that pipelines far more reply bytes than it reads must not make the server
// buffer them all: the server stops reading that client's requests while its output
// is backed up, stays responsive to others, and later delivers every reply intact.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawConnection, resp, sleep, startKeymesh, type ServerProcess } from '../helpers/process.js';

const valueBytes = 1024 * 1024;
const gets = 150;
const MiB = 1024 * 1024;

/** Checks a long reply stream chunk by chunk against a repeating record, holding no copy of it. */
class RepeatingStreamCheck {
  offset = 0;
  mismatchAt = -1;
  constructor(private readonly record: Buffer) {}

  feed(chunk: Buffer): void {
    if (this.mismatchAt >= 0) return;
    for (let i = 0; i < chunk.length; ) {
      const at = this.offset % this.record.length;
      const n = Math.min(chunk.length - i, this.record.length - at);
      if (chunk.compare(this.record, at, at + n, i, i + n) !== 0) {
        this.mismatchAt = this.offset;
        return;
      }
      i += n;
      this.offset += n;
    }
  }
}

/** A socket that reads nothing until resumed. */
function connectPaused(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.pause();
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}

describe('slow reader', { timeout: 60_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startKeymesh();
  });

  after(async () => {
    await server?.stop();
  });

  it('bounds server memory, serves others, then delivers every reply intact', async (t) => {
    const value = Buffer.alloc(valueBytes);
    for (let i = 0; i < value.length; i++) value[i] = (i * 7 + (i >> 10)) & 0xff;
    const control = await RawConnection.open(server.port);
    let slow: net.Socket | undefined;
    try {
      assert.equal(await control.request(resp('SET', 'big', value).toString('latin1')), '+OK\r\n');
      slow = await connectPaused(server.port);
      const reader = slow;
      const baselineRss = server.rssBytes();
      assert.ok(baselineRss !== undefined, 'cannot read the server RSS from /proc');

      const getBig = resp('GET', 'big');
      reader.write(Buffer.concat(Array.from({ length: gets }, () => getBig)));

      // Give the server time to fill every buffer it would fill; watch its memory meanwhile.
      let peakRss = baselineRss;
      for (let i = 0; i < 15; i++) {
        await sleep(100);
        peakRss = Math.max(peakRss, server.rssBytes() ?? 0);
      }
      const totalReplyBytes = gets * (valueBytes + 13);
      const growth = peakRss - baselineRss;
      t.diagnostic(`server RSS ${(baselineRss / MiB).toFixed(1)} MiB, peak +${(growth / MiB).toFixed(1)} MiB with ${(totalReplyBytes / MiB).toFixed(0)} MiB of replies unread`);
      assert.ok(growth < totalReplyBytes / 3, `server RSS grew by ${(growth / MiB).toFixed(1)} MiB for ${(totalReplyBytes / MiB).toFixed(0)} MiB of unread replies`);

      const t0 = Date.now();
      assert.equal(await control.request(resp('PING').toString('latin1')), '+PONG\r\n');
      assert.equal(await control.request(resp('SET', 'small', 'x').toString('latin1')), '+OK\r\n');
      assert.equal(await control.request(resp('GET', 'small').toString('latin1')), '$1\r\nx\r\n');
      assert.ok(Date.now() - t0 < 2000, `other clients waited ${Date.now() - t0} ms`);

      const record = Buffer.concat([Buffer.from(`$${valueBytes}\r\n`), value, Buffer.from('\r\n')]);
      const check = new RepeatingStreamCheck(record);
      const total = gets * record.length;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${check.offset} of ${total} reply bytes arrived`)), 30_000);
        reader.on('data', (chunk: Buffer) => {
          check.feed(chunk);
          if (check.mismatchAt >= 0 || check.offset >= total) {
            clearTimeout(timer);
            resolve();
          }
        });
        reader.once('close', () => {
          clearTimeout(timer);
          reject(new Error(`connection closed after ${check.offset} of ${total} reply bytes`));
        });
        reader.resume();
      });
      assert.equal(check.mismatchAt, -1, `reply stream differs at byte ${check.mismatchAt}`);
      assert.equal(check.offset, total);
    } finally {
      slow?.destroy();
      control.destroy();
    }
  });
});
