// Malformed and wrong requests on a real process. A protocol error is answered with
// Redis's text and the connection is closed (the stream cannot be re-synchronised);
// a command error keeps the connection. Neither disturbs other clients.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RawConnection, resp, startKeymesh, type ServerProcess } from '../helpers/process.js';

/** proto-max-bulk-len lowered to its minimum so an over-long bulk is cheap to send. */
const maxBulkBytes = 1024 * 1024;

describe('bad input', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  /** Connected throughout; must keep working while others misbehave. */
  let bystander: RawConnection;

  before(async () => {
    server = await startKeymesh({ args: ['--proto-max-bulk-len', String(maxBulkBytes)] });
    bystander = await RawConnection.open(server.port);
    assert.equal(await bystander.request(resp('SET', 'bystander', 'still here').toString('latin1')), '+OK\r\n');
  });

  after(async () => {
    bystander?.destroy();
    await server?.stop();
  });

  async function assertBystanderWorks(): Promise<void> {
    assert.equal(await bystander.request(resp('GET', 'bystander').toString('latin1')), '$10\r\nstill here\r\n');
  }

  /** Sends `input` on a fresh connection; expects exactly `-<error>\r\n` and then a close. */
  async function assertProtocolError(input: string | Buffer, error: RegExp): Promise<void> {
    const conn = await RawConnection.open(server.port);
    try {
      await conn.write(input);
      await conn.waitClosed();
      assert.match(conn.text(), error);
      await assertBystanderWorks();
    } finally {
      conn.destroy();
    }
  }

  it('non-numeric multibulk length: protocol error, then close', async () => {
    await assertProtocolError('*abc\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/);
  });

  it('negative bulk length: protocol error, then close', async () => {
    await assertProtocolError('*1\r\n$-5\r\n', /^-ERR Protocol error: invalid bulk length\r\n$/);
  });

  it('bulk longer than proto-max-bulk-len: protocol error, then close', async () => {
    await assertProtocolError(`*2\r\n$3\r\nGET\r\n$${maxBulkBytes + 1}\r\n`, /^-ERR Protocol error: invalid bulk length\r\n$/);
  });

  it('a bulk of exactly proto-max-bulk-len is accepted', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      const reply = await conn.request(resp('SET', 'max', Buffer.alloc(maxBulkBytes, 'm')).toString('latin1'));
      assert.equal(reply, '+OK\r\n');
    } finally {
      conn.destroy();
    }
  });

  // Redis 6 refused more than 1024*1024 arguments; Redis 7 allows up to INT_MAX and waits.
  // KeyMesh keeps a named maximum, so a stranger cannot make it reserve a huge argv.
  it('two million arguments: protocol error, then close', async () => {
    await assertProtocolError('*2000000\r\n', /^-ERR Protocol error: invalid multibulk length\r\n$/);
  });

  it("something other than '$' where a bulk belongs: protocol error, then close", async () => {
    await assertProtocolError('*1\r\n:5\r\n', /^-ERR Protocol error: expected '\$', got ':'\r\n$/);
  });

  it('replies to the valid requests before the bad one, then closes', async () => {
    await assertProtocolError(
      Buffer.concat([resp('PING'), resp('GET', 'bystander'), Buffer.from('*x\r\n')]),
      /^\+PONG\r\n\$10\r\nstill here\r\n-ERR Protocol error: invalid multibulk length\r\n$/,
    );
  });

  it('an unbalanced quote in an inline command: protocol error, then close', async () => {
    await assertProtocolError('SET k "unterminated\n', /^(-)?ERR Protocol error: unbalanced quotes in request\r?\n$/);
  });

  it('unknown command, wrong arity and not-an-integer keep the connection open', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      assert.equal(await conn.request(resp('NOSUCH', 'a', 'b').toString('latin1')), "-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n");
      assert.equal(await conn.request(resp('GET').toString('latin1')), "-ERR wrong number of arguments for 'get' command\r\n");
      assert.equal(await conn.request(resp('SET', 'k').toString('latin1')), "-ERR wrong number of arguments for 'set' command\r\n");
      assert.equal(await conn.request(resp('SET', 'text', 'abc').toString('latin1')), '+OK\r\n');
      assert.equal(await conn.request(resp('INCR', 'text').toString('latin1')), '-ERR value is not an integer or out of range\r\n');
      assert.equal(await conn.request(resp('EXPIRE', 'text', 'soon').toString('latin1')), '-ERR value is not an integer or out of range\r\n');
      assert.equal(await conn.request(resp('SET', 'k', 'v', 'EX', '0').toString('latin1')), "-ERR invalid expire time in 'set' command\r\n");
      assert.equal(await conn.request(resp('SET', 'k', 'v', 'BOGUS').toString('latin1')), '-ERR syntax error\r\n');
      assert.equal(await conn.request(resp('PING').toString('latin1')), '+PONG\r\n');
      assert.equal(conn.closed, false);
    } finally {
      conn.destroy();
    }
  });

  it('an empty multibulk and blank inline lines are skipped silently', async () => {
    const conn = await RawConnection.open(server.port);
    try {
      assert.equal(await conn.request('*0\r\n\r\n\n*1\r\n$4\r\nPING\r\n'), '+PONG\r\n');
    } finally {
      conn.destroy();
    }
  });
});
