// The incremental request decoder: received bytes in, argv lists out.
//
// Behaviour follows Redis 7's request parsing (error texts, limits, the
// tighter limits before AUTH, `*0` / `*-1` skipped, inline and RESP mixed on
// one connection). Performance shapes the state:
//
// - Pipelined small requests are decoded in place from the received chunk with
//   a cursor; numbers are parsed from bytes; the only allocations per request
//   are the argv array and its strings.
// - A request split across chunks keeps its decoded arguments and the
//   position reached, so nothing is parsed twice.
// - Bytes that arrive while the decoder cannot progress are queued, not
//   joined. It records what it waits for (a byte count for bulk data, a
//   terminator for a header or inline line) and joins the queue once, when
//   that has arrived. A 100 MB value in 64 KB chunks is copied once, not
//   1600 times.

import { ProtocolError } from './errors.js';
import { splitInlineArgs } from './inline.js';
import { latin1 } from './latin1.js';

export interface DecoderLimits {
  /** proto-max-bulk-len, default 512 MiB */
  maxBulkBytes: number;
  /** max args in one multibulk, default 1024*1024 */
  maxArgs: number;
  /** longest inline line / header line, default 64 KiB (Redis PROTO_INLINE_MAX_SIZE) */
  maxInlineBytes: number;
  /** client-query-buffer-limit: bytes buffered for one unfinished request, default 1 GiB */
  maxQueryBufferBytes: number;
}

export const defaultDecoderLimits: DecoderLimits = Object.freeze({
  maxBulkBytes: 512 * 1024 * 1024,
  maxArgs: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
  maxQueryBufferBytes: 1024 * 1024 * 1024,
});

/** Redis's fixed limits for a client that has not yet authenticated, so a stranger cannot make us buffer much. */
const unauthArgsMax = 10;
const unauthBulkBytesMax = 16384;

/**
 * The client sent more than `maxQueryBufferBytes` for one request. Not a
 * ProtocolError: Redis sends no reply here, it logs and closes the connection.
 */
export class QueryBufferLimitError extends Error {
  readonly limitBytes: number;
  readonly requestBytes: number;
  constructor(limitBytes: number, requestBytes: number) {
    super(`query buffer limit exceeded: ${requestBytes} bytes buffered for one request, limit ${limitBytes}`);
    this.name = 'QueryBufferLimitError';
    this.limitBytes = limitBytes;
    this.requestBytes = requestBytes;
  }
}

const LF = 0x0a;
const CR = 0x0d;
const STAR = 0x2a;
const DOLLAR = 0x24;
const DIGIT0 = 0x30;
const DIGIT9 = 0x39;
const MINUS = 0x2d;

/** Returned by parseLength when the digits are not a valid long long in Redis's string2ll sense. */
const notANumber = Number.NaN;
/** string2ll's length cap (LONG_STR_SIZE): at most 20 characters, "-9223372036854775808". */
const longStrSizeMax = 20;
const llongMaxDigits = '9223372036854775807';
const llongMinDigits = '9223372036854775808';

const emptyBuffer = Buffer.alloc(0);

/**
 * Parses `buf[start, end)` with the strictness of Redis's string2ll: optional
 * '-', then "0" alone or a digit 1-9 and more digits; no '+', spaces or
 * leading zeros; must fit a signed 64-bit integer. NaN if invalid.
 */
function parseLength(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  if (len === 0 || len > longStrSizeMax) return notANumber;
  if (len === 1 && buf[start] === DIGIT0) return 0;
  let p = start;
  const negative = buf[p] === MINUS;
  if (negative) p++;
  if (p === end) return notANumber;
  let c = buf[p]!;
  if (c <= DIGIT0 || c > DIGIT9) return notANumber;
  let value = 0;
  for (; p < end; p++) {
    c = buf[p]!;
    if (c < DIGIT0 || c > DIGIT9) return notANumber;
    value = value * 10 + (c - DIGIT0);
  }
  const digits = negative ? len - 1 : len;
  if (digits > 19) return notANumber;
  if (digits === 19) {
    // Beyond 2^53 a double cannot tell whether we overflowed a long long; compare the digits.
    const bound = negative ? llongMinDigits : llongMaxDigits;
    const text = buf.toString('latin1', negative ? start + 1 : start, end);
    if (text > bound) return notANumber;
  }
  return negative ? -value : value;
}

