// Tokeniser for inline (plain-text) requests, with the quoting rules of
// redis-cli and Redis's sdssplitargs, so a line typed into nc means the same
// thing here as it does to Redis.
//
// Works on the received bytes directly: tokens without quotes (nearly all of
// them) are sliced straight out of the buffer; only a quoted token is rebuilt
// byte by byte.

import { latin1 } from './latin1.js';

const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const DQUOTE = 0x22;
const SQUOTE = 0x27;
const BACKSLASH = 0x5c;

/** C's isspace() in the C locale: these separate tokens and may follow a closing quote. */
function isBlank(c: number): boolean {
  return c === SPACE || (c >= TAB && c <= CR);
}

/**
 * Ends an unquoted token. Narrower than isBlank on purpose: Redis skips \v and
 * \f between tokens but keeps them inside an unquoted token, and we match it.
 */
function endsBareToken(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

/** The byte a double-quoted `\c` stands for; unknown escapes stand for the character itself, as in Redis. */
function unescape(c: number): number {
  switch (c) {
    case 0x6e: // n
      return LF;
    case 0x72: // r
      return CR;
    case 0x74: // t
      return TAB;
    case 0x62: // b
      return 0x08;
    case 0x61: // a
      return 0x07;
    default:
      return c;
  }
}

/**
 * Splits `buf[start, end)` (one line, terminator already removed) into
 * arguments as latin1 strings. Returns null for unbalanced quotes: a quote left
 * open, or a closing quote followed by something other than blank or the end.
 *
 * A NUL byte is an ordinary character here (sdssplitargs stops at it, being C);
 * binary-safety costs nothing and nobody relies on the truncation.
 */
export function splitInlineArgs(buf: Buffer, start: number, end: number): string[] | null {
  const argv: string[] = [];
  // Unescaping only shrinks a token, so one scratch buffer of the line's size holds any of them.
  let scratch: Buffer | null = null;
  let p = start;
  for (;;) {
    while (p < end && isBlank(buf[p]!)) p++;
    if (p >= end) return argv;

    const tokenStart = p;
    let c = 0;
    while (p < end) {
      c = buf[p]!;
      if (endsBareToken(c) || c === DQUOTE || c === SQUOTE) break;
      p++;
    }
    if (p >= end || endsBareToken(c)) {
      argv.push(latin1(buf, tokenStart, p));
      continue;
    }

    // A quote opens partway or at the start of the token: the token is the
    // bare prefix plus the quoted body, and ends at the closing quote.
    if (scratch === null) scratch = Buffer.allocUnsafe(end - start);
    let n = buf.copy(scratch, 0, tokenStart, p);
    const quote = c;
    p++;
    for (;;) {
      if (p >= end) return null;
      c = buf[p]!;
      if (c === quote) {
        if (p + 1 < end && !isBlank(buf[p + 1]!)) return null;
        p++;
        break;
      }
      if (c === BACKSLASH && p + 1 < end) {
        const next = buf[p + 1]!;
        if (quote === SQUOTE) {
          if (next === SQUOTE) {
            scratch[n++] = SQUOTE;
            p += 2;
            continue;
          }
        } else {
          if (next === 0x78 /* x */ && p + 3 < end) {
            const hi = hexValue(buf[p + 2]!);
            const lo = hexValue(buf[p + 3]!);
            if (hi >= 0 && lo >= 0) {
              scratch[n++] = hi * 16 + lo;
              p += 4;
              continue;
            }
          }
          scratch[n++] = unescape(next);
          p += 2;
          continue;
        }
      }
      scratch[n++] = c;
      p++;
    }
    argv.push(scratch.toString('latin1', 0, n));
  }
}
