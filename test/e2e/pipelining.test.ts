// Pipelining on a real process: many requests in one write, and requests cut into
// one-byte writes, all answered completely and in order.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection, resp, startKeymesh, type ServerProcess } from '../helpers/process.js';

/** SET k<i> v<i>, GET k<i>, and PING <i> for each i: requests and the exact replies expected. */
function workload(prefix: string, count: number): { requests: Buffer; replies: string; commands: number } {
  const reqs: Buffer[] = [];
  let replies = '';
  for (let i = 0; i < count; i++) {
    const key = `${prefix}:${i}`;
    const value = `value-${i}-${'x'.repeat(i % 37)}`;
    reqs.push(resp('SET', key, value), resp('GET', key), resp('PING', String(i)));
    replies += `+OK\r\n$${value.length}\r\n${value}\r\n$${String(i).length}\r\n${i}\r\n`;
  }
  return { requests: Buffer.concat(reqs), replies, commands: count * 3 };
}

describe('pipelining', { timeout: 60_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    server = await startKeymesh();
  });

  after(async () => {
    await server?.stop();
  });

  it('answers 10,000 commands sent in one write, in order', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      const w = workload('one-write', 3334);
      assert.ok(w.commands >= 10_000);
      await conn.write(w.requests);
      await conn.waitForBytes(w.replies.length, 30_000);
      assert.equal(conn.text(), w.replies);
    } finally {
      conn.destroy();
    }
  });

  it('answers inline commands pipelined in one write, in order', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      let lines = '';
      let expected = '';
      for (let i = 0; i < 2000; i++) {
        lines += `SET inline:${i} ${i}\nGET inline:${i}\n`;
        expected += `OK\n${i}\n`;
      }
      await conn.write(lines);
      await conn.waitForBytes(expected.length, 30_000);
      assert.equal(conn.text(), expected);
    } finally {
      conn.destroy();
    }
  });

  it('answers requests split one byte per write', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      const w = workload('byte-split', 100);
      for (let i = 0; i < w.requests.length; i++) await conn.write(w.requests.subarray(i, i + 1));
      await conn.waitForBytes(w.replies.length, 30_000);
      assert.equal(conn.text(), w.replies);
    } finally {
      conn.destroy();
    }
  });

  it('answers a value split across many writes at odd boundaries', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      const value = Buffer.alloc(200_000, 'abc\r\n');
      const req = Buffer.concat([resp('SET', 'split', value), resp('GET', 'split')]);
      for (let at = 0; at < req.length; at += 7919) await conn.write(req.subarray(at, at + 7919));
      const expected = '+OK\r\n' + `$${value.length}\r\n` + value.toString('latin1') + '\r\n';
      await conn.waitForBytes(expected.length, 30_000);
      assert.ok(conn.text() === expected, 'reply differs from the value sent');
    } finally {
      conn.destroy();
    }
  });
});
