// Server settings: one table that the command line, environment, config file and
// CONFIG GET/SET all read and write, so a setting exists in one place only.
//
// Names are Redis's where Redis has the setting (`port`, `requirepass`, `timeout`,
// `proto-max-bulk-len`, `appendfsync`…), so CONFIG GET behaves as Redis users expect.

export type SettingValue = string | number | boolean;

interface SettingDef {
  readonly name: string;
  readonly kind: 'int' | 'bytes' | 'string' | 'bool' | 'enum';
  readonly default: SettingValue;
  /** Settable at runtime with CONFIG SET. */
  readonly mutable: boolean;
  /** CONFIG SET of it needs `enable-protected-configs` (Redis's protected configs): it can harm the data. */
  readonly protected?: boolean;
  readonly choices?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  /** One line for `--help` and docs. */
  readonly help: string;
}

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

export const settingDefs: readonly SettingDef[] = [
  { name: 'port', kind: 'int', default: 9000, mutable: false, min: 0, max: 65535, help: 'client port (0 picks a free one)' },
  { name: 'bind', kind: 'string', default: '127.0.0.1', mutable: false, help: 'address to listen on' },
  { name: 'dir', kind: 'string', default: './.keymesh-data', mutable: false, help: 'data directory (log and snapshots)' },
  { name: 'requirepass', kind: 'string', default: '', mutable: true, help: 'password clients must AUTH with (empty: none)' },
  { name: 'timeout', kind: 'int', default: 0, mutable: true, min: 0, max: 2147483647, help: 'close clients idle this many seconds (0: never)' },
  { name: 'maxclients', kind: 'int', default: 10000, mutable: true, min: 1, max: 1000000, help: 'most simultaneous client connections' },
  { name: 'databases', kind: 'int', default: 16, mutable: false, min: 1, max: 1024, help: 'number of databases (SELECT 0..n-1)' },
  { name: 'proto-max-bulk-len', kind: 'bytes', default: 512 * MiB, mutable: true, min: 1024 * 1024, max: 512 * MiB, help: 'largest bulk string a request may carry' },
  { name: 'client-query-buffer-limit', kind: 'bytes', default: 1 * GiB, mutable: true, min: 1024 * 1024, max: 4 * GiB, help: 'most bytes buffered for one unfinished request' },
  { name: 'client-output-buffer-limit-bytes', kind: 'bytes', default: 256 * MiB, mutable: true, min: 1024 * 1024, max: 16 * GiB, help: 'a client whose unsent replies exceed this is closed' },
  { name: 'inline-replies', kind: 'enum', default: 'plain', choices: ['plain', 'resp'], mutable: true, help: 'plain: human text for inline commands; resp: Redis strict behaviour' },
  { name: 'hz', kind: 'int', default: 10, mutable: true, min: 1, max: 500, help: 'background task frequency (active expiry, timeouts)' },
  { name: 'active-expire-effort', kind: 'int', default: 1, mutable: true, min: 1, max: 10, help: 'active expiry effort, as Redis (1..10)' },
  { name: 'persistence', kind: 'bool', default: true, mutable: false, help: 'keep the log and snapshots on disk (no: memory only, like Redis without AOF/RDB)' },
  { name: 'snapshot-threshold', kind: 'bytes', default: 64 * MiB, mutable: true, min: 1024, max: 1024 * GiB, help: 'snapshot once the log has grown by this many bytes (or by the last snapshot\'s size if larger)' },
  { name: 'repair-log', kind: 'bool', default: false, mutable: false, help: 'at start, cut the log at mid-log damage instead of refusing to start' },
  { name: 'appendfsync', kind: 'enum', default: 'everysec', choices: ['always', 'everysec', 'no'], mutable: true, help: 'when the log is fsynced' },
  { name: 'node-id', kind: 'string', default: '', mutable: false, help: 'this node\'s id in the cluster (one of --peers); empty: a single node' },
  { name: 'peers', kind: 'string', default: '', mutable: false, help: 'cluster members as id@host:port[@peerport],… (peer port defaults to port + 10000); empty: a single node' },
  { name: 'consistency', kind: 'enum', default: 'strong', choices: ['strong', 'quorum', 'eventual'], mutable: true, help: 'default consistency level of connections (CONSISTENCY changes it per connection)' },
  { name: 'cluster-secret', kind: 'string', default: '', mutable: false, help: 'shared by every member: peers prove they hold it when they connect, so nothing else can use the peer port (empty: no check)' },
  { name: 'cluster-join', kind: 'bool', default: false, mutable: false, help: 'start with an empty log and wait to be added with CLUSTER ADDNODE (instead of bootstrapping from --peers)' },
  { name: 'cluster-tick-ms', kind: 'int', default: 50, mutable: false, min: 1, max: 10000, help: 'Raft tick period; elections time out after 10 ticks, heartbeats every 2' },
  { name: 'cluster-lease-reads', kind: 'bool', default: false, mutable: false, help: 'strong reads on the leader use a lease (no heartbeat round) while it holds; safe while tick rates differ by under 20% over an election timeout' },
  // A wall-clock jump without touching the system clock, for fault-injection runs (npm run chaos):
  // it moves entry timestamps and so expiry; Raft timing (elections, leases) runs on ticks and
  // the monotonic clock and must not notice.
  { name: 'clock-offset-ms', kind: 'int', default: 0, mutable: true, protected: true, min: -3153600000000, max: 3153600000000, help: 'milliseconds added to this node\'s wall clock (for fault-injection tests)' },
  // As Redis 7's: who may run DEBUG (it can stall the node) and CONFIG SET protected settings
  // (clock-offset-ms moves expiry times on every replica). `local`: loopback connections only.
  { name: 'enable-debug-command', kind: 'enum', default: 'local', choices: ['no', 'yes', 'local'], mutable: false, help: 'who may run DEBUG: no one, anyone (yes), or local connections (local)' },
  { name: 'enable-protected-configs', kind: 'enum', default: 'no', choices: ['no', 'yes', 'local'], mutable: false, help: 'who may CONFIG SET protected settings (clock-offset-ms): no one, anyone (yes), or local connections (local)' },
  { name: 'loglevel', kind: 'enum', default: 'notice', choices: ['debug', 'verbose', 'notice', 'warning'], mutable: true, help: 'log verbosity' },
];

