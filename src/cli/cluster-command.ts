// `keymesh cluster status|add|remove|failover`: membership administration over the
// client port, with redis-cli's connection options. Every subcommand talks to one node
// (any member: followers forward membership changes to the leader); `status` also asks
// each member for its own indexes, since a node knows only its own commit and applied.
//
// The server answers ADDNODE, REMOVENODE and FAILOVER once the change is proposed, not
// when it has taken effect, so each subcommand then polls CLUSTER NODES until the change
// shows, for a bounded time. Exit status: 0 when the change took effect, 1 otherwise.

import { Command, InvalidArgumentError } from 'commander';
import { KeyMeshClient, type RespValue } from '../client/client.js';
import { passwordOf, withConnectionOptions, type ConnectionFlags } from './connection-options.js';

export interface ClusterTarget {
  host: string;
  port: number;
  password?: string;
}

/** A connection or reply failure: printed as is, exit status 1. */
export class ClusterCliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClusterCliError';
  }
}

const connectTimeoutMs = 3000;
/** Members that do not answer `status` within this long are shown as unreachable. */
const probeTimeoutMs = 1500;
const pollEveryMs = 200;
const addTimeoutSecondsDefault = 60;
const changeTimeoutSecondsDefault = 10;

// ---- one admin connection --------------------------------------------------------

function replyText(v: RespValue): string {
  if (v.type === 'string' || v.type === 'verbatim') return typeof v.value === 'string' ? v.value : v.value.toString('latin1');
  if (v.type === 'error') return v.message;
  if (v.type === 'int' || v.type === 'bignum') return String(v.value);
  return '';
}

class AdminConnection {
  private constructor(
    private readonly client: KeyMeshClient,
    readonly where: string,
  ) {}

  /** Connects and authenticates; a ClusterCliError says why it could not. */
  static async open(target: ClusterTarget, timeoutMs = connectTimeoutMs): Promise<AdminConnection> {
    const where = `${target.host}:${target.port}`;
    let client: KeyMeshClient;
    try {
      client = await KeyMeshClient.connect({ host: target.host, port: target.port, timeoutMs });
    } catch (e) {
      throw new ClusterCliError((e as Error).message);
    }
    const conn = new AdminConnection(client, where);
    if (target.password !== undefined) {
      try {
        await conn.call('AUTH', target.password);
      } catch (e) {
        client.destroy();
        throw new ClusterCliError(`AUTH failed: ${(e as Error).message}`);
      }
    }
    return conn;
  }

  /** The reply as text; an error reply or a lost connection throws a ClusterCliError. */
  async call(...argv: string[]): Promise<string> {
    let v: RespValue;
    try {
      v = await this.client.call(...argv);
    } catch (e) {
      throw new ClusterCliError(`${this.where}: ${(e as Error).message}`);
    }
    if (v.type === 'error') throw new ClusterCliError(`${this.where} answered: ${v.message}${hintFor(v.message)}`);
    return replyText(v);
  }

  close(): void {
    this.client.destroy();
  }
}

function hintFor(message: string): string {
  return /cluster support disabled/.test(message) ? ' (the node was started without --peers)' : '';
}

/** Opens a connection, runs `work`, always closes. */
async function withConnection<T>(target: ClusterTarget, work: (c: AdminConnection) => Promise<T>): Promise<T> {
  const conn = await AdminConnection.open(target);
  try {
    return await work(conn);
  } finally {
    conn.close();
  }
}

// ---- parsing CLUSTER NODES and CLUSTER INFO ----------------------------------------

export type MemberRole = 'leader' | 'follower' | 'learner';

/** One line of CLUSTER NODES, as the answering node sees that member. */
export interface MemberLine {
  id: string;
  host: string;
  port: number;
  /** host:port@peerport, as printed. */
  address: string;
  myself: boolean;
  role: MemberRole;
  leaderId: string | null;
  /** The answering node's term. */
  term: number;
  link: string;
  /** Raft fields after the Redis columns: term, commit, applied, last, match, lag. */
  raft: Map<string, string>;
}

/** Parses CLUSTER NODES: `id host:port@peer flags leader ping pong epoch link key=value…`. */
export function parseClusterNodes(text: string): MemberLine[] {
  const out: MemberLine[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(' ');
    if (f.length < 8) continue;
    const [id, address, flags, leader, , , epoch, link] = f as [string, string, string, string, string, string, string, string];
    const hostPort = address.split('@')[0]!;
    const colon = hostPort.lastIndexOf(':');
    const flagList = flags.split(',');
    const raft = new Map<string, string>();
    for (const kv of f.slice(8)) {
      const eq = kv.indexOf('=');
      if (eq > 0) raft.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    out.push({
      id,
      host: hostPort.slice(0, colon),
      port: Number(hostPort.slice(colon + 1)),
      address,
      myself: flagList.includes('myself'),
      role: flagList.includes('leader') ? 'leader' : flagList.includes('learner') ? 'learner' : 'follower',
      leaderId: leader === '-' ? null : leader,
      term: Number(epoch),
      link,
      raft,
    });
  }
  return out;
}

/** `key:value` lines (CLUSTER INFO, INFO) as a map. */
export function parseInfo(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) m.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return m;
}

