import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envName, loadSettings, parseConfigText, SettingsError } from '../../src/cli/settings.js';
import { History, historyLinesMax, historyPath, isSensitive } from '../../src/cli/history.js';
import { splitLine } from '../../src/cli/cli-command.js';

function tempFile(name: string, text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'keymesh-cli-')), name);
  writeFileSync(p, text);
  return p;
}

test('parses Redis config format: comments, blank lines, quoted values', () => {
  const text = '# a comment\n\nport 7000\n  requirepass "se cret"\nbind \'0.0.0.0\'\ndir ""\n';
  assert.deepEqual(parseConfigText(text, 'k.conf'), [
    { name: 'port', value: '7000', line: 3 },
    { name: 'requirepass', value: 'se cret', line: 4 },
    { name: 'bind', value: '0.0.0.0', line: 5 },
    { name: 'dir', value: '', line: 6 },
  ]);
});

test('a malformed config line is reported with its file and line number', () => {
  assert.throws(() => parseConfigText('port 1\nport\n', 'k.conf'), (e: unknown) => e instanceof SettingsError && e.message.startsWith('k.conf, line 2:'));
  assert.throws(() => parseConfigText('requirepass "open\n', 'k.conf'), /k.conf, line 1: unbalanced quotes/);
});

test('setting names map to KEYMESH_ environment variables', () => {
  assert.equal(envName('port'), 'KEYMESH_PORT');
  assert.equal(envName('proto-max-bulk-len'), 'KEYMESH_PROTO_MAX_BULK_LEN');
});

test('precedence: defaults < file < environment < flags', () => {
  const file = tempFile('k.conf', 'timeout 10\nmaxclients 100\nhz 20\nloglevel warning\n');
  const config = loadSettings({
    configFile: file,
    env: { KEYMESH_TIMEOUT: '20', KEYMESH_HZ: '30', UNRELATED: 'x' },
    flags: { hz: '40' },
  });
  assert.equal(config.int('timeout'), 20, 'env beats file');
  assert.equal(config.int('maxclients'), 100, 'file beats default');
  assert.equal(config.int('hz'), 40, 'flag beats env');
  assert.equal(config.str('loglevel'), 'warning');
  assert.equal(config.int('port'), 9000, 'default kept');
});

test('aliases: data-dir and fsync, from flags, env and file', () => {
  const file = tempFile('k.conf', 'data-dir /from/file\n');
  assert.equal(loadSettings({ configFile: file }).str('dir'), '/from/file');
  assert.equal(loadSettings({ env: { KEYMESH_DATA_DIR: '/from/env' } }).str('dir'), '/from/env');
  const c = loadSettings({ flags: { 'data-dir': '/from/flag', fsync: 'always' } });
  assert.equal(c.str('dir'), '/from/flag');
  assert.equal(c.str('appendfsync'), 'always');
});

test('sizes accept Redis units', () => {
  assert.equal(loadSettings({ flags: { 'proto-max-bulk-len': '64mb' } }).int('proto-max-bulk-len'), 64 * 1024 * 1024);
});

test('invalid values give one clear line naming the source', () => {
  assert.throws(() => loadSettings({ flags: { port: 'abc' } }), {
    name: 'SettingsError',
    message: "invalid --port 'abc': argument couldn't be parsed into an integer",
  });
  assert.throws(() => loadSettings({ flags: { port: '70000' } }), /invalid --port '70000': argument must be between 0 and 65535 inclusive/);
  assert.throws(() => loadSettings({ env: { KEYMESH_APPENDFSYNC: 'sometimes' } }), /invalid KEYMESH_APPENDFSYNC 'sometimes': argument\(s\) must be one of the following: always, everysec, no/);
  const file = tempFile('bad.conf', 'port 1\nhz zero\n');
  assert.throws(() => loadSettings({ configFile: file }), new RegExp(`invalid hz \\(${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, line 2\\) 'zero'`));
  const unknown = tempFile('unknown.conf', 'no-such-setting 1\n');
  assert.throws(() => loadSettings({ configFile: unknown }), /line 1: unknown setting 'no-such-setting'/);
  assert.throws(() => loadSettings({ configFile: '/nonexistent/keymesh.conf' }), /cannot read config file/);
});

test('the line tokenizer follows redis-cli quoting and yields byte strings', () => {
  assert.deepEqual(splitLine('SET k "a b\\n" \'c\''), ['SET', 'k', 'a b\n', 'c']);
  assert.deepEqual(splitLine('SET k "\\x00\\xff"'), ['SET', 'k', '\x00\xff']);
  assert.deepEqual(splitLine('SET k é'), ['SET', 'k', '\xc3\xa9']);
  assert.deepEqual(splitLine('   '), []);
  assert.equal(splitLine('SET k "open'), null);
});

test('history is bounded, persisted, and never stores secrets', () => {
  const path = tempFile('hist', '');
  const h = new History(path);
  for (let i = 0; i < historyLinesMax + 5; i++) h.add(`GET k${i}`);
  const again = new History(path);
  const lines = again.forReadline();
  assert.equal(lines.length, historyLinesMax);
  assert.equal(lines[0], `GET k${historyLinesMax + 4}`, 'newest first for readline');
  assert.ok(isSensitive(['AUTH', 'pw']));
  assert.ok(isSensitive(['hello', '3', 'AUTH', 'default', 'pw']));
  assert.ok(isSensitive(['config', 'set', 'requirepass', 'x']));
  assert.ok(!isSensitive(['GET', 'auth']));
  assert.equal(historyPath({ KEYMESH_HISTFILE: '/dev/null' }), null);
  assert.equal(historyPath({ KEYMESH_HISTFILE: 'custom_history' }), 'custom_history');
});