const defsByName = new Map(settingDefs.map((d) => [d.name, d]));

/** Whether CONFIG SET of `name` needs `enable-protected-configs`. */
export function isProtectedSetting(name: string): boolean {
  return defsByName.get(name.toLowerCase())?.protected === true;
}

/**
 * Whether a client at `addr` ("host:port", as CLIENT LIST shows it) may use a feature
 * whose setting is `policy` (no|yes|local); `local` means a loopback address, as Redis's
 * islocalClient.
 */
export function allowedFor(policy: string, addr: string): boolean {
  if (policy === 'yes') return true;
  if (policy !== 'local') return false;
  const host = addr.slice(0, addr.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return host === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(host);
}

/**
 * Redis settings KeyMesh has no knob for, answered by CONFIG GET because tools ask
 * (redis-benchmark reads `save` and `appendonly` at start and warns when they are missing).
 */
const reportedOnly: readonly (readonly [string, (c: Config) => string])[] = [
  ['appendonly', (c) => c.text('persistence')],
  // Snapshots follow the log's growth (snapshot-threshold), not Redis's save points.
  ['save', () => ''],
];

/** Parses `1gb`, `512mb`, `64kb`, `100` as Redis's memtoull does. */
export function parseBytes(s: string): number | undefined {
  const m = /^(\d+)(b|k|kb|m|mb|g|gb)?$/i.exec(s.trim());
  if (m === null) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1000, kb: 1024, m: 1e6, mb: MiB, g: 1e9, gb: GiB };
  return n * mult[unit]!;
}

