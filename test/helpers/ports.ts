// Ports for servers that tests (and benchmarks) start on 127.0.0.1.
//
// They are taken from below the kernel's ephemeral range. A port found by listening on
// port 0 comes from that range, and until its server binds it any outgoing connection,
// such as one cluster node dialling another, or a proxy dialling upstream, may be given it
// as its local port: the server then fails with EADDRINUSE. Below the ephemeral range only
// another picker like this one can collide, and a random start makes that rare.

import { readFileSync } from 'node:fs';
import net from 'node:net';

const ephemeralLowDefault = 32768;
/** Lowest port we hand out: clear of well-known ports and of KeyMesh's default 9000/19000. */
const portLow = 20000;
const probesMax = 2000;

/** Ports this process has handed out: free when probed, but meant for a server not yet up. */
const handedOut = new Set<number>();

function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : ephemeralLowDefault;
  } catch {
    return ephemeralLowDefault;
  }
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * `count` distinct ports free on `host` right now, never handed out before by this
 * process, from a random start below the ephemeral range (so concurrent test processes
 * rarely probe the same ports). Another process may still take one before the server
 * binds it; the server then fails to start with EADDRINUSE, loudly.
 */
export async function freeFixedPorts(host: string, count: number): Promise<number[]> {
  const high = Math.max(ephemeralLow(), portLow + 2 * probesMax);
  const span = high - portLow;
  let port = portLow + Math.floor(Math.random() * span);
  const ports: number[] = [];
  for (let probe = 0; probe < probesMax && ports.length < count; probe++) {
    if (!handedOut.has(port) && (await isFree(host, port))) ports.push(port);
    port = port + 1 >= high ? portLow : port + 1;
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports on ${host} in ${portLow}-${high - 1}`);
  for (const p of ports) handedOut.add(p);
  return ports;
}

/** One port on 127.0.0.1 that nothing listens on right now; see freeFixedPorts. */
export async function freePort(): Promise<number> {
  const [port] = await freeFixedPorts('127.0.0.1', 1);
  return port!;
}
