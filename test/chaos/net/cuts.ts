// Cut links as data: unordered pairs of endpoints, checked against the network's node ids
// once, so each mode only has to ask "is this pair cut?".

import assert from 'node:assert/strict';

/** A node id, or the pseudo-id 'clients' (the test's client side). */
export type Endpoint = string;

export const clientsEndpoint = 'clients';

/** Every pair of endpoints that sit in different groups. */
export function cutsBetween(groups: ReadonlyArray<readonly Endpoint[]>): Array<[Endpoint, Endpoint]> {
  const seen = new Set<Endpoint>();
  for (const group of groups) {
    for (const e of group) {
      assert(!seen.has(e), `cutsBetween: '${e}' is in more than one group`);
      seen.add(e);
    }
  }
  const cuts: Array<[Endpoint, Endpoint]> = [];
  for (let g = 0; g < groups.length; g++) {
    for (let h = g + 1; h < groups.length; h++) {
      for (const a of groups[g]!) for (const b of groups[h]!) cuts.push([a, b]);
    }
  }
  return cuts;
}

/** The set of cut links of one network; pairs are unordered. */
export class CutSet {
  private readonly keys = new Set<string>();

  /** Validates every pair against `ids` (plus 'clients'); throws on an unknown endpoint or a self-pair. */
  constructor(ids: readonly string[], pairs: ReadonlyArray<readonly [Endpoint, Endpoint]>) {
    const known = new Set<string>([...ids, clientsEndpoint]);
    for (const [a, b] of pairs) {
      if (!known.has(a) || !known.has(b)) throw new Error(`cut ${a}-${b}: unknown endpoint (known: ${[...known].join(', ')})`);
      if (a === b) throw new Error(`cut ${a}-${b}: an endpoint cannot be cut from itself`);
      this.keys.add(CutSet.key(a, b));
    }
  }

  has(a: Endpoint, b: Endpoint): boolean {
    return this.keys.has(CutSet.key(a, b));
  }

  get size(): number {
    return this.keys.size;
  }

  private static key(a: Endpoint, b: Endpoint): string {
    return a < b ? `${a}\n${b}` : `${b}\n${a}`;
  }
}

/** Node ids must be usable as endpoints: unique, and not the clients' pseudo-id. */
export function checkNodeIds(ids: readonly string[]): void {
  if (ids.length === 0) throw new Error('a chaos network needs at least one node id');
  if (new Set(ids).size !== ids.length) throw new Error(`node ids must be unique: ${ids.join(', ')}`);
  if (ids.includes(clientsEndpoint)) throw new Error(`'${clientsEndpoint}' is reserved for the test's client side, not a node id`);
}