// ---- status ------------------------------------------------------------------------

/** What a member says about itself, or why it did not answer. */
type Probe = { ok: true; info: Map<string, string> } | { ok: false; reason: string };

async function probe(target: ClusterTarget): Promise<Probe> {
  let conn: AdminConnection | undefined;
  let settled = false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Probe>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, reason: `no answer within ${probeTimeoutMs} ms` }), probeTimeoutMs);
  });
  const ask = async (): Promise<Probe> => {
    conn = await AdminConnection.open(target, probeTimeoutMs);
    // Connected after the answer was given up on: an open socket would keep the process alive.
    if (settled) conn.close();
    return { ok: true, info: parseInfo(await conn.call('CLUSTER', 'INFO')) };
  };
  try {
    return await Promise.race([ask(), timeout]);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  } finally {
    settled = true;
    clearTimeout(timer);
    conn?.close();
  }
}

export interface ClusterStatus {
  members: MemberLine[];
  /** Whose CLUSTER NODES the members come from: the leader's when it could be asked. */
  viewFrom: string;
  leaderId: string | null;
  probes: Map<string, Probe>;
  votersUp: number;
  majority: number;
}

/** The members as the leader sees them (it alone knows match and lag), else as `conn` does. */
async function leaderView(conn: AdminConnection, target: ClusterTarget): Promise<{ members: MemberLine[]; viewFrom: string }> {
  const local = parseClusterNodes(await conn.call('CLUSTER', 'NODES'));
  const me = local.find((m) => m.myself);
  const leader = local.find((m) => m.id === me?.leaderId);
  if (me === undefined || leader === undefined || leader.myself) return { members: local, viewFrom: me?.id ?? conn.where };
  try {
    const members = await withConnection({ ...target, host: leader.host, port: leader.port }, async (c) => parseClusterNodes(await c.call('CLUSTER', 'NODES')));
    return { members, viewFrom: leader.id };
  } catch {
    return { members: local, viewFrom: me.id };
  }
}

