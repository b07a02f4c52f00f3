// Load generation for the side-by-side benchmark: a bulk loader over a raw socket
// (millions of SETs in big pipelines), and `keymesh bench`'s load as the stand-in used
// when redis-benchmark is not installed. Both speak plain RESP, so they drive KeyMesh and
// Redis identically.

import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { LoadRun, type LoadOptions } from '../src/cli/bench-load.js';

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
 * A redis-benchmark stand-in, when it is not installed: `keymesh bench`'s load (SET or
 * GET of redis-benchmark's single key `key:__rand_int__`, 3-byte values).
 */
export async function runLoad(port: number, test: 'SET' | 'GET', requests: number, clients: number, pipeline: number): Promise<LoadResult> {
  const opts: LoadOptions = { host: '127.0.0.1', port, db: 0, clients, requests, pipeline, dataSize: 3, keyspaceLen: null };
  // GET reads the value the SET test wrote, as in redis-benchmark's default run.
  if (test === 'GET') await new LoadRun({ ...opts, clients: 1, requests: 1, pipeline: 1 }, 'set').run();
  const r = await new LoadRun(opts, test === 'SET' ? 'set' : 'get').run();
  if (r.errors > 0) throw new Error(`${test}: ${r.errors} error replies; the first: ${r.firstError}`);
  return { test, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms };
}