/** Matches a CONFIG GET pattern (Redis glob); imported lazily to keep config free of keyspace deps. */
export type GlobMatcher = (pattern: string, s: string) => boolean;

export class Config {
  private readonly values = new Map<string, SettingValue>();
  /** Called after a successful change, so the server can apply it (e.g. new limits). */
  onChange: (name: string, value: SettingValue) => void = () => {};

  constructor(initial: Record<string, SettingValue> = {}) {
    for (const d of settingDefs) this.values.set(d.name, d.default);
    for (const [k, v] of Object.entries(initial)) {
      const err = this.set(k, String(v), true);
      if (err !== null) throw new Error(err);
    }
  }

  static has(name: string): boolean {
    return defsByName.has(name);
  }

  int(name: string): number {
    const v = this.values.get(name);
    if (typeof v !== 'number') throw new Error(`setting ${name} is not a number`);
    return v;
  }

  bool(name: string): boolean {
    const v = this.values.get(name);
    if (typeof v !== 'boolean') throw new Error(`setting ${name} is not yes/no`);
    return v;
  }

  str(name: string): string {
    return String(this.values.get(name));
  }

  /**
   * Validates and sets `name` from text. Returns null or an error text in Redis's words.
   * `initial` allows immutable settings (start-up only).
   */
  set(name: string, text: string, initial = false): string | null {
    const d = defsByName.get(name.toLowerCase());
    if (d === undefined) return `ERR Unknown option or number of arguments for CONFIG SET - '${name}'`;
    if (!d.mutable && !initial) return `ERR CONFIG SET failed (possibly related to argument '${d.name}') - can't set immutable config`;
    let v: SettingValue;
    const bad = `ERR CONFIG SET failed (possibly related to argument '${d.name}') - argument couldn't be parsed into an integer`;
    switch (d.kind) {
      case 'int': {
        if (!/^-?\d+$/.test(text)) return bad;
        v = Number(text);
        break;
      }
      case 'bytes': {
        const b = parseBytes(text);
        if (b === undefined) return bad;
        v = b;
        break;
      }
      case 'bool':
        if (!/^(yes|no)$/i.test(text)) return `ERR CONFIG SET failed (possibly related to argument '${d.name}') - argument must be 'yes' or 'no'`;
        v = text.toLowerCase() === 'yes';
        break;
      case 'enum':
        if (!d.choices!.includes(text.toLowerCase())) return `ERR CONFIG SET failed (possibly related to argument '${d.name}') - argument(s) must be one of the following: ${d.choices!.join(', ')}`;
        v = text.toLowerCase();
        break;
      default:
        v = text;
    }
    if (typeof v === 'number' && ((d.min !== undefined && v < d.min) || (d.max !== undefined && v > d.max))) {
      return `ERR CONFIG SET failed (possibly related to argument '${d.name}') - argument must be between ${d.min} and ${d.max} inclusive`;
    }
    this.values.set(d.name, v);
    this.onChange(d.name, v);
    return null;
  }

  /** Text form as CONFIG GET shows it. */
  text(name: string): string {
    const v = this.values.get(name);
    if (typeof v === 'boolean') return v ? 'yes' : 'no';
    return String(v);
  }

  /** Name/value pairs whose names match `pattern` (CONFIG GET). */
  matching(pattern: string, match: GlobMatcher): [string, string][] {
    const out: [string, string][] = [];
    for (const d of settingDefs) if (match(pattern.toLowerCase(), d.name)) out.push([d.name, this.text(d.name)]);
    for (const [name, value] of reportedOnly) if (match(pattern.toLowerCase(), name)) out.push([name, value(this)]);
    return out;
  }

  all(): ReadonlyMap<string, SettingValue> {
    return this.values;
  }
}
