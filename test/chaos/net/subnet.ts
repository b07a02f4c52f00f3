// Choosing a private /24 for a run's bridge that no existing route or address overlaps.

import assert from 'node:assert/strict';

/** First two octets of every subnet we use: 10.213.X.0/24. */
const base = [10, 213] as const;

interface Cidr {
  readonly addr: number;
  readonly len: number;
}

const routeTypes = new Set(['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'nat', 'anycast']);

function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

export function parseCidr(text: string): Cidr | null {
  const [a, l] = text.split('/');
  const addr = parseIpv4(a ?? '');
  const len = l === undefined ? 32 : Number(l);
  if (addr === null || !Number.isInteger(len) || len < 0 || len > 32) return null;
  return { addr, len };
}

function overlaps(x: Cidr, y: Cidr): boolean {
  const len = Math.min(x.len, y.len);
  if (len === 0) return true;
  const shift = 32 - len;
  return Math.floor(x.addr / 2 ** shift) === Math.floor(y.addr / 2 ** shift);
}

/**
 * Prefixes in use, from `ip -4 route show table all` and `ip -4 -o addr show` output.
 * Default routes are left out: they overlap everything and a more specific route wins anyway.
 */
export function prefixesInUse(routes: string, addrs: string): Cidr[] {
  const out: Cidr[] = [];
  for (const line of routes.split('\n')) {
    const words = line.trim().split(/\s+/);
    const dest = routeTypes.has(words[0] ?? '') ? words[1] : words[0];
    const c = dest === undefined || dest === 'default' ? null : parseCidr(dest);
    if (c !== null && c.len > 0) out.push(c);
  }
  for (const m of addrs.matchAll(/\binet (\d+\.\d+\.\d+\.\d+\/\d+)/g)) {
    const c = parseCidr(m[1]!);
    if (c !== null) out.push(c);
  }
  return out;
}

/** A stable number from a string (FNV-1a), to spread runs with different tags over subnets. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The third octet X of a free 10.213.X.0/24, starting from one derived from `tag`. */
export function pickSubnet(tag: string, inUse: readonly Cidr[]): string {
  const start = hash(tag) % 254;
  for (let i = 0; i < 254; i++) {
    const x = ((start + i) % 254) + 1;
    const candidate = parseCidr(`${base[0]}.${base[1]}.${x}.0/24`);
    assert(candidate !== null);
    if (!inUse.some((c) => overlaps(c, candidate))) return `${base[0]}.${base[1]}.${x}`;
  }
  throw new Error(`no free /24 in ${base[0]}.${base[1]}.0.0/16: every one overlaps an existing route`);
}
