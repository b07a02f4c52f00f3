// INFO: the node's state as `# Section` headers and `field:value` lines, in Redis's layout
// so monitoring tools and client libraries that parse it keep working.

import os from 'node:os';
import { usedMemoryBytes } from '../server/services.js';
import { REDIS_COMPAT_VERSION } from '../version.js';
import type { CommandContext } from './types.js';

type Field = [string, string | number];
type Section = (ctx: CommandContext) => Field[];

const MiB = 1024 * 1024;

/** Redis's bytesToHuman: `1.50M`, `512B`. */
export function bytesToHuman(n: number): string {
  const units = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n}B` : `${v.toFixed(2)}${units[i]}`;
}

function serverSection(ctx: CommandContext): Field[] {
  const s = ctx.services;
  const uptimeS = Math.floor((ctx.now - s.startTimeMs) / 1000);
  return [
    ['redis_version', REDIS_COMPAT_VERSION],
    ['keymesh_version', s.version],
    ['redis_git_sha1', '00000000'],
    ['redis_git_dirty', 0],
    ['redis_mode', 'standalone'],
    ['os', `${os.type()} ${os.release()} ${os.machine()}`],
    ['arch_bits', process.arch.endsWith('64') ? 64 : 32],
    ['monotonic_clock', 'POSIX clock_gettime'],
    ['multiplexing_api', 'libuv'],
    ['process_id', process.pid],
    ['process_supervised', 'no'],
    ['run_id', s.runId],
    ['tcp_port', s.tcpPort],
    ['server_time_usec', ctx.now * 1000],
    ['uptime_in_seconds', uptimeS],
    ['uptime_in_days', Math.floor(uptimeS / 86400)],
    ['hz', s.config.int('hz')],
    ['configured_hz', s.config.int('hz')],
    ['executable', process.argv[1] ?? process.execPath],
    ['config_file', ''],
    ['io_threads_active', 0],
  ];
}

function clientsSection(ctx: CommandContext): Field[] {
  let maxIn = 0;
  let maxOut = 0;
  for (const c of ctx.services.clients.values()) {
    maxIn = Math.max(maxIn, c.queryBufferBytes);
    maxOut = Math.max(maxOut, c.outputBufferBytes);
  }
  return [
    ['connected_clients', ctx.services.clients.size],
    ['cluster_connections', 0],
    ['maxclients', ctx.services.config.int('maxclients')],
    ['client_recent_max_input_buffer', maxIn],
    ['client_recent_max_output_buffer', maxOut],
    ['blocked_clients', 0],
    ['tracking_clients', 0],
    ['clients_in_timeout_table', 0],
    ['total_blocking_keys', 0],
    ['total_blocking_keys_on_nokey', 0],
  ];
}

function memorySection(ctx: CommandContext): Field[] {
  const stats = ctx.services.stats;
  const used = usedMemoryBytes();
  const rss = process.memoryUsage.rss();
  stats.peakMemoryBytes = Math.max(stats.peakMemoryBytes, used);
  const total = os.totalmem();
  return [
    ['used_memory', used],
    ['used_memory_human', bytesToHuman(used)],
    ['used_memory_rss', rss],
    ['used_memory_rss_human', bytesToHuman(rss)],
    ['used_memory_peak', stats.peakMemoryBytes],
    ['used_memory_peak_human', bytesToHuman(stats.peakMemoryBytes)],
    ['total_system_memory', total],
    ['total_system_memory_human', bytesToHuman(total)],
    ['maxmemory', 0],
    ['maxmemory_human', '0B'],
    ['maxmemory_policy', 'noeviction'],
    ['mem_fragmentation_ratio', (rss / used).toFixed(2)],
    ['mem_allocator', 'v8'],
  ];
}

function persistenceSection(ctx: CommandContext): Field[] {
  return [
    ['loading', 0],
    ['async_loading', 0],
    // 1 while values of a loaded snapshot are still being read in the background (keyspace/lazy-values.ts).
    ['lazy_load_in_progress', ctx.keyspace.lazy === null ? 0 : 1],
  ];
}

function statsSection(ctx: CommandContext): Field[] {
  const st = ctx.services.stats;
  return [
    ['total_connections_received', st.totalConnectionsReceived],
    ['total_commands_processed', st.totalCommandsProcessed],
    ['instantaneous_ops_per_sec', Math.floor(st.opsPerSec.perSecond)],
    ['total_net_input_bytes', st.netInputBytes],
    ['total_net_output_bytes', st.netOutputBytes],
    ['total_net_repl_input_bytes', 0],
    ['total_net_repl_output_bytes', 0],
    ['instantaneous_input_kbps', (st.inputBytesPerSec.perSecond / 1024).toFixed(2)],
    ['instantaneous_output_kbps', (st.outputBytesPerSec.perSecond / 1024).toFixed(2)],
    ['instantaneous_input_repl_kbps', '0.00'],
    ['instantaneous_output_repl_kbps', '0.00'],
    ['rejected_connections', st.rejectedConnections],
    ['expired_keys', ctx.keyspace.expiredKeys],
    ['evicted_keys', 0],
    ['keyspace_hits', st.keyspaceHits],
    ['keyspace_misses', st.keyspaceMisses],
    ['pubsub_channels', 0],
    ['pubsub_patterns', 0],
    ['total_error_replies', st.totalErrorReplies],
  ];
}

function replicationSection(ctx: CommandContext): Field[] {
  return [
    ['role', 'master'],
    ['connected_slaves', 0],
    ['master_failover_state', 'no-failover'],
    // One id per node lifetime, as Redis's replid; the run id serves.
    ['master_replid', ctx.services.runId],
    ['master_replid2', '0'.repeat(40)],
    ['master_repl_offset', ctx.services.appliedIndex],
    ['second_repl_offset', -1],
    ['repl_backlog_active', 0],
    ['repl_backlog_size', MiB],
    ['repl_backlog_first_byte_offset', 0],
    ['repl_backlog_histlen', 0],
  ];
}

function cpuSection(): Field[] {
  const u = process.cpuUsage();
  const sys = (u.system / 1e6).toFixed(6);
  const user = (u.user / 1e6).toFixed(6);
  return [
    ['used_cpu_sys', sys],
    ['used_cpu_user', user],
    ['used_cpu_sys_children', '0.000000'],
    ['used_cpu_user_children', '0.000000'],
    ['used_cpu_sys_main_thread', sys],
    ['used_cpu_user_main_thread', user],
  ];
}

function clusterSection(): Field[] {
  return [['cluster_enabled', 0]];
}

function commandstatsSection(ctx: CommandContext): Field[] {
  const out: Field[] = [];
  for (const [name, c] of ctx.services.stats.commandCalls) {
    if (c.calls === 0) continue;
    const usec = Math.round(c.usec);
    out.push([
      `cmdstat_${name}`,
      `calls=${c.calls},usec=${usec},usec_per_call=${(c.usec / c.calls).toFixed(2)},rejected_calls=0,failed_calls=${c.failed}`,
    ]);
  }
  return out;
}

function keyspaceSection(ctx: CommandContext): Field[] {
  const out: Field[] = [];
  for (const db of ctx.keyspace.dbs) {
    if (db.size === 0) continue;
    out.push([`db${db.id}`, `keys=${db.size},expires=${db.expires.size},avg_ttl=0`]);
  }
  return out;
}

/** Built-in sections in Redis's order; `default` marks those plain INFO shows. */
const builtins: readonly { name: string; title: string; render: Section; default: boolean }[] = [
  { name: 'server', title: 'Server', render: serverSection, default: true },
  { name: 'clients', title: 'Clients', render: clientsSection, default: true },
  { name: 'memory', title: 'Memory', render: memorySection, default: true },
  { name: 'persistence', title: 'Persistence', render: persistenceSection, default: true },
  { name: 'stats', title: 'Stats', render: statsSection, default: true },
  { name: 'replication', title: 'Replication', render: replicationSection, default: true },
  { name: 'cpu', title: 'CPU', render: cpuSection, default: true },
  { name: 'modules', title: 'Modules', render: () => [], default: true },
  { name: 'commandstats', title: 'Commandstats', render: commandstatsSection, default: false },
  { name: 'cluster', title: 'Cluster', render: clusterSection, default: true },
  { name: 'keyspace', title: 'Keyspace', render: keyspaceSection, default: true },
];

/** A section's fields with a provider's fields merged in: same names replaced, new ones appended. */
function sectionFields(ctx: CommandContext, name: string, base: Section | undefined): Field[] {
  const fields = new Map<string, string | number>(base === undefined ? [] : base(ctx));
  const provider = ctx.services.infoProviders.get(name);
  if (provider !== undefined) for (const [k, v] of provider()) fields.set(k, v);
  return [...fields];
}

function renderSection(title: string, fields: readonly Field[]): string {
  let s = `# ${title}\r\n`;
  for (const [k, v] of fields) s += `${k}:${v}\r\n`;
  return s;
}

/** Which sections `INFO args…` asks for, as lower-case names in output order. */
function selectSections(ctx: CommandContext, args: readonly string[]): string[] {
  const asked = new Set(args.map((a) => a.toLowerCase()));
  if (asked.size === 0) asked.add('default');
  const everything = asked.has('all') || asked.has('everything');
  const defaults = everything || asked.has('default');
  const out: string[] = [];
  for (const b of builtins) {
    if (asked.has(b.name) || (b.default && defaults) || everything) out.push(b.name);
  }
  for (const name of ctx.services.infoProviders.keys()) {
    if (!out.includes(name) && (asked.has(name) || defaults)) out.push(name);
  }
  return out;
}

/** The INFO text for `args` (section names, `default`, `all`, `everything`). */
export function renderInfo(ctx: CommandContext, args: readonly string[]): string {
  const parts: string[] = [];
  for (const name of selectSections(ctx, args)) {
    const b = builtins.find((x) => x.name === name);
    const title = b?.title ?? name.charAt(0).toUpperCase() + name.slice(1);
    parts.push(renderSection(title, sectionFields(ctx, name, b?.render)));
  }
  return parts.join('\r\n');
}
