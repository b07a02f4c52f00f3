// Load generation over raw sockets, for the side-by-side benchmark: a bulk loader
// (millions of SETs in big pipelines) and a small redis-benchmark stand-in used when
// redis-benchmark is not installed. Both speak plain RESP, so they drive KeyMesh and
// Redis identically.

import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Requests written per pipeline window when loading keys. */
const loadBatchRequests = 10_000;
/** Bytes of one `+OK\r\n`. */
const okReplyBytes = 5;

export function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', noDelay: true });
    socket.once('connect', () => resolve(socket)).once('error', reject);
  });
}

function encodeSet(key: string, value: string): string {
  return `*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$${value.length}\r\n${value}\r\n`;
}

/**
 * SETs `key:0000000`…`key:<count-1>` to `valueBytes`-byte values, pipelining windows of
 * `loadBatchRequests` and waiting for each window's replies before sending the next.
 */
export async function loadKeys(port: number, count: number, valueBytes: number): Promise<number> {
  const socket = await connect(port);
  const value = 'v'.repeat(valueBytes);
  let received = 0;
  let waiting: { bytes: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  socket.on('data', (chunk: Buffer) => {
    // Anything but +OK would break the byte count; catch it early with a clear error.
    if (chunk[0] !== 0x2b && received % okReplyBytes === 0) waiting?.reject(new Error(`unexpected reply while loading: ${chunk.toString('latin1', 0, 200)}`));
    received += chunk.length;
    if (waiting !== null && received >= waiting.bytes) waiting.resolve();
  });
  socket.on('error', (e) => waiting?.reject(e));
  const start = performance.now();
  try {
    for (let first = 0; first < count; first += loadBatchRequests) {
      const last = Math.min(count, first + loadBatchRequests);
      let batch = '';
      for (let i = first; i < last; i++) batch += encodeSet(`key:${String(i).padStart(7, '0')}`, value);
      const expected = last * okReplyBytes;
      const done = new Promise<void>((resolve, reject) => {
        waiting = { bytes: expected, resolve, reject };
      });
      socket.write(batch, 'latin1');
      if (received < expected) await done;
    }
  } finally {
    socket.destroy();
  }
  return performance.now() - start;
}

export interface LoadResult {
  test: string;
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * A redis-benchmark stand-in: `clients` connections each sending pipelines of
 * `pipeline` requests (SET key:__rand_int__ or GET of it, as redis-benchmark's default
 * single key) until `requests` have been answered. Latency is per request, from the
 * write of its pipeline to the arrival of its reply.
 */
export async function runLoad(port: number, test: 'SET' | 'GET', requests: number, clients: number, pipeline: number): Promise<LoadResult> {
  const payload = 'x'.repeat(3);
  const one = test === 'SET' ? encodeSet('key:__rand_int__', payload) : `*2\r\n$3\r\nGET\r\n$16\r\nkey:__rand_int__\r\n`;
  const replyBytes = test === 'SET' ? okReplyBytes : `$3\r\n${payload}\r\n`.length;
  if (test === 'GET') await runLoad(port, 'SET', 1, 1, 1);
  const latenciesMs: number[] = [];
  let issued = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    const socket = await connect(port);
    let batch: { expected: number; got: number; sentAt: number; resolve: () => void; reject: (e: Error) => void } | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (batch === null) return;
      const before = Math.floor(batch.got / replyBytes);
      batch.got += chunk.length;
      const now = performance.now();
      for (let i = before; i < Math.floor(batch.got / replyBytes); i++) latenciesMs.push(now - batch.sentAt);
      if (batch.got >= batch.expected) batch.resolve();
    });
    socket.on('error', (e) => batch?.reject(e));
    try {
      while (issued < requests) {
        const n = Math.min(pipeline, requests - issued);
        issued += n;
        await new Promise<void>((resolve, reject) => {
          batch = { expected: n * replyBytes, got: 0, sentAt: performance.now(), resolve, reject };
          socket.write(one.repeat(n), 'latin1');
        });
      }
    } finally {
      socket.destroy();
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const elapsedS = (performance.now() - start) / 1000;
  latenciesMs.sort((a, b) => a - b);
  const pct = (p: number): number => latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(latenciesMs.length * p))] ?? 0;
  return { test, rps: requests / elapsedS, p50Ms: pct(0.5), p99Ms: pct(0.99) };
}
