import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { globMatch, isMatchAll } from '../../src/keyspace/glob.js';

/** [pattern, subject, nocase, expected] — expectations traced through Redis's stringmatchlen. */
const table: [string, string, boolean, boolean][] = [
  // Plain characters and the empty cases.
  ['', '', false, true],
  ['', 'a', false, false],
  ['a', '', false, false],
  ['hello', 'hello', false, true],
  ['hello', 'hell', false, false],
  ['hello', 'helloo', false, false],
  // `?`
  ['h?llo', 'hello', false, true],
  ['h?llo', 'hllo', false, false],
  ['?', '', false, false],
  // `*`, including Redis's quirk: a star never matches the empty subject.
  ['*', 'anything', false, true],
  ['*', '', false, false],
  ['**', '', false, false],
  ['**', 'x', false, true],
  ['h*llo', 'hllo', false, true],
  ['h*llo', 'heeeello', false, true],
  ['h*llo', 'heeeelloo', false, false],
  ['a*', 'a', false, true],
  ['a**', 'a', false, true],
  ['a*b', 'a', false, false],
  ['*a', 'ba', false, true],
  ['*a', 'ab', false, false],
  ['a*b*c', 'aXXbYYc', false, true],
  ['a*b*c', 'aXXcYYb', false, false],
  // Classes, negation and ranges.
  ['h[ae]llo', 'hello', false, true],
  ['h[ae]llo', 'hallo', false, true],
  ['h[ae]llo', 'hillo', false, false],
  ['h[^e]llo', 'hallo', false, true],
  ['h[^e]llo', 'hello', false, false],
  ['h[a-b]llo', 'hbllo', false, true],
  ['h[a-b]llo', 'hcllo', false, false],
  ['h[b-a]llo', 'hallo', false, true],
  ['[0-9][0-9]', '42', false, true],
  ['[^0-9]', '7', false, false],
  ['[]', ']', false, false],
  ['[^]', 'x', false, true],
  // An unterminated class ends with the pattern.
  ['[abc', 'a', false, true],
  ['[abc', 'd', false, false],
  ['[^', 'z', false, true],
  // `x-]` is a range whenever three chars remain: [a-] spans ']'..'a'.
  ['[a-]', '_', false, true],
  ['[a-]', 'a', false, true],
  ['[a-]', '-', false, false],
  // Escapes, outside and inside classes; a trailing backslash matches itself.
  ['h\\*llo', 'h*llo', false, true],
  ['h\\*llo', 'hello', false, false],
  ['\\?', '?', false, true],
  ['\\?', 'x', false, false],
  ['[\\]]', ']', false, true],
  ['[\\^a]', '^', false, true],
  ['a\\', 'a\\', false, true],
  ['\\', '\\', false, true],
  ['\\[a]', '[a]', false, true],
  // nocase folds ASCII letters only; an escaped char in a class compares exactly.
  ['HELLO', 'hello', true, true],
  ['HELLO', 'hello', false, false],
  ['h[A-Z]llo', 'hqllo', true, true],
  ['h[a-z]llo', 'hQllo', false, false],
  ['[\\A]', 'a', true, false],
  ['[\\A]', 'A', true, true],
  ['\u00c0', '\u00e0', true, false],
  // Binary-safe: any byte, including NUL and bytes above 0x7f. Range bounds compare as C's
  // signed char, as redis-server built for x86-64 answers: 0x80..0xff are -128..-1, so
  // [a-\xff] is the range -1..'a' (checked against a real redis-server).
  ['\u0000*\u00ff', '\u0000abc\u00ff', false, true],
  ['?', '\u0000', false, true],
  ['[\u0080-\u00ff]', '\u00c3', false, true],
  ['[\u0080-\u00ff]', 'A', false, false],
  ['[a-\u00ff]', 'A', false, true],
  ['[a-\u00ff]', '\u0000', false, true],
  ['[a-\u00ff]', 'b', false, false],
  ['[a-\u00ff]', '\u00c3', false, false],
  ['[\u00ff-a]', 'A', false, true],
  ['[^a-\u00ff]', 'b', false, true],
  ['[\u00c3-\u00ff]', '\u00d0', false, true],
  ['a\u0000b', 'a\u0000b', false, true],
  ['a\u0000b', 'a\u0000c', false, false],
];

describe('globMatch', () => {
  for (const [pattern, s, nocase, expected] of table) {
    test(`${JSON.stringify(pattern)} ${expected ? 'matches' : 'does not match'} ${JSON.stringify(s)}${nocase ? ' (nocase)' : ''}`, () => {
      assert.equal(globMatch(pattern, s, nocase), expected);
    });
  }

  test('pathological star patterns finish in polynomial time', () => {
    const subject = 'a'.repeat(20_000);
    const pattern = '*a'.repeat(12) + '*b';
    const t0 = performance.now();
    assert.equal(globMatch(pattern, subject), false);
    assert.equal(globMatch('*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(100_000)), false);
    assert.ok(performance.now() - t0 < 1000, `took ${performance.now() - t0} ms`);
  });

  test('nesting deeper than 1000 stars is refused as Redis does', () => {
    assert.equal(globMatch('*x'.repeat(900), 'x'.repeat(900)), true);
    assert.equal(globMatch('*x'.repeat(1100), 'x'.repeat(1100)), false);
  });

  test('isMatchAll is exactly "*"', () => {
    assert.equal(isMatchAll('*'), true);
    assert.equal(isMatchAll('**'), false);
    assert.equal(isMatchAll(''), false);
    assert.equal(isMatchAll('a*'), false);
  });
});
