#!/usr/bin/env node
// `npm start`: a local KeyMesh cluster of three nodes on ports 9000-9002 (peer ports
// 19000-19002), data under .keymesh-data/<node>. Each node is a real `keymesh server`
// process; Ctrl-C stops them all. Node logs (JSON lines) go to .keymesh-data/<node>.log.
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = join(root, 'bin', 'keymesh.js');
const dataRoot = join(process.cwd(), '.keymesh-data');
const nodes = [
  { id: 'n1', port: 9000 },
  { id: 'n2', port: 9001 },
  { id: 'n3', port: 9002 },
];
const peers = nodes.map((n) => `${n.id}@127.0.0.1:${n.port}`).join(',');

mkdirSync(dataRoot, { recursive: true });
const children = nodes.map((n) => {
  const log = openSync(join(dataRoot, `${n.id}.log`), 'a');
  const child = spawn(
    process.execPath,
    [bin, 'server', '--node-id', n.id, '--port', String(n.port), '--peers', peers, '--data-dir', join(dataRoot, n.id)],
    { stdio: ['ignore', 'inherit', log] },
  );
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`node ${n.id} exited (${signal ?? `code ${code}`}); see ${join(dataRoot, `${n.id}.log`)}`);
    }
  });
  return child;
});

console.log(`
A local KeyMesh cluster of ${nodes.length} nodes is starting. Any node accepts any command:
${nodes.map((n) => `  ${n.id}:  nc localhost ${n.port}     npx keymesh cli -p ${n.port}     redis-cli -p ${n.port}`).join('\n')}
Cluster state: npx keymesh cli -p 9000 CLUSTER NODES
Logs and data: ${dataRoot}
Press Ctrl-C to stop all nodes.
`);

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
