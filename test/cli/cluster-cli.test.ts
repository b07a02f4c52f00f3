// `keymesh cluster` as an operator runs it: a real process against a 3-node cluster of
// in-process servers talking over the real TCP peer transport (so every address the
// cluster reports can be dialled), plus a 4th node that joins and leaves.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Config, type SettingValue } from '../../src/server/config.js';
import { Server } from '../../src/server/server.js';
import { freePort } from '../helpers/process.js';
import { runKeymesh, type Run } from '../helpers/run-keymesh.js';

function keymesh(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return runKeymesh(args, { env });
}
import { waitFor } from '../cluster/helpers.js';


interface Member {
  id: string;
  port: number;
  peerPort: number;
  dir: string;
  server: Server | null;
}

const members: Member[] = [];
let peers = '';

async function member(id: string): Promise<Member> {
  const m: Member = { id, port: await freePort(), peerPort: await freePort(), dir: mkdtempSync(join(tmpdir(), `keymesh-cli-${id}-`)), server: null };
  members.push(m);
  return m;
}

function address(m: Member): string {
  return `127.0.0.1:${m.port}@${m.peerPort}`;
}

async function startMember(m: Member, settings: Record<string, SettingValue> = {}): Promise<void> {
  // A joining node lists itself after the members it joins.
  const own = peers.includes(`${m.id}@`) ? peers : `${peers},${m.id}@${address(m)}`;
  const config = new Config({ port: m.port, bind: '127.0.0.1', dir: m.dir, 'node-id': m.id, peers: own, 'cluster-tick-ms': 20, ...settings });
  m.server = new Server({ config, log: pino({ level: 'silent' }), onShutdown: () => {} });
  await m.server.start();
}

async function stopMember(m: Member): Promise<void> {
  const s = m.server;
  m.server = null;
  await s?.close();
}

/** The leader, once every running member agrees on it. */
async function leader(): Promise<Member> {
  let found: Member | undefined;
  await waitFor(() => {
    const running = members.filter((m) => m.server !== null && m.server.cluster !== null);
    const leaders = running.filter((m) => m.server!.cluster!.role === 'leader');
    found = leaders.length === 1 && running.every((m) => m.server!.cluster!.leaderId === leaders[0]!.id) ? leaders[0] : undefined;
    return found !== undefined;
  }, 'a leader all members agree on', 8000);
  return found!;
}

function follower(leaderId: string): Member {
  return members.find((m) => m.id !== leaderId && m.server !== null && /^n[123]$/.test(m.id))!;
}

before(async () => {
  for (const id of ['n1', 'n2', 'n3']) await member(id);
  peers = members.map((m) => `${m.id}@${address(m)}`).join(',');
  await Promise.all(members.map((m) => startMember(m)));
});

after(async () => {
  for (const m of members) await stopMember(m);
  for (const m of members) rmSync(m.dir, { recursive: true, force: true });
});

