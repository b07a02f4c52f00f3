// proxy mode: every node on 127.0.0.1, every link through a FaultProxy. Node i reaches
// node j through a proxy of its own for the ordered pair i→j (each node gets its own
// `--peers` list naming those proxies), and the test's clients reach node i through one
// client proxy per node. Cutting i–j stalls both i→j and j→i.

import assert from 'node:assert/strict';
import { clientsEndpoint, CutSet, type Endpoint } from './cuts.js';
import { FaultProxy } from './fault-proxy.js';
import type { ChaosNetwork } from './network.js';
import { freeFixedPorts } from '../../helpers/ports.js';

const host = '127.0.0.1';

interface ProxiedNode {
  readonly clientPort: number;
  readonly peerPort: number;
  readonly clientProxy: FaultProxy;
  /** Proxies this node dials, by the id of the node they lead to. */
  readonly outbound: Map<string, FaultProxy>;
}

class ProxyNetwork implements ChaosNetwork {
  readonly mode = 'proxy' as const;
  readonly canDelay = true;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly ids: readonly string[],
    private readonly nodes: ReadonlyMap<string, ProxiedNode>,
    readonly description: string,
  ) {}

  bindHost(id: string): string {
    this.node(id);
    return host;
  }

  clientPort(id: string): number {
    return this.node(id).clientPort;
  }

  peerPort(id: string): number {
    return this.node(id).peerPort;
  }

  peersArg(id: string): string {
    const self = this.node(id);
    return this.ids
      .map((other) => {
        if (other === id) return `${id}@${host}:${self.clientPort}@${self.peerPort}`;
        const toOther = self.outbound.get(other)!;
        return `${other}@${host}:${this.node(other).clientProxy.port}@${toOther.port}`;
      })
      .join(',');
  }

  clientAddress(id: string): { host: string; port: number } {
    return { host, port: this.node(id).clientProxy.port };
  }

  spawnPrefix(id: string): string[] {
    this.node(id);
    return [];
  }

  async setCuts(pairs: ReadonlyArray<readonly [Endpoint, Endpoint]>): Promise<void> {
    this.assertOpen();
    const cuts = new CutSet(this.ids, pairs);
    for (const [id, n] of this.nodes) {
      n.clientProxy.setCut(cuts.has(clientsEndpoint, id));
      for (const [other, p] of n.outbound) p.setCut(cuts.has(id, other));
    }
  }

  heal(): Promise<void> {
    return this.setCuts([]);
  }

  async setDelay(ms: number): Promise<void> {
    this.assertOpen();
    for (const n of this.nodes.values()) for (const p of n.outbound.values()) p.setDelay(ms);
  }

  close(): Promise<void> {
    // The proxies die with the process, so there is nothing to do on exit beyond this.
    this.closing ??= Promise.all([...this.nodes.values()].flatMap((n) => [n.clientProxy, ...n.outbound.values()]).map((p) => p.close())).then(() => {});
    return this.closing;
  }

  private node(id: string): ProxiedNode {
    const n = this.nodes.get(id);
    assert(n !== undefined, `no node '${id}' in this network (${this.ids.join(', ')})`);
    return n;
  }

  private assertOpen(): void {
    assert(this.closing === null, 'the network is closed');
  }
}

export async function createProxyNetwork(ids: readonly string[], description: string): Promise<ChaosNetwork> {
  const ports = await freeFixedPorts(host, 2 * ids.length);
  const nodes = new Map<string, ProxiedNode>();
  ids.forEach((id, k) => {
    nodes.set(id, { clientPort: ports[2 * k]!, peerPort: ports[2 * k + 1]!, clientProxy: new FaultProxy({ host, port: ports[2 * k]! }, host), outbound: new Map() });
  });
  for (const [id, n] of nodes) {
    for (const [other, o] of nodes) if (other !== id) n.outbound.set(other, new FaultProxy({ host, port: o.peerPort }, host));
  }
  const all = [...nodes.values()].flatMap((n) => [n.clientProxy, ...n.outbound.values()]);
  try {
    await Promise.all(all.map((p) => p.listen(0)));
  } catch (e) {
    await Promise.all(all.map((p) => p.close()));
    throw e;
  }
  return new ProxyNetwork(ids, nodes, description);
}
