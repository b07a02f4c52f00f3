// Proof of a shared cluster secret in the peer handshake (`--cluster-secret`).
//
// Whoever can reach a peer port could otherwise vote, append entries or forward client
// commands past `requirepass`. The dialer sends a fresh nonce and an HMAC of the
// handshake under the secret; the acceptor checks it and answers with its own HMAC over
// the same nonce, so each side learns the other holds the secret, and the secret never
// crosses the wire. This keeps out anyone who can connect but cannot watch the traffic;
// the frames after the handshake are not authenticated one by one, so an untrusted
// network between nodes still needs a private link or a tunnel.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type HandshakeRole = 'dial' | 'accept';

/**
 * The proof field of an acceptor's reply that refuses the handshake: the dialer can then
 * say so. A refusal carries no real proof, so nobody can use a node to compute proofs.
 */
export const REFUSED = 'refused';
/** A refusal because the acceptor does not count the dialer among its peers (removed, or not added yet). */
export const REFUSED_NOT_A_PEER = 'refused: not a peer';

const NONCE_BYTES = 16;
const NONCE_PATTERN = /^[0-9a-f]{32}$/;

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('hex');
}

export function isNonce(s: string): boolean {
  return NONCE_PATTERN.test(s);
}

/** HMAC-SHA256 (hex) binding the secret to one handshake: who sends it, between whom, for which nonce. */
export function handshakeProof(secret: string, role: HandshakeRole, clusterId: string, from: string, to: string, nonce: string): string {
  return createHmac('sha256', secret).update(`keymesh-peer-v1\n${role}\n${clusterId}\n${from}\n${to}\n${nonce}`).digest('hex');
}

/**
 * Why a handshake's proof is not acceptable to a node holding `secret` (null: none), or
 * null when it is. `expected` is computed only when there is a secret to compare with.
 */
export function proofProblem(secret: string | null, proof: string, expected: () => string): string | null {
  if (secret === null) return proof === '' ? null : 'the peer has a cluster secret and this node has none';
  if (proof === '') return 'the peer has no cluster secret and this node has one';
  const want = Buffer.from(expected(), 'latin1');
  const got = Buffer.from(proof, 'latin1');
  return want.length === got.length && timingSafeEqual(want, got) ? null : 'wrong cluster secret';
}
