// Render a chaos run's report:
//   node dist/test/chaos/report/cli.js <history.jsonl> [results.json] > report.html
// results.json is { verdict, results } (the checkers' CheckResult[]); without it
// the report has no check section.
import { readFileSync } from 'node:fs';
import type { CheckResult } from '../history.js';
import { readHistory, renderReport } from './index.js';

function readResults(path: string): { verdict: string; results: CheckResult[] } {
  const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
  const { verdict, results } = (parsed ?? {}) as { verdict?: unknown; results?: unknown };
  if (typeof verdict !== 'string' || !Array.isArray(results)) throw new Error(`${path}: expected { "verdict": string, "results": CheckResult[] }`);
  return { verdict, results: results as CheckResult[] };
}

function main(args: readonly string[]): number {
  const [historyPath, resultsPath] = args;
  if (historyPath === undefined || args.length > 2) {
    process.stderr.write('usage: node dist/test/chaos/report/cli.js <history.jsonl> [results.json] > report.html\n');
    return 2;
  }
  try {
    const records = readHistory(historyPath);
    const { verdict, results } = resultsPath === undefined ? { verdict: '', results: [] } : readResults(resultsPath);
    process.stdout.write(renderReport(records, results, verdict));
    return 0;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
