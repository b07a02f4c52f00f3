// A small seeded PRNG (mulberry32). The core must be deterministic given its
// inputs, so election jitter comes from here, never from Math.random.
import assert from 'node:assert/strict';

export interface RandomSource {
  /** Uniform integer in [0, n). */
  intBelow(n: number): number;
}

export class SeededRandom implements RandomSource {
  // Invariant: 0 ≤ state < 2^32.
  private state: number;

  constructor(seed: number) {
    assert.ok(Number.isInteger(seed), 'seed must be an integer');
    this.state = seed >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  intBelow(n: number): number {
    assert.ok(Number.isInteger(n) && n > 0, 'intBelow needs a positive integer');
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    assert.ok(items.length > 0, 'pick from an empty list');
    return items[this.intBelow(items.length)] as T;
  }
}