export class RequestDecoder {
  /** When false (client has not authenticated and a password is set) use Redis's tighter unauthenticated limits: multibulk length > 10 → "unauthenticated multibulk length", bulk length > 16384 → "unauthenticated bulk length". */
  authenticated = true;
  /** True if the request last returned by next() was an inline (plain-text) one. */
  lastWasInline = false;

  private readonly maxBulkBytes: number;
  private readonly maxArgs: number;
  private readonly maxInlineBytes: number;
  private readonly maxQueryBufferBytes: number;

  /** The bytes being decoded; everything before `pos` is consumed. */
  private buf: Buffer = emptyBuffer;
  private pos = 0;
  /** Chunks received while stalled (or not yet asked for), joined onto buf[pos..] only when needed. */
  private queue: Buffer[] = [];
  private queuedBytes = 0;

  /**
   * When stalled, next() returns null without looking at the bytes until
   * push() sees that what the decoder waits for has arrived: `stallBytes`
   * buffered bytes counted from `pos`, or a chunk holding `stallTerminator`
   * (-1 when not waiting for one).
   */
  private stalled = false;
  private stallBytes = 0;
  private stallTerminator = -1;

  /** The multibulk being decoded: arguments still to come (0 between requests), and those decoded so far. */
  private argsLeft = 0;
  private argv: string[] = [];
  /** Decoded argument bytes of the unfinished request, counted against the query buffer limit. */
  private argvBytes = 0;
  /** Length of the bulk whose data comes next, or -1 when its `$` header comes next. */
  private bulkLen = -1;

  constructor(limits?: Partial<DecoderLimits>) {
    this.maxBulkBytes = limit('maxBulkBytes', limits?.maxBulkBytes);
    this.maxArgs = limit('maxArgs', limits?.maxArgs);
    this.maxInlineBytes = limit('maxInlineBytes', limits?.maxInlineBytes);
    this.maxQueryBufferBytes = limit('maxQueryBufferBytes', limits?.maxQueryBufferBytes);
  }

  /** Bytes currently buffered and not yet decoded (for CLIENT LIST qbuf). */
  get bufferedBytes(): number {
    return this.buf.length - this.pos + this.queuedBytes;
  }

  /**
   * Appends received bytes. The caller is expected to drain next() until null
   * before pushing again, so what is buffered belongs to one unfinished request;
   * its decoded arguments count too, since they hold the same memory.
   */
  push(chunk: Buffer): void {
    const len = chunk.length;
    if (len === 0) return;
    const requestBytes = this.bufferedBytes + this.argvBytes + len;
    if (requestBytes > this.maxQueryBufferBytes) throw new QueryBufferLimitError(this.maxQueryBufferBytes, requestBytes);

    if (this.pos === this.buf.length && this.queuedBytes === 0) {
      // Everything before was consumed: decode straight from this chunk, no copy.
      this.buf = chunk;
      this.pos = 0;
    } else {
      this.queue.push(chunk);
      this.queuedBytes += len;
    }
    if (this.stalled && this.waitIsOver(chunk)) this.stalled = false;
  }

  private waitIsOver(chunk: Buffer): boolean {
    const buffered = this.bufferedBytes;
    if (this.stallTerminator < 0) return buffered >= this.stallBytes;
    if (chunk.indexOf(this.stallTerminator) !== -1) return true;
    // A line that outgrows its limit must be refused now, whether or not its terminator ever comes.
    if (this.stallTerminator === CR) return buffered > this.maxInlineBytes;
    // An inline line's trailing CR may belong to its terminator, so it does not count yet.
    const trailingCr = chunk[chunk.length - 1] === CR ? 1 : 0;
    return buffered - trailingCr > this.maxInlineBytes;
  }

