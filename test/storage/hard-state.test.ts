import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import {
  EMPTY_HARD_STATE,
  HARD_STATE_FILE,
  HardStateCorruptionError,
  HardStateStore,
  loadHardState,
  saveHardState,
} from '../../src/storage/hard-state.js';
import { removeDir, tempDir } from './helpers.js';

let dir: string;
beforeEach(() => {
  dir = tempDir();
});
afterEach(() => {
  removeDir(dir);
});

test('hard state: absent file loads as the empty state', async () => {
  assert.deepEqual(await loadHardState(dir), EMPTY_HARD_STATE);
});

test('hard state: round trip, no temp file left behind', async () => {
  await saveHardState(dir, { term: 7, vote: 'n2', commit: 41 });
  assert.deepEqual(await loadHardState(dir), { term: 7, vote: 'n2', commit: 41 });
  await saveHardState(dir, { term: 2 ** 40, vote: null, commit: 2 ** 50 });
  assert.deepEqual(await loadHardState(dir), { term: 2 ** 40, vote: null, commit: 2 ** 50 });
  assert.deepEqual(fs.readdirSync(dir), [HARD_STATE_FILE]);
});

test('hard state: every single-bit flip and every truncation is reported as corruption', async () => {
  await saveHardState(dir, { term: 3, vote: 'n1', commit: 9 });
  const file = path.join(dir, HARD_STATE_FILE);
  const good = fs.readFileSync(file);
  for (let i = 0; i < good.length; i++) {
    for (let bit = 0; bit < 8; bit++) {
      const bad = Buffer.from(good);
      bad[i]! ^= 1 << bit;
      fs.writeFileSync(file, bad);
      await assert.rejects(loadHardState(dir), HardStateCorruptionError, `flip byte ${i} bit ${bit}`);
    }
  }
  for (let len = 0; len < good.length; len++) {
    fs.writeFileSync(file, good.subarray(0, len));
    await assert.rejects(loadHardState(dir), (err: unknown) => {
      assert.ok(err instanceof HardStateCorruptionError);
      assert.ok(err.message.includes(file));
      return true;
    });
  }
});

test('hard state store: serialises saves and enforces Raft rules', async () => {
  const store = await HardStateStore.open(dir);
  assert.deepEqual(store.state, EMPTY_HARD_STATE);
  const saves = [
    store.save({ term: 1, vote: 'n1', commit: 0 }),
    store.save({ term: 1, vote: 'n1', commit: 5 }),
    store.save({ term: 2, vote: null, commit: 6 }),
    store.save({ term: 2, vote: 'n3', commit: 6 }),
  ];
  await Promise.all(saves);
  assert.deepEqual(await loadHardState(dir), { term: 2, vote: 'n3', commit: 6 });
  assert.throws(() => store.save({ term: 1, vote: null, commit: 6 }), /term 1 < 2/);
  assert.throws(() => store.save({ term: 2, vote: 'n1', commit: 6 }), /vote changed within term 2/);
  assert.throws(() => store.save({ term: 2, vote: 'n3', commit: 5 }), /commit 5 < 6/);
  const reopened = await HardStateStore.open(dir);
  assert.deepEqual(reopened.state, { term: 2, vote: 'n3', commit: 6 });
});
