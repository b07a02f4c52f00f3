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

/** The largest double not above INT64_MAX. */
const expireStoredMax = 2 ** 63 - 1024;

/**
 * An exact absolute expiry time in ms (as the log entry carries it) as the keyspace stores
 * it: a double, so past 2^53 ms (year 287396) the milliseconds round; clamped so that a
 * time near INT64_MAX never rounds up and reads back (PEXPIRETIME) above it.
 */
export function storedExpireAt(ms: string | bigint): number {
  return Math.min(Number(ms), expireStoredMax);
}

export function isInt64(v: bigint): boolean {
  return v >= INT64_MIN && v <= INT64_MAX;
}

/** Redis's MAX_LONG_DOUBLE_CHARS: string2ld refuses arguments this long or longer. */
const floatArgBytesMax = 5 * 1024;
/**
 * A long double's range in decimal, for string2ld's ERANGE rejections: it overflows above
 * LDBL_MAX ≈ 1.18973149535723176502e4932 and underflows to zero below half the least
 * subnormal, ≈ 1.82259976594123730126e-4951. Exponent of the leading digit, then the
 * significant digits at that exponent.
 */
const longDoubleExp10Max = 4932;
const longDoubleDigitsMax = '118973149535723176502';
const longDoubleExp10Min = -4951;
const longDoubleDigitsMin = '182259976594123730126';
const longDoubleExp2Max = 16383;
const longDoubleExp2Min = -16445;

/**
 * Redis's string2ld rules for float arguments (it calls strtold): decimal or exponent
 * notation, C99 hex floats ("0x1p3"), "inf"/"infinity" with a sign, any case; not empty,
 * no spaces, no NUL bytes, not NaN, and within a long double's range. Returns null when
 * invalid. A value within a long double's range but beyond a double's becomes ±Infinity
 * (or ±0): KeyMesh computes in doubles, a documented difference.
 */
export function parseFloatArg(s: string): number | null {
  if (s.length === 0 || s.length >= floatArgBytesMax) return null;
  const lower = s.toLowerCase();
  const c0 = lower.charCodeAt(0);
  const sign = c0 === 45 /* - */ ? -1 : 1;
  const body = c0 === 45 || c0 === 43 /* + */ ? lower.slice(1) : lower;
  if (body === 'inf' || body === 'infinity') return sign * Infinity;
  if (body.startsWith('0x')) return parseHexFloat(body.slice(2), sign);
  const m = /^(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/.exec(body);
  if (m === null || m[1]!.length + (m[2]?.length ?? 0) === 0) return null;
  if (!withinLongDouble(m[1]!, m[2] ?? '', m[3] ?? '0')) return null;
  return sign * Number(body);
}

/** Whether a nonzero decimal int.frac × 10^exp neither overflows nor underflows a long double. */
function withinLongDouble(int: string, frac: string, exp: string): boolean {
  const digits = int + frac;
  const first = digits.search(/[1-9]/);
  if (first === -1) return true;
  // Decimal exponent of the leading significant digit; the exponent text may be huge.
  const e = Number(exp) + int.length - 1 - first;
  if (e !== longDoubleExp10Max && e !== longDoubleExp10Min) return e < longDoubleExp10Max && e > longDoubleExp10Min;
  const significant = digits.slice(first).replace(/0+$/, '');
  return e === longDoubleExp10Max ? significant <= longDoubleDigitsMax : significant >= longDoubleDigitsMin;
}

/** The part after "0x" of a C99 hex float: hex digits with an optional '.', then "p±exp". */
function parseHexFloat(body: string, sign: number): number | null {
  const m = /^([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?$/.exec(body);
  if (m === null) return null;
  const int = m[1]!;
  const frac = m[2] ?? '';
  if (int.length + frac.length === 0) return null;
  const bits = BigInt('0x' + int + frac);
  const exp = Number(m[3] ?? '0') - 4 * frac.length;
  if (bits !== 0n) {
    // Binary exponent of the leading bit, against the long double's range.
    const e2 = bits.toString(2).length - 1 + exp;
    if (e2 > longDoubleExp2Max || e2 < longDoubleExp2Min) return null;
  }
  const mantissa = Number(bits);
  // Scaled in two steps so 2**exp alone cannot overflow or underflow early.
  const half = Math.trunc(exp / 2);
  return sign * mantissa * 2 ** half * 2 ** (exp - half);
}
