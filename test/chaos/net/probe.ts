// The parent side of probe-agent.js: spawn it (inside a namespace, through a prefix such as
// `ip netns exec NS`), wait until it listens, ask it to dial, stop it. Plus a dial from this
// process, for the clients' side of the network.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const agentPath = fileURLToPath(new URL('./probe-agent.js', import.meta.url));
const readyTimeoutMs = 10_000;

export class ProbeAgent {
  private readonly replies: Array<(line: string) => void> = [];
  /** Settles when the agent process has exited. */
  readonly exited: Promise<void>;
  private stderr = '';

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        for (const answer of this.replies.splice(0)) answer('fail agent exited');
        resolve();
      }),
    );
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-2000);
    });
  }

  /** Starts an agent that answers as `id` on listenHost at each of `listenPorts`, spawned through `prefix`. */
  static async start(prefix: readonly string[], id: string, listenHost: string, listenPorts: readonly number[]): Promise<ProbeAgent> {
    const argv = [...prefix, process.execPath, agentPath, id, listenHost, listenPorts.join(',')];
    const agent = new ProbeAgent(spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
    try {
      await agent.waitReady();
    } catch (e) {
      await agent.stop();
      throw e;
    }
    return agent;
  }

  /** Dials host:port from where the agent runs; resolves with the greeting (a node id) or null. */
  async dial(host: string, port: number, timeoutMs: number): Promise<string | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return null;
    const reply = new Promise<string>((resolve) => this.replies.push(resolve));
    this.child.stdin!.write(`dial ${host} ${port} ${timeoutMs}\n`);
    const line = await reply;
    return line.startsWith('ok ') ? line.slice(3) : null;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }

  private waitReady(): Promise<void> {
    return new Promise((resolve, reject) => {
      const lines = createInterface({ input: this.child.stdout! });
      const timer = setTimeout(() => reject(new Error(`probe agent not ready after ${readyTimeoutMs} ms: ${this.stderr.trim()}`)), readyTimeoutMs);
      this.child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`probe agent exited (${signal ?? `code ${code}`}) before it was ready: ${this.stderr.trim()}`));
      });
      lines.on('line', (line) => {
        if (line === 'ready') {
          clearTimeout(timer);
          resolve();
          return;
        }
        const answer = this.replies.shift();
        assert(answer !== undefined, `probe agent said '${line}' unasked`);
        answer(line);
      });
    });
  }
}

/** Dials host:port from this process; resolves with the greeting line (a node id) or null on failure or timeout. */
export function dialGreeting(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = '';
    const finish = (greeting: string | null): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(greeting);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    s.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      const nl = got.indexOf('\n');
      if (nl >= 0) finish(got.slice(0, nl));
    });
    s.on('error', () => finish(null));
    s.on('close', () => finish(null));
  });
}

/**
 * Which ordered node pairs, and which client-to-node links, connect: a sorted list such
 * as ['clients>n1', 'n1>n2']. The two probes say whether one link works now.
 */
export async function linksUp(
  ids: readonly string[],
  reaches: (from: string, to: string) => Promise<boolean>,
  clientsReach: (to: string) => Promise<boolean>,
): Promise<string[]> {
  const links: string[] = [];
  const checks: Promise<void>[] = [];
  for (const from of ids) {
    for (const to of ids) if (from !== to) checks.push(reaches(from, to).then((ok) => void (ok && links.push(`${from}>${to}`))));
    checks.push(clientsReach(from).then((ok) => void (ok && links.push(`clients>${from}`))));
  }
  await Promise.all(checks);
  return links.sort();
}
