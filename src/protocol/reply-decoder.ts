// The incremental RESP2 + RESP3 *reply* decoder, for our own client (CLI, benchmarks,
// tests). The server's request decoder is a different animal (decoder.ts): requests
// are flat lists of bulk strings, replies are trees of a dozen types.
//
// Bytes in, values out. Lengths come from headers, never from searching for CRLF
// inside a payload. An aggregate split across reads keeps its decoded elements on
// a stack of frames, so nothing is parsed twice; bytes that cannot complete the
// element being waited for are queued and joined once, when enough have arrived.

/** One decoded reply. Simple strings (`+`) carry a JS string, bulk strings (`$`) a Buffer. */
export type RespValue =
  | { type: 'string'; value: Buffer | string }
  | { type: 'error'; message: string }
  | { type: 'int'; value: number | bigint }
  | { type: 'null' }
  | { type: 'double'; value: number; text: string }
  | { type: 'bool'; value: boolean }
  | { type: 'verbatim'; format: string; value: Buffer }
  | { type: 'bignum'; value: bigint }
  | { type: 'array'; items: RespValue[] }
  | { type: 'set'; items: RespValue[] }
  | { type: 'push'; items: RespValue[] }
  | { type: 'map'; entries: [RespValue, RespValue][] }
  /** RESP3 attributes (`|`) and the reply they annotate. */
  | { type: 'attribute'; entries: [RespValue, RespValue][]; value: RespValue };

/** The server sent something that is not RESP; the connection cannot be trusted afterwards. */
export class ReplyProtocolError extends Error {
  constructor(detail: string) {
    super(`Protocol error: ${detail}`);
    this.name = 'ReplyProtocolError';
  }
}

export interface ReplyDecoderLimits {
  /** Largest bulk payload accepted; guards against allocating for a garbage header. */
  maxBulkBytes: number;
  /** Most elements one aggregate may declare. */
  maxAggregateLength: number;
}

const defaultLimits: ReplyDecoderLimits = Object.freeze({
  maxBulkBytes: 4 * 1024 * 1024 * 1024 - 1,
  maxAggregateLength: 2 ** 31 - 1,
});

const CR = 0x0d;
const LF = 0x0a;

type AggregateKind = 'array' | 'set' | 'push' | 'map' | 'attribute';

/** An aggregate being filled: its elements so far and how many are still to come. */
interface Frame {
  kind: AggregateKind;
  items: RespValue[];
  remaining: number;
}

/** A bulk-style payload (`$`, `!`, `=`) whose header was read but whose bytes have not all arrived. */
interface PendingBulk {
  prefix: number;
  length: number;
}

const aggregateKinds: Record<number, AggregateKind> = {
  0x2a: 'array', // *
  0x7e: 'set', // ~
  0x3e: 'push', // >
  0x25: 'map', // %
  0x7c: 'attribute', // |
};

const nullValue: RespValue = Object.freeze({ type: 'null' });
const emptyBuffer = Buffer.alloc(0);

/** Returned by `element` when the bytes it needs have not arrived yet. */
const incomplete = Symbol('incomplete');
/** Returned by `element` when it opened an aggregate that has elements to come. */
const opened = Symbol('opened');

export class ReplyDecoder {
  private buf: Buffer = emptyBuffer;
  private pos = 0;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  /** Bytes needed from `pos` before parsing can progress; 0 while waiting for a line end. */
  private wantBytes = 0;
  private readonly stack: Frame[] = [];
  private bulk: PendingBulk | null = null;
  private readonly limits: ReplyDecoderLimits;

  constructor(limits: Partial<ReplyDecoderLimits> = {}) {
    this.limits = { ...defaultLimits, ...limits };
  }

