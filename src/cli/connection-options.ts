// The connection options of the client subcommands (cli, cluster, bench), spelled as
// redis-cli spells them: -h is the host, so help is --help only.

import type { Command } from 'commander';
import { defaultHost, defaultPort } from '../client/client.js';

export interface ConnectionFlags {
  host: string;
  port: number;
  pass?: string;
}

/** Adds -h/--host, -p/--port and -a/--pass to `cmd`; `what` names what the host and port are. */
export function withConnectionOptions(cmd: Command, parsePort: (text: string) => number, what = { host: 'server host', port: 'server port' }): Command {
  return cmd
    .helpOption('--help', 'display help for command')
    .option('-h, --host <host>', what.host, defaultHost)
    .option('-p, --port <port>', what.port, parsePort, defaultPort)
    .option('-a, --pass <password>', 'password for AUTH (or set KEYMESH_AUTH, which stays out of `ps`)');
}

/** The password from -a or KEYMESH_AUTH; warns about -a as redis-cli does. */
export function passwordOf(flags: ConnectionFlags): string | undefined {
  if (flags.pass !== undefined) process.stderr.write("Warning: Using a password with '-a' option on the command line interface may not be safe.\n");
  return flags.pass ?? process.env.KEYMESH_AUTH;
}
