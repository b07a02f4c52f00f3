// The worker of wal-prescan.ts: reads the segments in log order and scans each for its
// run of intact records, chaining index and term from one segment to the next. It stops
// at the first segment that does not read as wholly intact (damage, a torn tail, the
// zeroed space after the last record): recovery handles everything from there itself.

import * as fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { scanIntactRun } from './wal-record.js';
import type { PrescanRequest, PrescanResponse } from './wal-prescan.js';

const request = workerData as PrescanRequest;
const segments: PrescanResponse['segments'][number][] = [];
const transfer: ArrayBuffer[] = [];
let prevTerm = 0;
let expected = request.files[0]?.firstIndex ?? 0;
for (const file of request.files) {
  if (file.firstIndex !== expected) break;
  const buf = fs.readFileSync(file.path);
  const run = scanIntactRun(buf, file.firstIndex, prevTerm);
  segments.push({ firstIndex: file.firstIndex, prevTerm, count: run.count, sizes: run.sizes, terms: run.terms, buf });
  // A Buffer from readFileSync may share a pooled ArrayBuffer when small; transfer only
  // one it owns whole (the rest is copied by postMessage).
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) transfer.push(buf.buffer as ArrayBuffer);
  transfer.push(run.sizes.buffer as ArrayBuffer, run.terms.buffer as ArrayBuffer);
  let end = 0;
  for (const size of run.sizes) end += size;
  if (end !== buf.length) break;
  expected = file.firstIndex + run.count;
  if (run.count > 0) prevTerm = run.terms[run.count - 1]!;
}
const response: PrescanResponse = { segments };
parentPort!.postMessage(response, transfer);