  /** Queues received bytes; call `next()` until it returns undefined. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
  }

  /** Bytes received but not yet part of a returned value. */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.queuedBytes;
  }

  /** The next complete reply, or undefined until more bytes arrive. Throws ReplyProtocolError. */
  next(): RespValue | undefined {
    this.join();
    for (;;) {
      const v = this.element();
      if (v === incomplete) return undefined;
      if (v === opened) continue;
      const done = this.attach(v);
      if (done !== undefined) {
        if (this.pos === this.buf.length) this.release();
        return done;
      }
    }
  }

  /** Joins queued chunks once they can satisfy what the parser waits for. */
  private join(): void {
    if (this.queuedBytes === 0) return;
    const have = this.buf.length - this.pos;
    if (this.wantBytes > 0 && have + this.queuedBytes < this.wantBytes) return;
    const parts = have > 0 ? [this.buf.subarray(this.pos), ...this.queue] : this.queue;
    this.buf = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have + this.queuedBytes);
    this.pos = 0;
    this.queue = [];
    this.queuedBytes = 0;
  }

  /** Drops the reference to a fully consumed chunk so it can be collected. */
  private release(): void {
    this.buf = emptyBuffer;
    this.pos = 0;
  }

  /** Adds a finished value to the open aggregate; returns it when it completes a top-level reply. */
  private attach(v: RespValue): RespValue | undefined {
    let value = v;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (top === undefined) return value;
      top.items.push(value);
      if (--top.remaining > 0) return undefined;
      this.stack.pop();
      value = finish(top);
    }
  }

  /**
   * Parses one element at `pos`: a whole scalar, or an aggregate header (pushing a
   * frame). Consumes nothing when incomplete.
   */
  private element(): RespValue | typeof incomplete | typeof opened {
    if (this.bulk !== null) return this.bulkBody(this.bulk);
    const buf = this.buf;
    const start = this.pos;
    if (start >= buf.length) return this.waitLine();
    const lf = buf.indexOf(LF, start);
    if (lf === -1) return this.waitLine();
    if (lf === start || buf[lf - 1] !== CR) throw new ReplyProtocolError('line not terminated by CRLF');
    const prefix = buf[start]!;
    const line = buf.toString('latin1', start + 1, lf - 1);
    this.pos = lf + 1;
    this.wantBytes = 0;
    switch (prefix) {
      case 0x2b: // +
        return { type: 'string', value: line };
      case 0x2d: // -
        return { type: 'error', message: line };
      case 0x3a: // :
        return { type: 'int', value: parseInteger(line) };
      case 0x5f: // _
        return nullValue;
      case 0x2c: // ,
        return { type: 'double', value: parseDouble(line), text: line };
      case 0x23: // #
        if (line !== 't' && line !== 'f') throw new ReplyProtocolError(`bad boolean '${line}'`);
        return { type: 'bool', value: line === 't' };
      case 0x28: // (
        return { type: 'bignum', value: parseBigInteger(line) };
      case 0x24: // $
      case 0x21: // !
      case 0x3d: // =
        return this.bulkHeader(prefix, line);
      default: {
        const kind = aggregateKinds[prefix];
        if (kind === undefined) throw new ReplyProtocolError(`unknown reply type byte 0x${prefix.toString(16).padStart(2, '0')}`);
        return this.aggregateHeader(kind, line);
      }
    }
  }

  private waitLine(): typeof incomplete {
    this.wantBytes = 0;
    return incomplete;
  }

  private bulkHeader(prefix: number, line: string): RespValue | typeof incomplete {
    const length = parseLength(line, this.limits.maxBulkBytes);
    if (length === -1) return nullValue;
    this.bulk = { prefix, length };
    return this.bulkBody(this.bulk);
  }

  private bulkBody(bulk: PendingBulk): RespValue | typeof incomplete {
    const end = this.pos + bulk.length;
    if (end + 2 > this.buf.length) {
      this.wantBytes = bulk.length + 2;
      return incomplete;
    }
    if (this.buf[end] !== CR || this.buf[end + 1] !== LF) throw new ReplyProtocolError('bulk payload not followed by CRLF');
    // A view, not a copy: the chunk it lives in is dropped by the decoder once consumed.
    const payload = this.buf.subarray(this.pos, end);
    this.pos = end + 2;
    this.wantBytes = 0;
    this.bulk = null;
    return bulkValue(bulk.prefix, payload);
  }

  private aggregateHeader(kind: AggregateKind, line: string): RespValue | typeof opened {
    const n = parseLength(line, this.limits.maxAggregateLength);
    if (n === -1) return nullValue;
    const count = kind === 'map' ? n * 2 : kind === 'attribute' ? n * 2 + 1 : n;
    if (count === 0) return finish({ kind, items: [], remaining: 0 });
    this.stack.push({ kind, items: [], remaining: count });
    return opened;
  }
}

function bulkValue(prefix: number, payload: Buffer): RespValue {
  if (prefix === 0x24) return { type: 'string', value: payload };
  if (prefix === 0x21) return { type: 'error', message: payload.toString('latin1') };
  // Verbatim: a three-letter format, a colon, then the text.
  if (payload.length < 4 || payload[3] !== 0x3a) throw new ReplyProtocolError('verbatim string without a format');
  return { type: 'verbatim', format: payload.toString('latin1', 0, 3), value: payload.subarray(4) };
}

function pairs(items: RespValue[], count: number): [RespValue, RespValue][] {
  const out: [RespValue, RespValue][] = [];
  for (let i = 0; i + 1 < count; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
}

function finish(f: Frame): RespValue {
  switch (f.kind) {
    case 'map':
      return { type: 'map', entries: pairs(f.items, f.items.length) };
    case 'attribute':
      return { type: 'attribute', entries: pairs(f.items, f.items.length - 1), value: f.items[f.items.length - 1]! };
    default:
      return { type: f.kind, items: f.items };
  }
}

const integerPattern = /^-?\d+$/;

function parseInteger(s: string): number | bigint {
  if (!integerPattern.test(s)) throw new ReplyProtocolError(`bad integer '${s}'`);
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : BigInt(s);
}

function parseBigInteger(s: string): bigint {
  if (!integerPattern.test(s)) throw new ReplyProtocolError(`bad big number '${s}'`);
  return BigInt(s);
}

/** A length header: -1 (null) or 0..max. */
function parseLength(s: string, max: number): number {
  if (s === '-1') return -1;
  if (!/^\d+$/.test(s)) throw new ReplyProtocolError(`bad length '${s}'`);
  const n = Number(s);
  if (n > max) throw new ReplyProtocolError(`length ${s} over the limit of ${max}`);
  return n;
}

function parseDouble(s: string): number {
  switch (s.toLowerCase()) {
    case 'inf':
    case '+inf':
      return Infinity;
    case '-inf':
      return -Infinity;
    case 'nan':
    case '-nan':
      return NaN;
  }
  const x = Number(s);
  if (s === '' || Number.isNaN(x)) throw new ReplyProtocolError(`bad double '${s}'`);
  return x;
}