  private stallForBytes(bytesFromPos: number): null {
    this.stalled = true;
    this.stallBytes = bytesFromPos;
    this.stallTerminator = -1;
    return null;
  }

  private stallForTerminator(terminator: number): null {
    this.stalled = true;
    this.stallTerminator = terminator;
    return null;
  }

  /** Joins the queued chunks onto the unconsumed bytes: the one copy a split request costs. */
  private join(): void {
    const rest = this.pos < this.buf.length ? this.buf.subarray(this.pos) : emptyBuffer;
    if (rest.length === 0 && this.queue.length === 1) this.buf = this.queue[0]!;
    else {
      if (rest.length > 0) this.queue.unshift(rest);
      this.buf = Buffer.concat(this.queue, rest.length + this.queuedBytes);
    }
    this.pos = 0;
    this.queue = [];
    this.queuedBytes = 0;
  }

  /** Returns the next complete request as argv (latin1 strings: one char per byte, binary safe), or null when more bytes are needed. Throws ProtocolError on malformed input (the connection then replies and closes). */
  next(): string[] | null {
    if (this.stalled) return null;
    if (this.queuedBytes > 0) this.join();
    for (;;) {
      if (this.argsLeft === 0) {
        if (this.pos >= this.buf.length) {
          // Drop the consumed chunk now rather than hold it until the next push.
          this.buf = emptyBuffer;
          this.pos = 0;
          return null;
        }
        if (this.buf[this.pos] !== STAR) {
          const argv = this.inline();
          if (argv === null) return null;
          if (argv.length === 0) continue;
          this.lastWasInline = true;
          return argv;
        }
        if (!this.multibulkHeader()) return null;
        if (this.argsLeft === 0) continue;
      }
      if (!this.bulks()) return null;
      const argv = this.argv;
      this.argv = [];
      this.argvBytes = 0;
      this.lastWasInline = false;
      return argv;
    }
  }

  /** One inline line, split into arguments (empty for a blank line), or null when its newline has not arrived. */
  private inline(): string[] | null {
    const buf = this.buf;
    const start = this.pos;
    const newline = buf.indexOf(LF, start);
    if (newline === -1) {
      const end = buf.length;
      const pending = end - start - (buf[end - 1] === CR ? 1 : 0);
      if (pending > this.maxInlineBytes) throw new ProtocolError('too big inline request');
      return this.stallForTerminator(LF);
    }
    const end = newline > start && buf[newline - 1] === CR ? newline - 1 : newline;
    if (end - start > this.maxInlineBytes) throw new ProtocolError('too big inline request');
    this.pos = newline + 1;
    const argv = splitInlineArgs(buf, start, end);
    if (argv === null) throw new ProtocolError('unbalanced quotes in request');
    return argv;
  }

  /** Reads `*N\r\n`. False when more bytes are needed; otherwise sets argsLeft (0 for a request to skip). */
  private multibulkHeader(): boolean {
    let n = this.quickHeader(STAR);
    if (n < 0) {
      const v = this.headerValue(STAR);
      if (v === null) return false;
      n = v;
    }
    if (Number.isNaN(n) || n > this.maxArgs) throw new ProtocolError('invalid multibulk length');
    if (n > unauthArgsMax && !this.authenticated) throw new ProtocolError('unauthenticated multibulk length');
    if (n > 0) {
      this.argsLeft = n;
      this.bulkLen = -1;
    }
    return true;
  }

