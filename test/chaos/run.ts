// One chaos run: network, cluster, clients, nemesis and monitor for `timeS` seconds; then
// heal everything, wait for the cluster to settle, read every key's final state from
// every node, check the history and write history.jsonl, results.json and report.html.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeyMeshClient } from '../../src/client/client.js';
import { checkHistory, verdictLine } from './check/index.js';
import { ChaosCluster } from './cluster.js';
import { callWithTimeout, ClientPool, sleep } from './clients.js';
import type { Anomaly, CheckResult, Level, Workload } from './history.js';
import { LeaderMonitor, type NodeView } from './monitor.js';
import { Nemesis, type FaultKind } from './nemesis.js';
import { createNetwork, type ChaosNetwork } from './net/network.js';
import { Recorder } from './recorder.js';
import { renderReport } from './report/index.js';
import { recordOf, type PlannedOp } from './workload.js';

export interface RunOptions {
  readonly nodes: number;
  readonly timeS: number;
  readonly nemeses: readonly FaultKind[];
  readonly workloads: readonly Workload[];
  readonly levels: readonly Level[];
  readonly clients: number;
  readonly seed: number;
  readonly out: string;
  readonly network: 'auto' | 'netns' | 'proxy';
  readonly tickMs: number;
  readonly leaseReads: boolean;
  readonly opTimeoutMs: number;
  readonly thinkMs: number;
  readonly settleTimeoutS: number;
  /** The command line that replays this run, for the report. */
  readonly replay: string;
  /** Print progress lines. */
  readonly log: (line: string) => void;
}

export interface RunOutcome {
  readonly valid: boolean;
  readonly verdict: string;
  readonly results: readonly CheckResult[];
  readonly out: string;
  /** How the nodes were networked (netns or proxy, and why). */
  readonly network: string;
  /** Faults the nemesis started, by kind ("kill 3, pause 2, …"). */
  readonly faults: string;
}

export async function runChaos(o: RunOptions): Promise<RunOutcome> {
  mkdirSync(o.out, { recursive: true });
  const ids = Array.from({ length: o.nodes }, (_, i) => `n${i + 1}`);
  const net = await createNetwork(ids, { mode: o.network, tag: String(o.seed % 100000) });
  o.log(`network: ${net.description}`);
  const networkDescription = net.description;
  const rec = new Recorder({
    type: 'meta',
    seed: o.seed,
    nodes: ids,
    timeS: o.timeS,
    nemeses: o.nemeses,
    workloads: o.workloads,
    levels: o.levels,
    clients: o.clients,
    network: net.description,
    startedAt: new Date().toISOString(),
    replay: o.replay,
  });
  // Snapshots every few seconds of load: restarts load them, compaction makes nodes that
  // were down or cut off catch up by InstallSnapshot, all under the same faults.
  const snapshotArgs = ['--snapshot-threshold', '32kb'];
  const cluster = new ChaosCluster(ids, net, o.out, { tickMs: o.tickMs, leaseReads: o.leaseReads, extraArgs: ['--loglevel', 'notice', ...snapshotArgs] });
  const runFailures: Anomaly[] = [];
  try {
    await cluster.start();
    const firstLeader = await settle(net, ids, 30_000);
    if (firstLeader === null) throw new Error('the cluster elected no leader within 30 s of starting');
    o.log(`cluster of ${o.nodes} up, leader ${firstLeader}; running ${o.timeS} s of ${o.workloads.join('+')} at ${o.levels.join('+')} with ${o.nemeses.join('+') || 'no faults'}`);

    const monitor = new LeaderMonitor(ids, net, rec);
    const clients = new ClientPool(
      { clients: o.clients, levels: o.levels, workloads: o.workloads, nodes: ids, opTimeoutMs: o.opTimeoutMs, thinkMs: o.thinkMs, seed: o.seed },
      net,
      rec,
    );
    const nemesis = new Nemesis(
      { faults: o.nemeses, seed: o.seed, gapMs: [2000, 6000], holdMs: [3000, 12000], clockJumpMs: 120_000 },
      cluster,
      net,
      monitor,
      rec,
    );
    monitor.start();
    clients.start();
    nemesis.start();
    const progress = setInterval(() => o.log(`  t=${Math.round(rec.now() / 1000)} s, ${rec.ops} ops, leader ${monitor.leader() ?? '?'}`), 15_000);
    await sleep(o.timeS * 1000);
    clearInterval(progress);

    await nemesis.stop();
    await clients.stop();
    await net.heal();
    await cluster.healAll();
    rec.markHealed();
    for (const e of nemesis.errors) runFailures.push({ kind: 'nemesis-error', message: e });
    const settled = await settle(net, ids, o.settleTimeoutS * 1000);
    await monitor.stop();
    if (settled === null) {
      runFailures.push({ kind: 'unavailable', message: `the cluster did not settle (one leader, every node caught up) within ${o.settleTimeoutS} s of healing` });
    } else {
      o.log(`healed and settled, leader ${settled}; reading the final state of ${clients.keys.size} keys from every node`);
      await finalReads(net, ids, clients.keys, rec, o.opTimeoutMs);
    }
  } catch (err) {
    runFailures.push({ kind: 'run-error', message: err instanceof Error ? err.message : String(err) });
  } finally {
    await cluster.stop();
    await net.close();
  }
  for (const c of cluster.crashes) runFailures.push({ kind: 'crash', message: c });

  const history = rec.history();
  rec.write(join(o.out, 'history.jsonl'));
  const results: CheckResult[] = [...checkHistory(history)];
  if (runFailures.length > 0) {
    results.push({ workload: o.workloads[0]!, level: o.levels[0]!, valid: false, anomalies: runFailures, counts: {} });
  }
  const valid = results.every((r) => r.valid);
  const verdict = verdictLine(results, o.seed);
  writeFileSync(join(o.out, 'results.json'), JSON.stringify({ verdict, results }, null, 1) + '\n');
  writeFileSync(join(o.out, 'report.html'), renderReport(history, results, verdict));
  const byKind = new Map<string, number>();
  for (const r of history) if (r.type === 'nemesis' && r.phase === 'start') byKind.set(r.fault, (byKind.get(r.fault) ?? 0) + 1);
  const faults = [...byKind].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return { valid, verdict, results, out: o.out, network: networkDescription, faults };
}

