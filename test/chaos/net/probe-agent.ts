// A stand-in node for connectivity checks, run inside a node's namespace:
//   node probe-agent.js <id> <listen-host> <listen-port>[,<listen-port>…]
// It greets every connection with "<id>\n" and then echoes, so whoever connects learns which
// node it reached. It prints "ready" once listening on every port. Each stdin line
//   dial <host> <port> <timeoutMs>
// connects from inside the namespace and prints one line: "ok <greeting>" or "fail <reason>".

import net from 'node:net';
import { createInterface } from 'node:readline';

const [id, listenHost, listenPortsText] = process.argv.slice(2);
if (id === undefined || listenHost === undefined || listenPortsText === undefined) {
  process.stderr.write('usage: probe-agent <id> <listen-host> <listen-port>[,<listen-port>…]\n');
  process.exit(2);
}

/** Dials and reports the peer's greeting line (or why there was none). */
function dial(host: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = '';
    const finish = (line: string): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => finish('fail timeout'), timeoutMs);
    s.on('data', (chunk: Buffer) => {
      got += chunk.toString('latin1');
      const nl = got.indexOf('\n');
      if (nl >= 0) finish(`ok ${got.slice(0, nl)}`);
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish(`fail ${e.code ?? e.message}`));
    s.on('close', () => finish('fail closed'));
  });
}

const ports = listenPortsText.split(',').map(Number);
let listening = 0;
for (const port of ports) {
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.write(`${id}\n`);
    s.pipe(s);
  });
  server.listen(port, listenHost, () => {
    if (++listening === ports.length) process.stdout.write('ready\n');
  });
}

// Requests are answered in order, one at a time, so replies match requests.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const [verb, host, port, timeoutMs] = line.trim().split(/\s+/);
  queue = queue.then(async () => {
    const reply = verb === 'dial' && host !== undefined ? await dial(host, Number(port), Number(timeoutMs ?? 1000)) : `fail bad request '${line}'`;
    process.stdout.write(`${reply}\n`);
  });
});
// The parent going away closes stdin: nothing more to do.
process.stdin.on('end', () => process.exit(0));
