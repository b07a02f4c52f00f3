// `keymesh server`: one flag per setting (generated from the settings table), then
// start a node and run until a signal or SHUTDOWN.

import { Command, Option } from 'commander';
import type { Server } from '../server/server.js';
import { settingDefs, type Config } from '../server/config.js';
import { VERSION } from '../version.js';
import { envName, loadSettings, settingAliases, SettingsError } from './settings.js';

/** Commander's attribute name of a flag → the setting it sets. */
type FlagMap = Map<string, string>;

function describe(d: (typeof settingDefs)[number]): string {
  const choices = d.choices !== undefined ? ` (${d.choices.join('|')})` : '';
  return `${d.help}${choices} [${envName(d.name)}, default: ${d.default === '' ? '""' : String(d.default)}]`;
}

function valueName(d: (typeof settingDefs)[number]): string {
  if (d.kind === 'bool') return '<yes|no>';
  if (d.kind === 'int') return '<n>';
  if (d.kind === 'bytes') return '<bytes>';
  return '<value>';
}

function addSettingFlags(cmd: Command): FlagMap {
  const flags: FlagMap = new Map();
  for (const d of settingDefs) {
    const opt = new Option(`--${d.name} ${valueName(d)}`, describe(d));
    cmd.addOption(opt);
    flags.set(opt.attributeName(), d.name);
  }
  for (const [alias, name] of Object.entries(settingAliases)) {
    const opt = new Option(`--${alias} ${valueName(settingDefs.find((d) => d.name === name)!)}`, `same as --${name}`);
    cmd.addOption(opt);
    flags.set(opt.attributeName(), alias);
  }
  return flags;
}

export function serverCommand(): Command {
  const cmd = new Command('server')
    .description('start a KeyMesh node')
    .option('--config <file>', 'config file in Redis format (name value lines); flags and KEYMESH_* variables override it')
    .addHelpText(
      'after',
      '\nPrecedence: defaults < config file < environment (KEYMESH_<NAME>) < flags.\nExample: keymesh server --port 9000 --data-dir ./data',
    );
  const flagMap = addSettingFlags(cmd);
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const flags: Record<string, string> = {};
    for (const [attr, name] of flagMap) {
      const v = opts[attr];
      if (v !== undefined) flags[name] = v;
    }
    let config: Config;
    try {
      config = loadSettings({ configFile: opts.config, env: process.env, flags });
    } catch (e) {
      if (e instanceof SettingsError) fail(e.message);
      throw e;
    }
    await startServer(config);
  });
  return cmd;
}

function fail(message: string): never {
  process.stderr.write(`keymesh server: ${message}\n`);
  process.exit(1);
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Why listen() failed, in words. */
function listenFailure(e: unknown, config: Config): string {
  const code = (e as NodeJS.ErrnoException).code;
  const where = hostPort(config.str('bind'), config.int('port'));
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${where}: address already in use (is another server running?)`;
    case 'EACCES':
      return `cannot listen on ${where}: permission denied`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${where}: address not available on this machine`;
    default:
      return `cannot listen on ${where}: ${(e as Error).message}`;
  }
}

async function startServer(config: Config): Promise<void> {
  let stopping = false;
  // Assigned before any client can connect, so SHUTDOWN always finds it.
  let server: Server | undefined;
  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    server?.log.warn(`${why}, shutting down`);
    await server?.close();
    process.exit(0);
  };
  // The server's modules load only when a server starts, not for `keymesh cli` and the rest.
  const { Server } = await import('../server/server.js');
  try {
    server = new Server({ config, onShutdown: () => void stop('SHUTDOWN received') });
  } catch (e) {
    fail((e as Error).message);
  }
  let port: number;
  try {
    // Recovery from the data directory first (refusals there say why: lock held, log damaged…).
    port = await server.start();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    fail(code !== undefined && code.startsWith('EADDR') ? listenFailure(e, config) : `cannot start: ${(e as Error).message}`);
  }
  process.once('SIGINT', () => void stop('received SIGINT'));
  process.once('SIGTERM', () => void stop('received SIGTERM'));
  process.stdout.write(`KeyMesh ${VERSION} listening on ${hostPort(config.str('bind'), port)} (pid ${process.pid})\n`);
}
