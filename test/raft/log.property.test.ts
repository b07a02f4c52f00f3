import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RaftLog } from '../../src/raft/log.js';
import { MemoryLog } from '../../src/raft/storage.js';
import type { Entry } from '../../src/raft/types.js';

function entry(index: number, term: number): Entry {
  return { index, term, type: 'normal', data: new Uint8Array([term & 0xff]) };
}

/** Terms of a log as a non-decreasing sequence, index 1 first. */
const termsArb = (minTerm: number, maxLen: number): fc.Arbitrary<number[]> =>
  fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: maxLen }).map((steps) => {
    let t = minTerm;
    return steps.map((s) => (t += s));
  });

describe('log (property)', () => {
  it('appends delivered in any order, duplicated or stale, leave the follower agreeing with the leader up to every acknowledged index', () => {
    fc.assert(
      fc.property(
        termsArb(0, 30),
        fc.nat(),
        termsArb(0, 20),
        fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 40 }),
        (rawLeader, common, rawSuffix, sends) => {
          // Reachable states only: the leader's entries have odd terms; the follower
          // shares a prefix with it, then holds entries of even terms from a stale
          // leader (never equal to any of the leader's), so Log Matching holds.
          const leaderTerms = rawLeader.map((t) => 2 * t + 1);
          const shared = common % (leaderTerms.length + 1);
          const base = shared === 0 ? 0 : (leaderTerms[shared - 1] as number);
          const firstEven = base % 2 === 1 ? base + 1 : base + 2;
          const followerTerms = [...leaderTerms.slice(0, shared), ...rawSuffix.map((t) => firstEven + 2 * t)];
          const storage = new MemoryLog();
          storage.append(followerTerms.map((t, k) => entry(k + 1, t)));
          const log = new RaftLog(storage);
          const leader = leaderTerms.map((t, k) => entry(k + 1, t));
          const leaderTerm = (i: number): number => (i === 0 ? 0 : (leader[i - 1] as Entry).term);
          const acked: number[] = [];
          for (const [a, b] of sends) {
            const prevIndex = a % leader.length;
            const count = b % (leader.length - prevIndex + 1);
            if (!log.matchTerm(prevIndex, leaderTerm(prevIndex))) continue;
            const { lastNew } = log.appendFromLeader(prevIndex, leader.slice(prevIndex, prevIndex + count));
            acked.push(lastNew);
            // Everything acknowledged so far must still match: later (stale) appends never undo it.
            for (const upTo of acked) {
              for (let i = 1; i <= upTo; i++) assert.equal(log.term(i), leaderTerm(i), `index ${i} after ack ${upTo}`);
            }
            // Terms never decrease along the log.
            for (let i = 2; i <= log.lastIndex(); i++) {
              assert.ok((log.term(i) ?? -1) >= (log.term(i - 1) ?? Infinity), 'terms decrease along the log');
            }
          }
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('findConflictByTerm returns the last index whose term is at most the given one', () => {
    fc.assert(
      fc.property(termsArb(1, 40), fc.nat(), fc.nat({ max: 90 }), (terms, at, term) => {
        const storage = new MemoryLog();
        storage.append(terms.map((t, k) => entry(k + 1, t)));
        const log = new RaftLog(storage);
        const index = at % (terms.length + 1);
        const got = log.findConflictByTerm(index, term);
        let want = 0;
        for (let i = index; i >= 1; i--) {
          if ((terms[i - 1] as number) <= term) {
            want = i;
            break;
          }
        }
        assert.equal(got, want);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
