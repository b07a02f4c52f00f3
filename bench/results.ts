// bench/RESULTS.md: every benchmark part appends its dated section here.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
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
