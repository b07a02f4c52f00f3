// Server settings from their four sources, in rising precedence: the table's
// defaults, a config file in Redis's format, KEYMESH_* environment variables, and
// command-line flags. Every value goes through Config.set, so each source gets the
// same validation as CONFIG SET.

import { readFileSync } from 'node:fs';
import { splitInlineArgs } from '../protocol/inline.js';
import { Config, settingDefs } from '../server/config.js';

/** Friendlier names accepted everywhere a setting name is (flags, env, file). */
export const settingAliases: Readonly<Record<string, string>> = { 'data-dir': 'dir', fsync: 'appendfsync' };

/** A bad setting: the message is one line, ready to print. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

export interface SettingSources {
  /** Path of a config file, if any. */
  configFile?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** Setting name (or alias) → text, from the command line. */
  flags?: Readonly<Record<string, string>>;
}

/** One `name value` directive of a config file. */
export interface Directive {
  name: string;
  value: string;
  line: number;
}

function canonicalName(name: string): string | undefined {
  const n = name.toLowerCase();
  const real = settingAliases[n] ?? n;
  return Config.has(real) ? real : undefined;
}

/** `proto-max-bulk-len` → `KEYMESH_PROTO_MAX_BULK_LEN` */
export function envName(setting: string): string {
  return 'KEYMESH_' + setting.toUpperCase().replace(/-/g, '_');
}

/**
 * Parses Redis's config format: one directive per line, `#` comments, arguments
 * split (and quotes undone) as redis-server does.
 */
export function parseConfigText(text: string, fileName: string): Directive[] {
  const out: Directive[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const buf = Buffer.from(line, 'utf8');
    const args = splitInlineArgs(buf, 0, buf.length);
    const where = `${fileName}, line ${i + 1}`;
    if (args === null) throw new SettingsError(`${where}: unbalanced quotes in '${line}'`);
    if (args.length !== 2) throw new SettingsError(`${where}: expected 'name value', got '${line}'`);
    // Arguments come back as byte strings; settings are text.
    out.push({ name: args[0]!, value: Buffer.from(args[1]!, 'latin1').toString('utf8'), line: i + 1 });
  }
  return out;
}

/** Config.set's error without its CONFIG SET framing: what is wrong with the value. */
function reason(err: string): string {
  const m = / - (.*)$/.exec(err);
  return m === null ? err.replace(/^ERR /, '') : m[1]!;
}

function apply(config: Config, name: string, value: string, source: string): void {
  const err = config.set(name, value, true);
  if (err !== null) throw new SettingsError(`invalid ${source} '${value}': ${reason(err)}`);
}

/** Builds the server's Config from all sources; throws SettingsError for any bad name or value. */
export function loadSettings(sources: SettingSources): Config {
  const config = new Config();
  if (sources.configFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(sources.configFile, 'utf8');
    } catch (e) {
      throw new SettingsError(`cannot read config file ${sources.configFile}: ${(e as Error).message}`);
    }
    for (const d of parseConfigText(text, sources.configFile)) {
      const name = canonicalName(d.name);
      if (name === undefined) throw new SettingsError(`${sources.configFile}, line ${d.line}: unknown setting '${d.name}'`);
      apply(config, name, d.value, `${d.name} (${sources.configFile}, line ${d.line})`);
    }
  }
  const env = sources.env ?? {};
  for (const d of settingDefs) {
    for (const alias of [d.name, ...aliasesOf(d.name)]) {
      const value = env[envName(alias)];
      if (value !== undefined) apply(config, d.name, value, envName(alias));
    }
  }
  for (const [flag, value] of Object.entries(sources.flags ?? {})) {
    const name = canonicalName(flag);
    if (name === undefined) throw new SettingsError(`unknown setting '${flag}'`);
    apply(config, name, value, `--${flag}`);
  }
  return config;
}

function aliasesOf(name: string): string[] {
  return Object.keys(settingAliases).filter((a) => settingAliases[a] === name);
}
