// A strict well-formedness check of the report's markup, for the tests: every tag
// is closed in order, every attribute is double-quoted, and no text holds a raw
// '<', '>' or a bare '&' (so history text cannot have slipped through unescaped).
import assert from 'node:assert/strict';

const VOID_ELEMENTS: ReadonlySet<string> = new Set(['meta', 'br', 'hr', 'img', 'link', 'input']);
const TAG = /<!DOCTYPE html>|<\/([a-zA-Z][\w-]*)>|<([a-zA-Z][\w-]*)((?:\s+[a-zA-Z][\w:-]*="[^"<>]*")*)\s*(\/?)>/y;
const BARE_AMPERSAND = /&(?!(?:amp|lt|gt|quot|#39);)/;

/** Throws naming the offset of the first problem; returns how many elements were seen. */
export function assertWellFormed(html: string): number {
  const open: string[] = [];
  let elements = 0;
  let at = 0;
  while (at < html.length) {
    const lt = html.indexOf('<', at);
    const text = html.slice(at, lt < 0 ? html.length : lt);
    assert.ok(!text.includes('>'), `raw '>' in text at ${at}: ${JSON.stringify(text.slice(0, 80))}`);
    assert.ok(!BARE_AMPERSAND.test(text), `bare '&' in text at ${at}: ${JSON.stringify(text.slice(0, 80))}`);
    if (lt < 0) break;
    TAG.lastIndex = lt;
    const m = TAG.exec(html);
    assert.ok(m !== null, `not a tag at ${lt}: ${JSON.stringify(html.slice(lt, lt + 80))}`);
    const [whole, closing, opening, attributes, selfClosing] = m;
    assert.ok(!BARE_AMPERSAND.test(attributes ?? ''), `bare '&' in attributes at ${lt}`);
    if (closing !== undefined) {
      assert.equal(open.pop(), closing, `</${closing}> at ${lt} closes the wrong element`);
    } else if (opening !== undefined) {
      elements++;
      if (selfClosing === '' && !VOID_ELEMENTS.has(opening.toLowerCase())) open.push(opening);
    }
    at = lt + whole.length;
  }
  assert.deepEqual(open, [], 'elements left open at the end');
  return elements;
}