  /** Decodes the bulks of the current multibulk. True when all have arrived; false when more bytes are needed. */
  private bulks(): boolean {
    const buf = this.buf;
    while (this.argsLeft > 0) {
      let len = this.bulkLen;
      if (len < 0) {
        len = this.quickHeader(DOLLAR);
        if (len < 0) {
          const v = this.headerValue(DOLLAR);
          if (v === null) return false;
          if (Number.isNaN(v) || v < 0 || v > this.maxBulkBytes) throw new ProtocolError('invalid bulk length');
          len = v;
        } else if (len > this.maxBulkBytes) throw new ProtocolError('invalid bulk length');
        if (len > unauthBulkBytesMax && !this.authenticated) throw new ProtocolError('unauthenticated bulk length');
        this.bulkLen = len;
      }
      const start = this.pos;
      const dataEnd = start + len;
      if (dataEnd + 2 > buf.length) {
        this.stallForBytes(len + 2);
        return false;
      }
      // The length came from the header; the CRLF after the data only confirms the framing.
      if (buf[dataEnd] !== CR || buf[dataEnd + 1] !== LF) throw new ProtocolError('expected CRLF after bulk data');
      this.argv.push(latin1(buf, start, dataEnd));
      this.argvBytes += len;
      this.pos = dataEnd + 2;
      this.bulkLen = -1;
      this.argsLeft--;
    }
    return true;
  }

  /**
   * The common header, `<type><1 to 15 digits>\r\n` with no leading zero,
   * wholly in the buffer: returns its value and moves past it. -1 for anything
   * else, which headerValue then examines with Redis's full rules.
   */
  private quickHeader(type: number): number {
    const buf = this.buf;
    const end = buf.length;
    const start = this.pos;
    let p = start + 1;
    if (p >= end || buf[start] !== type) return -1;
    let c = buf[p]!;
    if (c <= DIGIT0 || c > DIGIT9) return -1;
    const digitsEnd = Math.min(end, start + 16);
    let value = 0;
    while (p < digitsEnd && (c = buf[p]!) >= DIGIT0 && c <= DIGIT9) {
      value = value * 10 + (c - DIGIT0);
      p++;
    }
    if (c !== CR || p + 1 >= end || buf[p + 1] !== LF || p - start > this.maxInlineBytes) return -1;
    this.pos = p + 2;
    return value;
  }

  /**
   * Reads a header line `<type><number>\r\n` at pos, in Redis's order of
   * checks: the line must end within maxInlineBytes, then the type byte is
   * checked, then the number. Returns the number (NaN if malformed), or null
   * when the line is incomplete.
   */
  private headerValue(type: number): number | null {
    const buf = this.buf;
    const start = this.pos;
    const end = buf.length;
    // Looking further than the limit is pointless: such a line is refused anyway.
    const searchEnd = Math.min(end, start + this.maxInlineBytes + 1);
    const cr = buf.subarray(0, searchEnd).indexOf(CR, start);
    if (cr === -1) {
      if (end - start > this.maxInlineBytes) throw tooBigCountString(type);
      return this.stallForTerminator(CR);
    }
    if (cr + 1 >= end) return this.stallForBytes(cr + 2 - start);
    if (type === DOLLAR && buf[start] !== DOLLAR) {
      throw new ProtocolError(`expected '$', got '${String.fromCharCode(buf[start]!)}'`);
    }
    // Redis skips the byte after CR unseen; a bare CR means the framing is lost, so we say so.
    if (buf[cr + 1] !== LF) throw new ProtocolError(type === STAR ? 'invalid multibulk length' : 'invalid bulk length');
    this.pos = cr + 2;
    return parseLength(buf, start + 1, cr);
  }
}

/** A configured limit, or its default; a limit below one byte (or NaN) is a configuration bug, refused loudly. */
function limit(name: keyof DecoderLimits, value: number | undefined): number {
  const v = value ?? defaultDecoderLimits[name];
  if (!(v >= 1)) throw new RangeError(`decoder limit ${name} must be at least 1, got ${v}`);
  return v;
}

function tooBigCountString(type: number): ProtocolError {
  return new ProtocolError(type === STAR ? 'too big mbulk count string' : 'too big bulk count string');
}
