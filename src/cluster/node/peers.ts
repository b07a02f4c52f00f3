// The `--peers` list: `id@host:port[@peerport],…`. Each entry names a node's client
// address; its peer (Raft) port defaults to client port + 10000, as Redis Cluster's bus.

import type { NodeId } from '../../raft/types.js';

export interface PeerAddress {
  readonly id: NodeId;
  readonly host: string;
  /** Client port. */
  readonly port: number;
  /** Peer (Raft) port. */
  readonly peerPort: number;
}

/** Redis Cluster's convention for the bus port. */
export const peerPortOffset = 10000;

const ID = /^[A-Za-z0-9_.-]{1,64}$/;

function parsePort(text: string, what: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new Error(`${what}: '${text}' is not a port`);
  return Number(text);
}

/** Parses one `id@host:port[@peerport]` entry; throws with a readable message. */
export function parsePeer(entry: string): PeerAddress {
  const parts = entry.trim().split('@');
  if (parts.length < 2 || parts.length > 3) throw new Error(`peer '${entry}': expected id@host:port[@peerport]`);
  const [id, hostPort, peer] = parts as [string, string, string | undefined];
  if (!ID.test(id)) throw new Error(`peer '${entry}': node id must be 1-64 letters, digits, '_', '.' or '-'`);
  const colon = hostPort.lastIndexOf(':');
  if (colon <= 0) throw new Error(`peer '${entry}': expected host:port after '@'`);
  const host = hostPort.slice(0, colon);
  const port = parsePort(hostPort.slice(colon + 1), `peer '${entry}'`);
  const peerPort = peer === undefined ? port + peerPortOffset : parsePort(peer, `peer '${entry}'`);
  if (peerPort > 65535) throw new Error(`peer '${entry}': peer port ${peerPort} (client port + ${peerPortOffset}) is out of range; give it with @peerport`);
  return { id, host, port, peerPort };
}

/** Parses the whole list; ids must be unique. */
export function parsePeers(text: string): PeerAddress[] {
  const out: PeerAddress[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const p = parsePeer(entry);
    if (seen.has(p.id)) throw new Error(`peers: node id '${p.id}' appears twice`);
    seen.add(p.id);
    out.push(p);
  }
  if (out.length === 0) throw new Error('peers: empty list');
  return out;
}

export function formatPeer(p: PeerAddress): string {
  return `${p.id}@${p.host}:${p.port}@${p.peerPort}`;
}
