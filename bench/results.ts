// bench/RESULTS.md: every benchmark part appends its dated section here.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { repoRoot } from '../test/helpers/process.js';

const resultsPath = join(repoRoot, 'bench', 'RESULTS.md');
const header = '# Benchmark results\n\nAppended by `npm run bench` (bench/run.ts); newest last. Compare runs on the same machine only.\n\n';

/** Appends one section (creating the file with its header if needed) and says so. */
export function appendResults(section: string): void {
  if (!existsSync(resultsPath)) writeFileSync(resultsPath, header);
  appendFileSync(resultsPath, section + '\n');
  console.log(`appended to ${join('bench', 'RESULTS.md')}`);
}

/** The CPU model, for the machine line of a section. */
export function cpuModel(): string {
  return /^model name\s*:\s*(.*)$/m.exec(existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '')?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

type BenchOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * A bench entry point's flags (`options` should include a boolean `help`): `--help` prints
 * `usage` and exits 0; an unknown flag, a missing value or a stray argument prints the
 * problem and `usage` and exits 2, before any server starts (a mistyped flag must not
 * launch a half-hour run).
 */
export function benchArgs<O extends BenchOptions>(options: O, usage: string): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>['values'] {
  const config = { options, strict: true as const, allowPositionals: false as const };
  let values: ReturnType<typeof parseArgs<typeof config>>['values'];
  try {
    values = parseArgs(config).values;
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${usage}`);
    process.exit(2);
  }
  if ((values as Record<string, unknown>)['help'] === true) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

/**
 * Positional argument `n` (0 = the first after the script) as a positive integer, or
 * `fallback` when it is absent; anything else prints `usage` and exits 2.
 */
export function countArg(n: number, fallback: number, usage: string): number {
  const text = process.argv[2 + n];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (/^[0-9]+$/.test(text) && Number.isSafeInteger(value) && value > 0) return value;
  console.error(`expected a positive integer, got '${text}'\n\n${usage}`);
  process.exit(2);
}
