// Raft's safety properties (Figure 3 of the paper), each checked on its own so a
// failure names the property it broke.
import type { Entry, NodeId } from '../../src/raft/types.js';

export class SafetyViolation extends Error {
  constructor(
    readonly property: string,
    detail: string,
  ) {
    super(`${property} violated: ${detail}`);
  }
}

const decoder = new TextDecoder();

export function entrySignature(e: Entry): string {
  return `${e.term}:${e.type}:${decoder.decode(e.data)}`;
}

/** Election safety: at most one leader can be elected in a given term. */
export class ElectionSafety {
  private readonly leaderOfTerm = new Map<number, NodeId>();

  /** Returns true the first time `id` is seen leading `term`. */
  observeLeader(id: NodeId, term: number): boolean {
    const prev = this.leaderOfTerm.get(term);
    if (prev !== undefined && prev !== id) throw new SafetyViolation('election safety', `term ${term} has leaders ${prev} and ${id}`);
    this.leaderOfTerm.set(term, id);
    return prev === undefined;
  }

  terms(): number {
    return this.leaderOfTerm.size;
  }
}

/**
 * Log matching: if two logs contain an entry with the same index and term, the
 * logs are identical in all entries up through that index. Checked inductively:
 * every (index, term) ever persisted must always carry the same payload and
 * follow an entry of the same term.
 */
export class LogMatching {
  private readonly seen = new Map<string, string>();

  observePersisted(node: NodeId, e: Entry, prevTerm: number | undefined): void {
    const key = `${e.index}/${e.term}`;
    const value = `${entrySignature(e)}|prev=${prevTerm ?? '?'}`;
    const prev = this.seen.get(key);
    if (prev === undefined) {
      this.seen.set(key, value);
      return;
    }
    if (prev === value) return;
    // An unknown previous term (compacted) cannot contradict.
    const [sigA, prevA] = prev.split('|prev=');
    const [sigB, prevB] = value.split('|prev=');
    if (sigA === sigB && (prevA === '?' || prevB === '?' || prevA === prevB)) return;
    throw new SafetyViolation('log matching', `${node} persisted ${key} as ${value}, seen before as ${prev}`);
  }
}

/**
 * State machine safety: if a server has applied a log entry at a given index,
 * no other server will ever apply a different entry for that index. The same
 * map doubles as the set of entries known to be committed.
 */
export class StateMachineSafety {
  readonly applied = new Map<number, string>();
  private readonly lastApplied = new Map<NodeId, number>();

  observeApplied(node: NodeId, e: Entry): void {
    const last = this.lastApplied.get(node) ?? 0;
    if (e.index !== last + 1) throw new SafetyViolation('state machine safety', `${node} applied ${e.index} after ${last}`);
    this.lastApplied.set(node, e.index);
    const sig = entrySignature(e);
    const prev = this.applied.get(e.index);
    if (prev === undefined) this.applied.set(e.index, sig);
    else if (prev !== sig) throw new SafetyViolation('state machine safety', `${node} applied ${sig} at ${e.index}, another node applied ${prev}`);
  }

  /** The node's state machine was reset to a snapshot (install or restart). */
  observeRestore(node: NodeId, index: number): void {
    this.lastApplied.set(node, index);
  }
}

/**
 * Leader completeness: if an entry is committed in a given term, it is present
 * in the logs of the leaders of all higher terms. Checked when a leader is
 * first seen, against every entry applied anywhere so far.
 */
export class LeaderCompleteness {
  check(leader: NodeId, term: number, firstIndex: number, logTerm: (i: number) => number | undefined, committed: ReadonlyMap<number, string>): void {
    for (const [index, sig] of committed) {
      if (index < firstIndex) continue; // compacted: committed by definition
      const entryTerm = Number(sig.slice(0, sig.indexOf(':')));
      if (entryTerm > term) continue; // committed by a later leader; not this one's obligation
      const t = logTerm(index);
      if (t !== entryTerm) {
        throw new SafetyViolation('leader completeness', `leader ${leader} of term ${term} has term ${t ?? 'none'} at committed index ${index} (term ${entryTerm})`);
      }
    }
  }
}

/**
 * Leader append-only: a leader never overwrites or deletes entries in its log;
 * it only appends. Checked every step for every live leader: its last index
 * never shrinks within its term and the entry it had there keeps its term.
 */
export class LeaderAppendOnly {
  private readonly seen = new Map<string, { lastIndex: number; lastTerm: number | undefined }>();

  observe(leader: NodeId, term: number, lastIndex: number, logTerm: (i: number) => number | undefined): void {
    const key = `${leader}@${term}`;
    const prev = this.seen.get(key);
    if (prev !== undefined) {
      if (lastIndex < prev.lastIndex) {
        throw new SafetyViolation('leader append-only', `${key} shrank its log from ${prev.lastIndex} to ${lastIndex}`);
      }
      const t = logTerm(prev.lastIndex);
      // Compaction may make the term unknown; a different known term is an overwrite.
      if (t !== undefined && prev.lastTerm !== undefined && t !== prev.lastTerm) {
        throw new SafetyViolation('leader append-only', `${key} rewrote index ${prev.lastIndex} from term ${prev.lastTerm} to ${t}`);
      }
    }
    this.seen.set(key, { lastIndex, lastTerm: logTerm(lastIndex) });
  }

  /** A crash ends the leader's term as far as its memory is concerned. */
  forget(node: NodeId): void {
    for (const key of [...this.seen.keys()]) if (key.startsWith(`${node}@`)) this.seen.delete(key);
  }
}
