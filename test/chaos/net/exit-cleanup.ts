// Synchronous teardown that must happen however the process ends: a normal exit, or
// SIGINT / SIGTERM / SIGHUP (a test runner stopping a timed-out file, ^C). Namespaces and
// bridges outlive the process otherwise.

const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type Signal = (typeof signals)[number];

const pending = new Set<() => void>();

function runAll(): void {
  for (const cleanup of [...pending]) {
    pending.delete(cleanup);
    try {
      cleanup();
    } catch {
      // Best effort: one failed teardown must not stop the others.
    }
  }
}

function onSignal(sig: Signal): void {
  runAll();
  uninstall();
  // With nobody else listening, the default action (terminate) is what the sender asked for;
  // if the program has its own handler, it decides.
  if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
}

const handlers = new Map<Signal, () => void>(signals.map((sig) => [sig, () => onSignal(sig)]));
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', runAll);
  for (const [sig, h] of handlers) process.on(sig, h);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', runAll);
  for (const [sig, h] of handlers) process.off(sig, h);
}

/** Runs `cleanup` (synchronous) when the process exits or is signalled; returns the unregister function. */
export function onProcessExit(cleanup: () => void): () => void {
  pending.add(cleanup);
  install();
  return () => {
    pending.delete(cleanup);
    if (pending.size === 0) uninstall();
  };
}
