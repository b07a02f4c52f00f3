// Membership changes, one server at a time: each change alters the voter set by
// at most one node, so any majority of the old set overlaps any majority of the
// new one and no joint configuration is needed.
import assert from 'node:assert/strict';
import type { ConfChange, ConfChangeType, ConfState, NodeId } from './types.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const CHANGE_TYPES: readonly ConfChangeType[] = ['addVoter', 'addLearner', 'removeNode'];

export const EMPTY_CONF: ConfState = { voters: [], learners: [] };

export function encodeConfChange(cc: ConfChange): Uint8Array {
  return encoder.encode(JSON.stringify({ type: cc.type, nodeId: cc.nodeId }));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  const raw: unknown = JSON.parse(decoder.decode(data));
  assert.ok(typeof raw === 'object' && raw !== null, 'conf change entry is not an object');
  const type = (raw as { type?: unknown }).type;
  const nodeId = (raw as { nodeId?: unknown }).nodeId;
  assert.ok(typeof nodeId === 'string' && nodeId.length > 0, 'conf change without node id');
  const found = CHANGE_TYPES.find((t) => t === type);
  assert.ok(found !== undefined, `unknown conf change type ${String(type)}`);
  return { type: found, nodeId };
}

function sortedWithout(ids: readonly NodeId[], id: NodeId): NodeId[] {
  return ids.filter((x) => x !== id);
}

function sortedWith(ids: readonly NodeId[], id: NodeId): NodeId[] {
  const out = sortedWithout(ids, id);
  out.push(id);
  out.sort();
  return out;
}

/** Pure: the configuration after `cc`. Adding a learner that is a voter demotes it. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  switch (cc.type) {
    case 'addVoter':
      return { voters: sortedWith(conf.voters, cc.nodeId), learners: sortedWithout(conf.learners, cc.nodeId) };
    case 'addLearner':
      return { voters: sortedWithout(conf.voters, cc.nodeId), learners: sortedWith(conf.learners, cc.nodeId) };
    case 'removeNode':
      return { voters: sortedWithout(conf.voters, cc.nodeId), learners: sortedWithout(conf.learners, cc.nodeId) };
  }
}

/** Whether `cc` is a real one-server change that leaves at least one voter. */
export function isValidConfChange(conf: ConfState, cc: ConfChange): boolean {
  const next = applyConfChange(conf, cc);
  if (next.voters.length === 0) return false;
  return !confEquals(conf, next);
}

export function confEquals(a: ConfState, b: ConfState): boolean {
  return a.voters.join('\u0000') === b.voters.join('\u0000') && a.learners.join('\u0000') === b.learners.join('\u0000');
}

export function isVoter(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id);
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}
