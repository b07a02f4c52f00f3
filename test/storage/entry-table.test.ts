import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EntryTable } from '../../src/storage/entry-table.js';
import { SeededRandom } from '../../src/raft/rand.js';

interface ModelEntry {
  term: number;
  buf: Buffer;
  start: number;
  len: number;
  offset: number;
}

function check(t: EntryTable, model: readonly ModelEntry[], firstIndex: number): void {
  assert.equal(t.length, model.length);
  const seen: string[] = [];
  t.forEachPayload(0, model.length, (buf, start, end) => seen.push(buf.toString('latin1', start, end)));
  for (let k = 0; k < model.length; k++) {
    const m = model[k]!;
    assert.equal(t.term(k), m.term);
    assert.equal(t.offset(k), m.offset);
    assert.equal(t.payloadBytes(k), m.len);
    const e = t.entry(k, firstIndex + k);
    assert.equal(e.index, firstIndex + k);
    assert.equal(e.term, m.term);
    const want = m.buf.toString('latin1', m.start, m.start + m.len);
    assert.equal(e.data.toString('latin1'), want);
    assert.equal(seen[k], want);
  }
}

describe('EntryTable', () => {
  it('matches a plain array through appends, truncations and compactions across chunk boundaries', () => {
    const rng = new SeededRandom(7);
    const t = new EntryTable();
    let model: ModelEntry[] = [];
    let firstIndex = 1;
    let term = 1;
    let n = 0;
    let longest = 0;
    let droppedChunks = 0;
    for (let step = 0; step < 400; step++) {
      const roll = rng.intBelow(100);
      if (roll < 65) {
        // A batch: entries side by side in one buffer, as Wal.append lays them out.
        const count = 1 + rng.intBelow(1500);
        const buf = Buffer.alloc(count * 8);
        for (let i = 0; i < count; i++) {
          buf.write(String(n++).padStart(8, '0'), i * 8, 'latin1');
          if (rng.intBelow(50) === 0) term++;
          const m = { term, buf, start: i * 8, len: 8, offset: 2 ** 32 + n * 24 };
          model.push(m);
          t.push(m.term, m.buf, m.start, m.len, m.offset);
        }
      } else if (roll < 80) {
        // A Raft conflict cuts a suffix.
        const keep = Math.max(0, model.length - rng.intBelow(Math.min(model.length, 5000) + 1));
        model = model.slice(0, keep);
        t.truncate(keep);
      } else if (roll < 95) {
        // A snapshot compacts a prefix.
        const drop = rng.intBelow(model.length + 1);
        if (drop >= 4096) droppedChunks++;
        model = model.slice(drop);
        t.dropFront(drop);
        firstIndex += drop;
      } else if (roll < 97) {
        firstIndex += model.length;
        model = [];
        t.clear();
      }
      check(t, model, firstIndex);
      longest = Math.max(longest, model.length);
    }
    // The table holds 4,096 entries per chunk: the run must span and drop several.
    assert.ok(longest > 2 * 4096 && droppedChunks >= 3, `longest ${longest}, drops of a chunk or more ${droppedChunks}`);
  });

  it('refuses positions outside the table', () => {
    const t = new EntryTable();
    t.push(1, Buffer.from('x'), 0, 1, 0);
    assert.throws(() => t.term(1), RangeError);
    assert.throws(() => t.entry(-1, 0), RangeError);
  });
});
