// Ports for nodes that start (and restart) later, on 127.0.0.1.
//
// They are taken from below the kernel's ephemeral range: a port picked by listening on
// port 0 comes from that range, and while its node is down (killed by the nemesis) any
// outgoing connection, such as a proxy dialling upstream, may be given it, so the node
// could not restart.

import { readFileSync } from 'node:fs';
import net from 'node:net';

const ephemeralLowDefault = 32768;
/** Lowest port we hand out: clear of well-known ports and of KeyMesh's default 9000/19000. */
const portLow = 20000;
const probesMax = 2000;

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
 * `count` distinct ports free on `host` right now, from a random start below the ephemeral
 * range (so concurrent runs rarely probe the same ports). Another process may still take
 * one before the node binds it; the node then fails to start with EADDRINUSE, loudly.
 */
export async function freeFixedPorts(host: string, count: number): Promise<number[]> {
  const high = Math.max(ephemeralLow(), portLow + 2 * probesMax);
  const span = high - portLow;
  let port = portLow + Math.floor(Math.random() * span);
  const ports: number[] = [];
  for (let probe = 0; probe < probesMax && ports.length < count; probe++) {
    if (await isFree(host, port)) ports.push(port);
    port = port + 1 >= high ? portLow : port + 1;
  }
  if (ports.length < count) throw new Error(`found only ${ports.length} of ${count} free ports on ${host} in ${portLow}-${high - 1}`);
  return ports;
}
