// Micro-benchmark of the request decoder on its hot path: a pipeline of small
// SET/GET requests arriving in socket-sized chunks.
//
//   npx tsc -p tsconfig.json && node dist/bench/decoder.bench.js [requests] [chunkBytes]
//
// Prints requests decoded per second for RESP and for inline input. Each
// round decodes the whole pipeline with a fresh decoder; the best and median
// rounds are reported, since the first rounds include JIT warm-up. For scale,
// the same RESP bytes also go through redis-parser (ioredis's reply parser,
// present as ioredis's dependency) in the same run, so a noisy machine skews
// both alike. It is not a like-for-like rival: it decodes to UTF-8 strings and
// checks none of our limits.

import { createRequire } from 'node:module';

import { RequestDecoder } from '../src/protocol/decoder.js';
import { countArg } from './results.js';

const usage = 'usage: node dist/bench/decoder.bench.js [requests] [chunkBytes]';
const requestCount = countArg(0, 1_000_000, usage);
const chunkBytes = countArg(1, 64 * 1024, usage);
const rounds = 7;

function respPipeline(n: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < n; i += 2) {
    const key = 'key:' + i;
    parts.push(`*3\r\n$3\r\nSET\r\n$${key.length}\r\n${key}\r\n$5\r\nvalue\r\n`);
    parts.push(`*2\r\n$3\r\nGET\r\n$${key.length}\r\n${key}\r\n`);
  }
  return Buffer.from(parts.join(''), 'latin1');
}

function inlinePipeline(n: number): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < n; i += 2) parts.push(`SET key:${i} value\r\nGET key:${i}\r\n`);
  return Buffer.from(parts.join(''), 'latin1');
}

/** Cuts `buf` into views of `size` bytes, as successive socket reads would deliver it. */
function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) out.push(buf.subarray(at, at + size));
  return out;
}

function decodeAll(input: readonly Buffer[]): number {
  const d = new RequestDecoder();
  let requests = 0;
  let argBytes = 0;
  for (const chunk of input) {
    d.push(chunk);
    for (let argv = d.next(); argv !== null; argv = d.next()) {
      requests++;
      // Touch the result so the work cannot be optimised away.
      argBytes += argv[argv.length - 1]!.length;
    }
  }
  if (argBytes === 0) throw new Error('nothing decoded');
  return requests;
}

/** The slice of redis-parser's interface used here; the package ships no types. */
interface ReplyParser {
  execute(chunk: Buffer): void;
}
type ReplyParserClass = new (options: {
  returnReply(reply: unknown): void;
  returnError(err: Error): void;
  returnFatalError?(err: Error): void;
}) => ReplyParser;

function loadRedisParser(): ReplyParserClass | null {
  try {
    return createRequire(import.meta.url)('redis-parser') as ReplyParserClass;
  } catch {
    return null;
  }
}

function decodeAllWith(Parser: ReplyParserClass, input: readonly Buffer[]): number {
  let requests = 0;
  const parser = new Parser({
    returnReply: () => {
      requests++;
    },
    returnError: (err) => {
      throw err;
    },
  });
  for (const chunk of input) parser.execute(chunk);
  return requests;
}

function run(label: string, pipeline: Buffer, decode: (input: readonly Buffer[]) => number = decodeAll): void {
  const input = chunks(pipeline, chunkBytes);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = process.hrtime.bigint();
    const n = decode(input);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n !== requestCount) throw new Error(`${label}: decoded ${n} requests, expected ${requestCount}`);
    rates.push(n / seconds);
  }
  rates.sort((a, b) => b - a);
  const fmt = (x: number): string => (x / 1e6).toFixed(2) + 'M';
  console.log(
    `${label.padEnd(22)} ${requestCount} requests, ${(pipeline.length / 1e6).toFixed(1)} MB in ${chunkBytes}-byte chunks: ` +
      `best ${fmt(rates[0]!)} req/s, median ${fmt(rates[rounds >> 1]!)} req/s`,
  );
}

console.log(`node ${process.version}`);
const resp = respPipeline(requestCount);
run('RequestDecoder RESP', resp);
run('RequestDecoder inline', inlinePipeline(requestCount));
const RedisParser = loadRedisParser();
if (RedisParser !== null) run('redis-parser RESP', resp, (input) => decodeAllWith(RedisParser, input));
else console.log('redis-parser not installed: no comparison');
