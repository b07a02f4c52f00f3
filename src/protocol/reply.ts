// Reply encoding for the three wire dialects a connection can speak.
//
// Every byte string in KeyMesh is a latin1 JS string (one char = one byte), so a
// string's `.length` *is* its byte length and replies are built by concatenation,
// then written to the socket once per read event with the 'latin1' encoding.
// V8 concatenates into ropes, so appending is cheap; the rope is flattened once
// when the socket takes it.

/** Which dialect replies are written in. */
export const ReplyMode = {
  /** RESP2, the default for RESP requests. */
  Resp2: 2,
  /** RESP3, after `HELLO 3`. */
  Resp3: 3,
  /** Plain human text for inline commands typed into nc/telnet (see DESIGN.md). */
  Plain: 0,
} as const;
export type ReplyMode = (typeof ReplyMode)[keyof typeof ReplyMode];

const CRLF = '\r\n';
const NL = '\n';

/**
 * `$<n>\r\n` and `:<n>\r\n` for small n, made once: most values and integer replies are
 * short, and building the header per reply was half the cost of a GET reply (measured:
 * 5M bulk replies, 160-230 ms concatenating vs 100-110 ms from the table).
 */
const smallHeadersMax = 1024;
const bulkHeaders: string[] = [];
const intReplies: string[] = [];
for (let i = 0; i < smallHeadersMax; i++) {
  bulkHeaders.push('$' + i + CRLF);
  intReplies.push(':' + i + CRLF);
}

/**
 * Keeps an error or status on one line so it can never break the framing, the
 * way Redis formats errors: CR/LF trimmed from both ends, each one left inside
 * turned into a space (so `a\r\nb` becomes `a  b`, byte for byte as Redis).
 */
function oneLine(s: string): string {
  if (s.indexOf('\r') === -1 && s.indexOf('\n') === -1) return s;
  return s.replace(/^[\r\n]+|[\r\n]+$/g, '').replace(/[\r\n]/g, ' ');
}

/** Formats a double as Redis does for RESP3 doubles and INCRBYFLOAT-style bulk replies. */
export function formatDouble(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  // Redis prints with %.17g and trims; JS's shortest round-trip form is exact and shorter.
  if (Number.isInteger(x) && Math.abs(x) < 1e17) return x.toFixed(0);
  return String(x);
}

/**
 * An append-only reply buffer. Commands call the typed methods; the connection
 * takes `out` after a batch of commands and writes it in one socket write.
 *
 * `mode` may change between commands (HELLO, or an inline line on a RESP
 * connection), never inside one reply.
 */
export class Reply {
  out = '';
  mode: ReplyMode;
  /** Count of replies (top-level or nested) written; lets the connection notice output growth cheaply. */
  written = 0;
  /** Count of error replies written, for INFO's error statistics. */
  errors = 0;

  constructor(mode: ReplyMode = ReplyMode.Resp2) {
    this.mode = mode;
  }

  /** Takes everything written so far, leaving the buffer empty. */
  take(): string {
    const s = this.out;
    this.out = '';
    return s;
  }

  /** A `+status` line: `OK`, `PONG`, `QUEUED`. */
  status(s: string): void {
    this.written++;
    if (this.mode === ReplyMode.Plain) this.out += oneLine(s) + NL;
    else this.out += '+' + oneLine(s) + CRLF;
  }

  ok(): void {
    this.written++;
    this.out += this.mode === ReplyMode.Plain ? 'OK\n' : '+OK\r\n';
  }

  /** An error; `msg` starts with its code (`ERR …`, `WRONGTYPE …`). */
  error(msg: string): void {
    this.written++;
    this.errors++;
    if (this.mode === ReplyMode.Plain) this.out += oneLine(msg) + NL;
    else this.out += '-' + oneLine(msg) + CRLF;
  }

  /** A bulk string (binary-safe); `null` is the null reply. */
  bulk(s: string | null | undefined): void {
    if (s === null || s === undefined) {
      this.nil();
      return;
    }
    this.written++;
    if (this.mode === ReplyMode.Plain) this.out += s + NL;
    else this.out += (s.length < smallHeadersMax ? bulkHeaders[s.length]! : '$' + s.length + CRLF) + s + CRLF;
  }

  /** The null reply: `$-1` in RESP2, `_` in RESP3, `(nil)` in plain text. */
  nil(): void {
    this.written++;
    if (this.mode === ReplyMode.Resp2) this.out += '$-1\r\n';
    else if (this.mode === ReplyMode.Resp3) this.out += '_\r\n';
    else this.out += '(nil)\n';
  }

  /** The null array (`*-1`); RESP3 has one null. */
  nilArray(): void {
    this.written++;
    if (this.mode === ReplyMode.Resp2) this.out += '*-1\r\n';
    else if (this.mode === ReplyMode.Resp3) this.out += '_\r\n';
    else this.out += '(nil)\n';
  }

  int(n: number | bigint): void {
    this.written++;
    if (this.mode === ReplyMode.Plain) this.out += n + NL;
    else if (typeof n === 'number' && n >= 0 && n < smallHeadersMax && Number.isInteger(n)) this.out += intReplies[n]!;
    else this.out += ':' + n + CRLF;
  }

  /** RESP3 double; RESP2 sends it as a bulk string, as Redis does. */
  double(x: number): void {
    const s = formatDouble(x);
    if (this.mode === ReplyMode.Resp3) {
      this.written++;
      this.out += ',' + s + CRLF;
    } else this.bulk(s);
  }

  /** RESP3 boolean; RESP2 and plain send 1/0, as Redis does. */
  bool(b: boolean): void {
    if (this.mode === ReplyMode.Resp3) {
      this.written++;
      this.out += b ? '#t\r\n' : '#f\r\n';
    } else this.int(b ? 1 : 0);
  }

  /** RESP3 verbatim string (`=len\r\ntxt:…`); a bulk string otherwise. Used by INFO and CLIENT INFO. */
  verbatim(s: string, format = 'txt'): void {
    if (this.mode === ReplyMode.Resp3) {
      this.written++;
      this.out += '=' + (s.length + 4) + CRLF + format + ':' + s + CRLF;
    } else this.bulk(s);
  }

  /**
   * Starts an array of `n` elements; the caller then writes exactly `n` replies.
   * Plain text writes the elements one per line, and `(empty array)` when n = 0.
   */
  array(n: number): void {
    this.written++;
    if (this.mode === ReplyMode.Plain) {
      if (n === 0) this.out += '(empty array)\n';
    } else this.out += '*' + n + CRLF;
  }

  /** Starts a map of `n` key/value pairs (RESP3 `%`); a flat array of 2n in RESP2 and plain. */
  map(n: number): void {
    if (this.mode === ReplyMode.Resp3) {
      this.written++;
      this.out += '%' + n + CRLF;
    } else this.array(n * 2);
  }

  /** Starts a set of `n` elements (RESP3 `~`); an array otherwise. */
  set(n: number): void {
    if (this.mode === ReplyMode.Resp3) {
      this.written++;
      this.out += '~' + n + CRLF;
    } else this.array(n);
  }

  /** An array of bulk strings, the commonest multi-reply. */
  bulks(items: readonly (string | null | undefined)[]): void {
    this.array(items.length);
    for (let i = 0; i < items.length; i++) this.bulk(items[i]);
  }

  /** Raw bytes already encoded for this connection's mode (forwarded replies). */
  raw(s: string): void {
    this.written++;
    this.out += s;
  }
}