/**
 * Waits until every node names the same leader in the same term and has applied what
 * that leader has committed. Returns the leader, or null on timeout.
 */
async function settle(net: ChaosNetwork, ids: readonly string[], timeoutMs: number): Promise<string | null> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    const views = await Promise.all(ids.map((id) => LeaderMonitor.probe(net, id)));
    if (views.every((v): v is NodeView => v !== null)) {
      const leader = views[0]!.leader;
      const term = views[0]!.term;
      const lv = leader === null ? undefined : views[ids.indexOf(leader)];
      if (leader !== null && lv !== undefined && views.every((v) => v.leader === leader && v.term === term && v.applied >= lv.commit)) return leader;
    }
    await sleep(250);
  }
  return null;
}

/** A strong GET of every key on every node (and a PTTL of every ttl key), recorded as final reads. */
async function finalReads(net: ChaosNetwork, ids: readonly string[], keys: ReadonlyMap<string, Workload>, rec: Recorder, timeoutMs: number): Promise<void> {
  const sorted = [...keys.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await Promise.all(
    ids.map(async (node, i) => {
      const { host, port } = net.clientAddress(node);
      const c = await KeyMeshClient.connect({ host, port, timeoutMs: 2000 });
      try {
        await callWithTimeout(c, ['CONSISTENCY', 'strong'], timeoutMs);
        const plans = sorted.flatMap(([key, workload]): PlannedOp[] => [
          { workload, f: 'read', key, argv: ['GET', key] },
          ...(workload === 'ttl' ? [{ workload, f: 'pttl', key, argv: ['PTTL', key] } as const] : []),
        ]);
        for (const plan of plans) {
          const key = plan.key;
          // A final read that fails (a late election, say) is retried: the final state must be known.
          for (let attempt = 1; ; attempt++) {
            const invokeMs = rec.now();
            const r = await callWithTimeout(c, plan.argv, timeoutMs);
            const d = recordOf(plan, { process: -1 - i, client: -1, node, level: 'strong', invokeMs, completeMs: rec.now(), final: true }, r);
            if (d.outcome === 'ok') {
              rec.op(d);
              break;
            }
            if (r.kind === 'lost' || attempt === 5) throw new Error(`final read of ${key} on ${node} failed: ${d.error ?? '?'}`);
            await sleep(200);
          }
        }
      } finally {
        c.destroy();
      }
    }),
  );
}
