// Argument parsing shared by every command family, strict in the way Redis is.

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Redis's string2ll: an optional '-', then digits with no leading zero (except "0"),
 * within signed 64 bits. No '+', no spaces, no "-0". Returns null when invalid.
 */
export function parseInt64(s: string): bigint | null {
  const n = s.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (s.charCodeAt(0) === 45 /* - */) {
    if (n === 1) return null;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48 /* 0 */) return n === 1 ? 0n : null;
  for (let j = i; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c < 48 || c > 57) return null;
  }
  const v = BigInt(s);
  return v < INT64_MIN || v > INT64_MAX ? null : v;
}

/**
 * Like parseInt64 but as a JS number, for arguments that are counts, offsets or times:
 * values beyond ±2^53 are rejected here (Redis accepts them but no real use needs them;
 * callers range-check further).
 */
export function parseInteger(s: string): number | null {
  // Fast path for the common short case: no BigInt allocation.
  if (s.length > 0 && s.length <= 15) {
    let i = 0;
    let neg = false;
    if (s.charCodeAt(0) === 45) {
      if (s.length === 1) return null;
      neg = true;
      i = 1;
    }
    if (s.charCodeAt(i) === 48) return s.length === 1 ? 0 : null;
    let v = 0;
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i) - 48;
      if (c < 0 || c > 9) return null;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }
  const b = parseInt64(s);
  if (b === null) return null;
  const n = Number(b);
  return Number.isSafeInteger(n) ? n : null;
}

export function isInt64(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}

/**
 * Redis's string2ld / strtod rules for float arguments: decimal or exponent notation,
 * "inf"/"-inf"/"+inf" (any case); no spaces, no hex, not empty, not NaN.
 */
export function parseFloatArg(s: string): number | null {
  if (s.length === 0 || s.length > 5000) return null;
  const c0 = s.charCodeAt(0);
  const cl = s.charCodeAt(s.length - 1);
  // strtod skips leading whitespace; Redis then rejects it via its own check.
  if (c0 === 32 || c0 === 9 || cl === 32 || cl === 9) return null;
  const lower = s.toLowerCase();
  if (lower === 'inf' || lower === '+inf' || lower === 'infinity' || lower === '+infinity') return Infinity;
  if (lower === '-inf' || lower === '-infinity') return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s)) return null;
  const v = Number(s);
  return Number.isNaN(v) ? null : v;
}
