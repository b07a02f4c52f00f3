// RESP through a real client library (ioredis) and a raw socket, against a real process:
// the everyday commands, exact binary round trips, and RESP3 after HELLO 3.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { RawConnection, resp, startKeymesh, type ServerProcess } from '../helpers/process.js';

describe('RESP with ioredis', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let redis: Redis;

  before(async () => {
    server = await startKeymesh();
    redis = new Redis({ port: server.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  });

  after(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('SET, GET and MGET', async () => {
    assert.equal(await redis.set('name', 'john'), 'OK');
    assert.equal(await redis.get('name'), 'john');
    assert.equal(await redis.get('missing'), null);
    assert.deepEqual(await redis.mget('name', 'missing', 'name'), ['john', null, 'john']);
  });

  it('INCR counts exactly up to the signed 64-bit limit, then refuses', async () => {
    assert.equal(await redis.incr('counter'), 1);
    assert.equal(await redis.incr('counter'), 2);
    await redis.set('big', '9223372036854775806');
    // The reply is beyond a JS number's precision; the stored text shows it exactly.
    await redis.incr('big');
    assert.equal(await redis.get('big'), '9223372036854775807');
    await assert.rejects(redis.incr('big'), /^ReplyError: ERR increment or decrement would overflow$/);
    await redis.set('text', 'abc');
    await assert.rejects(redis.incr('text'), /^ReplyError: ERR value is not an integer or out of range$/);
  });

  it('EXPIRE and TTL', async () => {
    await redis.set('temp', 'v');
    assert.equal(await redis.ttl('temp'), -1);
    assert.equal(await redis.ttl('missing'), -2);
    assert.equal(await redis.expire('temp', 100), 1);
    const ttl = await redis.ttl('temp');
    assert.ok(ttl === 100 || ttl === 99, `ttl ${ttl}`);
    assert.equal(await redis.expire('missing', 100), 0);
    await redis.set('short', 'v', 'PX', 50);
    const pttl = await redis.pttl('short');
    assert.ok(pttl > 0 && pttl <= 50, `pttl ${pttl}`);
    const deadline = Date.now() + 5000;
    while ((await redis.get('short')) !== null) assert.ok(Date.now() < deadline, 'key with PX 50 never expired');
    assert.equal(await redis.exists('short'), 0);
  });

  it('round-trips every byte value exactly', async () => {
    const all = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) all[i] = i;
    await redis.set('bytes', all);
    assert.deepEqual(await redis.getBuffer('bytes'), all);
    assert.equal(await redis.strlen('bytes'), 256);
  });

  it('round-trips CRLF inside values and binary keys', async () => {
    const v = Buffer.from('line1\r\nline2\r\n\r\n$5\r\n*2\r\n', 'latin1');
    const key = Buffer.from([0, 13, 10, 255, 32]);
    await redis.set(key, v);
    assert.deepEqual(await redis.getBuffer(key), v);
  });

  it('round-trips multi-byte UTF-8 with byte lengths', async () => {
    const text = 'héllo wörld – 日本語 🎉';
    await redis.set('utf8', text);
    assert.equal(await redis.get('utf8'), text);
    assert.equal(await redis.strlen('utf8'), Buffer.byteLength(text));
    assert.deepEqual(await redis.getBuffer('utf8'), Buffer.from(text, 'utf8'));
  });

  it('round-trips a 1 MB binary value', async () => {
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 131 + 7) & 0xff;
    await redis.set('big-binary', big);
    assert.deepEqual(await redis.getBuffer('big-binary'), big);
  });
});

describe('RESP on a raw socket', { timeout: 60_000 }, () => {
  let server: ServerProcess;
  let conn: RawConnection;

  before(async () => {
    server = await startKeymesh();
    conn = await RawConnection.open(server.port);
  });

  after(async () => {
    conn?.destroy();
    await server?.stop();
  });

  it('sends the exact RESP2 bytes', async () => {
    assert.equal(await conn.request('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n'), '+OK\r\n');
    assert.equal(await conn.request('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'), '$2\r\nv1\r\n');
    assert.equal(await conn.request('*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n'), '$-1\r\n');
    assert.equal(await conn.request('*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n'), ':1\r\n');
    await conn.request(resp('SET', 'n', '9223372036854775806').toString('latin1'));
    assert.equal(await conn.request(resp('INCR', 'n').toString('latin1')), ':9223372036854775807\r\n');
    assert.equal(await conn.request(resp('DECRBY', 'n', '-1').toString('latin1')), '-ERR increment or decrement would overflow\r\n');
  });

  it('switches to RESP3 after HELLO 3', async () => {
    const hello = await conn.request(resp('HELLO', '3').toString('latin1'));
    assert.match(hello, /^%\d+\r\n/);
    assert.ok(hello.includes('$5\r\nproto\r\n:3\r\n'), hello);
    assert.ok(hello.includes('$6\r\nserver\r\n'), hello);
    assert.equal(await conn.request(resp('GET', 'missing').toString('latin1')), '_\r\n');
    assert.equal(await conn.request(resp('SET', 'k', 'v').toString('latin1')), '+OK\r\n');
    assert.equal(await conn.request(resp('GET', 'k').toString('latin1')), '$1\r\nv\r\n');
    const back = await conn.request(resp('HELLO', '2').toString('latin1'));
    assert.match(back, /^\*\d+\r\n/);
    assert.equal(await conn.request(resp('GET', 'missing').toString('latin1')), '$-1\r\n');
  });
});