export async function clusterStatus(target: ClusterTarget): Promise<ClusterStatus> {
  const { members, viewFrom } = await withConnection(target, (c) => leaderView(c, target));
  const probes = new Map<string, Probe>();
  await Promise.all(members.map(async (m) => probes.set(m.id, await probe({ ...target, host: m.host, port: m.port }))));
  const leaderId = members.find((m) => m.role === 'leader')?.id ?? null;
  const voters = members.filter((m) => m.role !== 'learner');
  const fromLeader = viewFrom === leaderId;
  // The leader's links say who takes part; without its view, who answered us and agrees on the leader.
  const up = voters.filter((m) => {
    if (fromLeader) return m.link === 'connected';
    const p = probes.get(m.id);
    return p?.ok === true && p.info.get('raft_leader_id') === leaderId;
  });
  return { members, viewFrom, leaderId, probes, votersUp: leaderId === null ? 0 : up.length, majority: Math.floor(voters.length / 2) + 1 };
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)));
  return rows.map((r) => r.map((cell, col) => (col === r.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  ')).join('\n') + '\n';
}

function memberRow(m: MemberLine, p: Probe | undefined): string[] {
  const info = p?.ok === true ? p.info : undefined;
  const role = m.role === 'learner' ? 'learner' : (info?.get('raft_role') ?? m.role);
  const indexes = info === undefined ? '-' : `${info.get('raft_commit_index') ?? '?'}/${info.get('raft_applied_index') ?? '?'}`;
  const link = p?.ok === false ? `${m.link} (unreachable from here)` : m.link;
  return [m.id, m.address, role, info?.get('cluster_current_epoch') ?? '-', indexes, m.raft.get('lag') ?? '-', link];
}

export function quorumUp(s: ClusterStatus): boolean {
  return s.leaderId !== null && s.votersUp >= s.majority;
}

export function formatStatus(s: ClusterStatus): string {
  const voters = s.members.filter((m) => m.role !== 'learner').length;
  const learners = s.members.length - voters;
  const leader = s.members.find((m) => m.id === s.leaderId);
  let out = `leader: ${leader === undefined ? 'none known' : `${leader.id} at ${leader.host}:${leader.port} (term ${leader.term})`}\n`;
  out += `members: ${voters} voter${voters === 1 ? '' : 's'}${learners > 0 ? `, ${learners} learner${learners === 1 ? '' : 's'}` : ''}\n`;
  out += `quorum: ${quorumUp(s) ? 'up' : 'DOWN'} (${s.votersUp} of ${voters} voters with the leader, ${s.majority} needed)\n\n`;
  const rows = [['ID', 'ADDRESS', 'ROLE', 'TERM', 'COMMIT/APPLIED', 'LAG', 'LINK']];
  for (const m of s.members) rows.push(memberRow(m, s.probes.get(m.id)));
  out += table(rows);
  out += `\n(lag and link as ${s.viewFrom} sees them)\n`;
  for (const m of s.members) {
    const p = s.probes.get(m.id);
    if (p?.ok === false) out += `${m.id}: ${p.reason}\n`;
  }
  return out;
}

// ---- waiting for a change to show --------------------------------------------------

/** One progress line on stderr: rewritten in place on a terminal, printed when it changes otherwise. */
class Progress {
  private last = '';
  show(text: string): void {
    if (text === this.last) return;
    this.last = text;
    process.stderr.write(process.stderr.isTTY ? `\r\x1b[K${text}` : `${text}\n`);
  }
  done(): void {
    if (process.stderr.isTTY && this.last !== '') process.stderr.write('\n');
  }
}

/**
 * Polls CLUSTER NODES on `conn` until `check` returns a result or the time is up (null).
 * `check` also gives the progress text while waiting.
 */
async function pollMembers<T>(conn: AdminConnection, timeoutMs: number, check: (members: MemberLine[]) => { done: T } | { waiting: string }): Promise<T | null> {
  const progress = new Progress();
  const started = Date.now();
  try {
    for (;;) {
      const r = check(parseClusterNodes(await conn.call('CLUSTER', 'NODES')));
      if ('done' in r) return r.done;
      const elapsed = Date.now() - started;
      if (elapsed >= timeoutMs) return null;
      progress.show(`${r.waiting} (${Math.floor(elapsed / 1000)} s)`);
      await new Promise((resolve) => setTimeout(resolve, pollEveryMs));
    }
  } finally {
    progress.done();
  }
}

function voterList(members: MemberLine[]): string {
  return members
    .filter((m) => m.role !== 'learner')
    .map((m) => m.id)
    .join(',');
}

// ---- the subcommands ---------------------------------------------------------------

export async function addNode(target: ClusterTarget, id: string, address: string, timeoutMs: number): Promise<string> {
  return withConnection(target, async (conn) => {
    await conn.call('CLUSTER', 'ADDNODE', id, address);
    const voters = await pollMembers(conn, timeoutMs, (members) => {
      const m = members.find((x) => x.id === id);
      if (m !== undefined && m.role !== 'learner') return { done: voterList(members) };
      if (m === undefined) return { waiting: `${id}: waiting for the change to commit` };
      const match = m.raft.get('match');
      return { waiting: `${id}: learner, catching up${match === undefined ? '' : ` (match ${match}, lag ${m.raft.get('lag') ?? '?'})`}` };
    });
    if (voters === null) {
      throw new ClusterCliError(`${id} was added as a learner but is not a voter after ${timeoutMs / 1000} s; is it running with --cluster-join yes and reachable at ${address}? It is promoted as soon as it catches up.`);
    }
    return `${id} is a voter (voters: ${voters})\n`;
  });
}

export async function removeNode(target: ClusterTarget, id: string, timeoutMs: number): Promise<string> {
  return withConnection(target, async (conn) => {
    const self = parseInfo(await conn.call('CLUSTER', 'INFO')).get('raft_node_id');
    await conn.call('CLUSTER', 'REMOVENODE', id);
    // A removed node may never learn that its removal committed: ask it no further.
    if (self === id) return `removal of ${id} proposed; check with \`keymesh cluster status\` on another member\n`;
    const voters = await pollMembers(conn, timeoutMs, (members) =>
      members.some((m) => m.id === id) ? { waiting: `${id}: waiting for the removal to commit` } : { done: voterList(members) },
    );
    if (voters === null) throw new ClusterCliError(`the removal of ${id} was proposed but has not taken effect after ${timeoutMs / 1000} s`);
    return `${id} removed (voters: ${voters}); it can be stopped now\n`;
  });
}

export async function failover(target: ClusterTarget, to: string | null, timeoutMs: number): Promise<string> {
  return withConnection(target, async (conn) => {
    const before = parseInfo(await conn.call('CLUSTER', 'INFO')).get('raft_leader_id') || null;
    await conn.call('CLUSTER', 'FAILOVER', ...(to === null ? [] : [to]));
    const leader = await pollMembers<MemberLine>(conn, timeoutMs, (members) => {
      const l = members.find((m) => m.role === 'leader');
      if (l !== undefined && (to === null ? l.id !== before : l.id === to)) return { done: l };
      return { waiting: `handing leadership to ${to ?? 'another node'}` };
    });
    if (leader === null) throw new ClusterCliError(`leadership did not move to ${to ?? 'another node'} within ${timeoutMs / 1000} s (leader was ${before ?? 'unknown'})`);
    return `leader is now ${leader.id} at ${leader.host}:${leader.port} (term ${leader.term})\n`;
  });
}

// ---- command line ------------------------------------------------------------------

interface ClusterFlags extends ConnectionFlags {
  timeout?: number;
}

function targetOf(flags: ClusterFlags): ClusterTarget {
  const password = passwordOf(flags);
  return { host: flags.host, port: flags.port, ...(password === undefined ? {} : { password }) };
}

function seconds(text: string): number {
  if (!/^\d+(\.\d+)?$/.test(text) || Number(text) <= 0) throw new InvalidArgumentError('timeout must be a positive number of seconds.');
  return Number(text);
}

/** Runs a subcommand's work: its text on stdout and exit 0 (or `code`), or the failure on stderr and exit 1. */
async function report(work: Promise<string>, code: () => number = () => 0): Promise<void> {
  try {
    process.stdout.write(await work);
    process.exitCode = code();
  } catch (e) {
    if (!(e instanceof ClusterCliError)) throw e;
    process.stderr.write(`Error: ${e.message}\n`);
    process.exitCode = 1;
  }
}

/** A subcommand with the connection options `keymesh cli` has (-h is the host, as in redis-cli). */
function subcommand(name: string, description: string, parsePort: (text: string) => number): Command {
  return withConnectionOptions(new Command(name).description(description), parsePort, { host: 'host of any member', port: 'client port of that member' });
}

function withTimeout(cmd: Command, defaultSeconds: number): Command {
  return cmd.option('-t, --timeout <seconds>', 'how long to wait for the change to take effect', seconds, defaultSeconds);
}

/** `keymesh cluster …`; `parsePort` is the port parser `keymesh cli` uses. */
export function clusterCommand(parsePort: (text: string) => number): Command {
  const status = subcommand('status', 'show the members, the leader and whether a quorum is up (exit status 1 when it is not)', parsePort).action(
    async (flags: ClusterFlags) => {
      let up = false;
      const shown = clusterStatus(targetOf(flags)).then((s) => {
        up = quorumUp(s);
        return formatStatus(s);
      });
      // A health check can rely on the exit status: 1 unless a leader has a majority with it.
      await report(shown, () => (up ? 0 : 1));
    },
  );
  const add = withTimeout(subcommand('add', 'add a node (started with --cluster-join yes) and wait until it is a voter', parsePort), addTimeoutSecondsDefault)
    .argument('<id>', 'the new node\'s --node-id')
    .argument('<address>', 'its host:port[@peerport] (peer port defaults to port + 10000)')
    .action(async (id: string, address: string, flags: ClusterFlags) => {
      await report(addNode(targetOf(flags), id, address, (flags.timeout ?? addTimeoutSecondsDefault) * 1000));
    });
  const remove = withTimeout(subcommand('remove', 'remove a member and wait until the removal has taken effect', parsePort), changeTimeoutSecondsDefault)
    .argument('<id>', 'the member to remove')
    .action(async (id: string, flags: ClusterFlags) => {
      await report(removeNode(targetOf(flags), id, (flags.timeout ?? changeTimeoutSecondsDefault) * 1000));
    });
  const fail = withTimeout(subcommand('failover', 'hand leadership to a node (default: the node asked, or the most caught-up follower)', parsePort), changeTimeoutSecondsDefault)
    .argument('[id]', 'the node that should lead')
    .action(async (id: string | undefined, flags: ClusterFlags) => {
      await report(failover(targetOf(flags), id ?? null, (flags.timeout ?? changeTimeoutSecondsDefault) * 1000));
    });
  return new Command('cluster')
    .description('administer the members of a KeyMesh cluster')
    .addCommand(status)
    .addCommand(add)
    .addCommand(remove)
    .addCommand(fail)
    .addHelpText(
      'after',
      '\nExamples:\n  keymesh cluster status -p 9000\n  keymesh cluster add n4 10.0.0.4:9000 -p 9000\n  keymesh cluster remove n3\n  keymesh cluster failover n2',
    );
}
