// `keymesh server` as a user starts it: a real process, settings from flags,
// environment and a config file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyMeshClient, type RespValue } from '../../src/client/client.js';
import { freePort } from '../helpers/ports.js';

const bin = fileURLToPath(new URL('../../../bin/keymesh.js', import.meta.url));

interface Started {
  child: ChildProcessWithoutNullStreams;
  port: number;
  line: string;
  stderr: () => string;
}

function startServer(args: string[], env: Record<string, string> = {}): Promise<Started> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'server', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = /^KeyMesh \S+ listening on 127\.0\.0\.1:(\d+) \(pid (\d+)\)\n/.exec(stdout);
      if (m !== null) resolve({ child, port: Number(m[1]), line: stdout, stderr: () => stderr });
    });
    child.on('close', (code) => reject(new Error(`server exited ${code} before listening: ${stderr}`)));
  });
}

function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Runs the server expecting it to fail at start-up. */
function failedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'server', ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function tempFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'keymesh-server-')), name);
  writeFileSync(p, text);
  return p;
}

function text(v: RespValue): string {
  if (v.type === 'string') return typeof v.value === 'string' ? v.value : v.value.toString('latin1');
  if (v.type === 'error') return v.message;
  return JSON.stringify(v);
}

test('starts on --port 0, prints one line on stdout, logs JSON on stderr, exits 0 on SIGTERM', async () => {
  const s = await startServer(['--port', '0', '--data-dir', mkdtempSync(join(tmpdir(), 'keymesh-data-'))]);
  assert.match(s.line, new RegExp(`^KeyMesh 0\\.1\\.0 listening on 127\\.0\\.0\\.1:${s.port} \\(pid ${s.child.pid}\\)\\n$`));
  const c = await KeyMeshClient.connect({ port: s.port });
  assert.deepEqual(await c.call('PING'), { type: 'string', value: 'PONG' });
  await c.close();
  s.child.kill('SIGTERM');
  assert.equal(await exited(s.child), 0);
  // Logs are JSON lines on stderr; recovery reports before the listener does.
  const messages = s.stderr().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { msg: string }).msg);
  assert(messages.includes('ready to accept connections'), messages.join(' | '));
});

test('SIGINT also exits 0', async () => {
  const s = await startServer(['--port', '0']);
  s.child.kill('SIGINT');
  assert.equal(await exited(s.child), 0);
});

test('SHUTDOWN from keymesh cli stops the server with exit 0; the cli exits 0 silently', async () => {
  const s = await startServer(['--port', '0']);
  const cli = spawn(process.execPath, [bin, 'cli', '-p', String(s.port), 'SHUTDOWN']);
  let out = '';
  cli.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  cli.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const cliCode = await new Promise((resolve) => cli.on('close', resolve));
  assert.equal(await exited(s.child), 0);
  assert.equal(cliCode, 0);
  assert.equal(out, '');
});

test('port precedence: config file < KEYMESH_PORT < --port', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const file = tempFile('k.conf', `port ${p1}\n`);
  const fromFile = await startServer(['--config', file]);
  assert.equal(fromFile.port, p1);
  fromFile.child.kill();
  await exited(fromFile.child);
  const fromEnv = await startServer(['--config', file], { KEYMESH_PORT: String(p2) });
  assert.equal(fromEnv.port, p2);
  fromEnv.child.kill();
  await exited(fromEnv.child);
  const fromFlag = await startServer(['--config', file, '--port', '0'], { KEYMESH_PORT: String(p2) });
  assert.ok(fromFlag.port !== p1 && fromFlag.port !== p2);
  fromFlag.child.kill();
  await exited(fromFlag.child);
});

test('requirepass from the environment is enforced', async () => {
  const s = await startServer(['--port', '0'], { KEYMESH_REQUIREPASS: 'sekret' });
  const c = await KeyMeshClient.connect({ port: s.port });
  assert.match(text(await c.call('GET', 'k')), /^NOAUTH/);
  await c.close();
  s.child.kill();
  await exited(s.child);
});

test('settings precedence seen through CONFIG GET', async (t) => {
  const file = tempFile('k.conf', '# KeyMesh\ntimeout 10\nmaxclients 100\nhz 20\n');
  const s = await startServer(['--config', file, '--port', '0', '--hz', '40'], { KEYMESH_TIMEOUT: '20', KEYMESH_HZ: '30' });
  const c = await KeyMeshClient.connect({ port: s.port });
  try {
    const probe = await c.call('CONFIG', 'GET', 'hz');
    if (probe.type === 'error' && /unknown command/.test(probe.message)) {
      t.skip('CONFIG GET is not implemented yet');
      return;
    }
    const get = async (name: string): Promise<string> => {
      const r = await c.call('CONFIG', 'GET', name);
      assert.ok(r.type === 'array' || r.type === 'map', JSON.stringify(r));
      return r.type === 'array' ? text(r.items[1]!) : text(r.entries[0]![1]);
    };
    assert.equal(await get('timeout'), '20', 'env beats file');
    assert.equal(await get('maxclients'), '100', 'file beats default');
    assert.equal(await get('hz'), '40', 'flag beats env');
  } finally {
    await c.close();
    s.child.kill();
    await exited(s.child);
  }
});

test('an invalid flag value: one line, exit 1, no stack trace', async () => {
  const r = await failedStart(['--port', 'abc']);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "keymesh server: invalid --port 'abc': argument couldn't be parsed into an integer\n");
  const env = await failedStart([], { KEYMESH_HZ: '9999' });
  assert.equal(env.code, 1);
  assert.equal(env.stderr, "keymesh server: invalid KEYMESH_HZ '9999': argument must be between 1 and 500 inclusive\n");
  const unknown = await failedStart(['--no-such-flag']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown option '--no-such-flag'/);
  const badFile = await failedStart(['--config', tempFile('bad.conf', 'nonsense here\n')]);
  assert.equal(badFile.code, 1);
  assert.match(badFile.stderr, /^keymesh server: .*bad\.conf, line 1: unknown setting 'nonsense'\n$/);
});

test('a port already in use: a clear message and exit 1', async () => {
  const holder = net.createServer();
  holder.listen(0, '127.0.0.1');
  await new Promise((r) => holder.once('listening', r));
  const port = (holder.address() as net.AddressInfo).port;
  try {
    const r = await failedStart(['--port', String(port)]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`keymesh server: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await new Promise((r) => holder.close(r));
  }
});
