// Glob matching with Redis's stringmatchlen semantics (KEYS, SCAN MATCH, CONFIG GET).
//
// Patterns and subjects are latin1 strings, so every char is one byte and matching is
// binary-safe. Quirks are kept on purpose, because clients depend on Redis's answers:
// - `*` never matches the empty string (the loop stops as soon as the subject is empty);
//   KEYS and SCAN special-case the exact pattern "*" with `isMatchAll` before matching.
// - An unterminated class (`[abc`) matches as if it were closed at the pattern's end.
// - A range is `x-y` whenever three chars remain, so `[a-]` is the range from 'a' to ']'.
// - Range bounds and the subject byte compare as C's signed char, so bytes ≥ 0x80 sort
//   below 0 (`[a-\xff]` takes the bytes 0..'a', not 'a'..0xff).
// - An escaped char inside a class compares exactly, even in nocase mode.
// - nocase folds ASCII letters only (C's tolower in the "C" locale).
//
// Cost: each `*` tries the rest of the pattern at every later position, but once that
// fails everywhere, no earlier `*` can succeed by consuming more (it would need the rest
// to match even later), so the whole match gives up at once. This keeps patterns like
// `*a*a*a*a*b` on long subjects polynomial instead of exponential. As in Redis, nesting
// deeper than `starNestingMax` stars answers "no match" rather than risking the stack.

const STAR = 42; // *
const QUESTION = 63; // ?
const OPEN = 91; // [
const CLOSE = 93; // ]
const BACKSLASH = 92; // \
const CARET = 94; // ^
const DASH = 45; // -

/** Deepest recursion through `*` before a pattern is treated as abusive (Redis: 1000). */
const starNestingMax = 1000;

/** Set when a `*` has tried every remaining position: earlier stars cannot do better. */
let giveUp = false;

/**
 * A byte as C's `char` on x86-64, where it is signed: range bounds compare as -128..127,
 * so `[a-\xff]` is the range from -1 to 'a' and takes the bytes 0..'a'. (Redis built for
 * ARM, where char is unsigned, answers otherwise; we follow the common x86-64 build.)
 */
function signedChar(c: number): number {
  return c >= 128 ? c - 256 : c;
}

function lower(c: number): number {
  return c >= 65 && c <= 90 ? c + 32 : c;
}

/** True if `pattern` matches all of `s`; `nocase` folds ASCII letters. */
export function globMatch(pattern: string, s: string, nocase = false): boolean {
  giveUp = false;
  return matchFrom(pattern, 0, s, 0, nocase, 0);
}

/** The exact pattern Redis treats as "no filter" (KEYS *, SCAN without MATCH). */
export function isMatchAll(pattern: string): boolean {
  return pattern.length === 1 && pattern.charCodeAt(0) === STAR;
}

/** Matches pattern[p..] against s[i..]; a port of stringmatchlen_impl's control flow. */
function matchFrom(pattern: string, p: number, s: string, i: number, nocase: boolean, nesting: number): boolean {
  if (nesting > starNestingMax) return false;
  const plen = pattern.length;
  const slen = s.length;
  while (p < plen && i < slen) {
    const pc = pattern.charCodeAt(p);
    if (pc === STAR) {
      while (p + 1 < plen && pattern.charCodeAt(p + 1) === STAR) p++;
      if (p + 1 === plen) return true;
      for (; i < slen; i++) {
        if (matchFrom(pattern, p + 1, s, i, nocase, nesting + 1)) return true;
        if (giveUp) return false;
      }
      giveUp = true;
      return false;
    }
    if (pc === QUESTION) {
      i++;
    } else if (pc === OPEN) {
      p = classEnd(pattern, p + 1, s.charCodeAt(i), nocase);
      if (p < 0) return false;
      i++;
    } else {
      // An escape makes the next char literal; a trailing backslash matches itself.
      if (pc === BACKSLASH && p + 1 < plen) p++;
      const want = pattern.charCodeAt(p);
      const got = s.charCodeAt(i);
      if (nocase ? lower(want) !== lower(got) : want !== got) return false;
      i++;
    }
    p++;
    if (i === slen) {
      while (p < plen && pattern.charCodeAt(p) === STAR) p++;
      break;
    }
  }
  return p === plen && i === slen;
}

/**
 * Tests char `c` against the class starting at `p` (just after `[`). Returns the index of
 * the class's last char (its `]`, or the pattern's last char when unterminated) if `c`
 * is accepted, or -1 if not.
 */
function classEnd(pattern: string, p: number, c: number, nocase: boolean): number {
  const plen = pattern.length;
  const negate = p < plen && pattern.charCodeAt(p) === CARET;
  if (negate) p++;
  let match = false;
  for (;;) {
    if (p >= plen) {
      // Unterminated: stand on the last char so the caller's step ends the pattern.
      p--;
      break;
    }
    const pc = pattern.charCodeAt(p);
    if (pc === BACKSLASH && plen - p >= 2) {
      p++;
      if (pattern.charCodeAt(p) === c) match = true;
    } else if (pc === CLOSE) {
      break;
    } else if (plen - p >= 3 && pattern.charCodeAt(p + 1) === DASH) {
      let start = signedChar(pc);
      let end = signedChar(pattern.charCodeAt(p + 2));
      if (start > end) [start, end] = [end, start];
      let x = signedChar(c);
      if (nocase) {
        start = lower(start);
        end = lower(end);
        x = lower(c);
      }
      p += 2;
      if (x >= start && x <= end) match = true;
    } else if (nocase ? lower(pc) === lower(c) : pc === c) {
      match = true;
    }
    p++;
  }
  return match !== negate ? p : -1;
}
