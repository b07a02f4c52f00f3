// The floor under any server written for Node: a node:net server that answers every
// RESP request with one fixed status reply and does no other work — no parsing, no
// keyspace, no reply encoding. The single-node benchmark runs it beside KeyMesh and
// Redis, so the table shows how much of KeyMesh's distance to Redis is Node's own
// socket path (libuv, streams, one write per packet) rather than KeyMesh's code.
//
//   node dist/bench/node-floor-server.js --port 7000
//
// Not a RESP server: it counts requests by their leading '*', which redis-benchmark's
// keys and values (and a PING) never contain.

import net from 'node:net';

const portAt = process.argv.indexOf('--port');
const port = portAt === -1 ? Number.NaN : Number(process.argv[portAt + 1]);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node-floor-server.js --port <port>');
  process.exit(2);
}

const reply = '+PONG\r\n';
const star = 0x2a;

net
  .createServer((socket) => {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      let requests = 0;
      for (let i = 0; i < chunk.length; i++) if (chunk[i] === star) requests++;
      if (requests > 0) socket.write(requests === 1 ? reply : reply.repeat(requests), 'latin1');
    });
    socket.on('error', () => {});
  })
  .listen(port, '127.0.0.1');