test('status: every member with role, term, indexes, lag and link; the leader; quorum up', async () => {
  const l = await leader();
  const f = follower(l.id);
  const r = await keymesh(['cluster', 'status', '-p', String(f.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], `leader: ${l.id} at 127.0.0.1:${l.port} (term ${/term (\d+)/.exec(lines[0]!)![1]})`);
  assert.equal(lines[1], 'members: 3 voters');
  assert.equal(lines[2], 'quorum: up (3 of 3 voters with the leader, 2 needed)');
  assert.match(lines[4]!, /^ID +ADDRESS +ROLE +TERM +COMMIT\/APPLIED +LAG +LINK$/);
  for (const m of members) {
    const row = lines.find((x) => x.startsWith(`${m.id} `));
    assert.ok(row !== undefined, `a row for ${m.id} in\n${r.stdout}`);
    const role = m === l ? 'leader' : 'follower';
    assert.match(row, new RegExp(`^${m.id} +${address(m).replace(/\./g, '\\.')} +${role} +\\d+ +\\d+/\\d+ +\\d+ +connected$`));
  }
  assert.match(r.stdout, new RegExp(`\\(lag and link as ${l.id} sees them\\)`));
});

test('failover: to a named node, then back without a name (to the node asked)', async () => {
  const l = await leader();
  const f = follower(l.id);
  let r = await keymesh(['cluster', 'failover', f.id, '-p', String(l.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^leader is now ${f.id} at 127\\.0\\.0\\.1:${f.port} \\(term \\d+\\)\\n$`));
  assert.equal((await leader()).id, f.id);
  r = await keymesh(['cluster', 'failover', '-p', String(l.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^leader is now ${l.id} `));
  r = await keymesh(['cluster', 'failover', 'zz', '-p', String(l.port)]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, new RegExp(`^Error: 127\\.0\\.0\\.1:${l.port} answered: ERR 'zz' is not a voting member\\n$`));
});

test('add: a joining node becomes a voter with progress on stderr; remove takes it out again', async () => {
  const l = await leader();
  const n4 = await member('n4');
  await startMember(n4, { 'cluster-join': 'yes' });
  const f = follower(l.id);
  let r = await keymesh(['cluster', 'add', 'n4', address(n4), '-p', String(f.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'n4 is a voter (voters: n1,n2,n3,n4)\n');
  assert.match(r.stderr, /^(n4: (waiting for the change to commit|learner, catching up.*) \(\d+ s\)\n)*$/);
  r = await keymesh(['cluster', 'status', '-p', String(n4.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^members: 4 voters$/m);
  assert.match(r.stdout, /^quorum: up \(4 of 4 voters with the leader, 3 needed\)$/m);
  r = await keymesh(['cluster', 'add', 'n4', address(n4), '-p', String(f.port)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /answered: ERR 'n4' is already a member\n$/);
  r = await keymesh(['cluster', 'remove', 'n4', '-p', String(f.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'n4 removed (voters: n1,n2,n3); it can be stopped now\n');
  await stopMember(n4);
  r = await keymesh(['cluster', 'add', 'n5', 'nowhere', '-p', String(f.port)]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: .* answered: ERR .*host:port/);
});

test('status with a member down: still a quorum, the member shown unreachable; with two down: exit 1', async () => {
  const l = await leader();
  const f = follower(l.id);
  await stopMember(f);
  let r = await keymesh(['cluster', 'status', '-p', String(l.port)]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^quorum: up \(2 of 3 voters with the leader, 2 needed\)$/m);
  assert.match(r.stdout, new RegExp(`^${f.id} .* follower +- +- +\\S+ +disconnected \\(unreachable from here\\)$`, 'm'));
  assert.match(r.stdout, new RegExp(`^${f.id}: Could not connect to KeyMesh at 127\\.0\\.0\\.1:${f.port}: Connection refused$`, 'm'));
  const other = members.find((m) => m !== l && m !== f && m.server !== null)!;
  await stopMember(other);
  // The leader steps down once it no longer hears from a majority (CheckQuorum).
  await waitFor(async () => (await keymesh(['cluster', 'status', '-p', String(l.port)])).code === 1, 'status to report the lost quorum', 8000);
  r = await keymesh(['cluster', 'status', '-p', String(l.port)]);
  assert.match(r.stdout, /^quorum: DOWN /m);
  await Promise.all([startMember(f), startMember(other)]);
  await leader();
});

test('errors: no server, cluster support disabled, authentication; exit status 1 and a clear line', async () => {
  const closed = await freePort();
  let r = await keymesh(['cluster', 'status', '-p', String(closed)]);
  assert.deepEqual(r, { code: 1, stdout: '', stderr: `Error: Could not connect to KeyMesh at 127.0.0.1:${closed}: Connection refused\n` });
  const single = new Server({ config: new Config({ port: 0, requirepass: 'secret' }), log: pino({ level: 'silent' }) });
  const port = String(await single.listen());
  try {
    r = await keymesh(['cluster', 'status', '-p', port]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: 127\.0\.0\.1:\d+ answered: NOAUTH Authentication required\.\n$/);
    r = await keymesh(['cluster', 'remove', 'n1', '-p', port, '-a', 'wrong']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Error: AUTH failed: .*WRONGPASS/);
    r = await keymesh(['cluster', 'failover', '-p', port], { KEYMESH_AUTH: 'secret' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Error: .* answered: ERR This instance has cluster support disabled \(the node was started without --peers\)\n$/);
  } finally {
    await single.close();
  }
  r = await keymesh(['cluster', 'status', '-p', '99999']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /port must be between 1 and 65535/);
});

test('--help on each subcommand', async () => {
  const subs = ['status', 'add', 'remove', 'failover'];
  const runs = await Promise.all(subs.map((sub) => keymesh(['cluster', sub, '--help'])));
  for (const [k, sub] of subs.entries()) {
    const r = runs[k]!;
    assert.equal(r.code, 0);
    assert.match(r.stdout, new RegExp(`^Usage: keymesh cluster ${sub} `));
    assert.match(r.stdout, /-h, --host <host>/);
    assert.match(r.stdout, /-a, --pass <password>/);
  }
  const r = await keymesh(['cluster', '--help']);
  assert.match(r.stdout, /status[\s\S]*add[\s\S]*remove[\s\S]*failover/);
});
