// The `keymesh` command: subcommands `server`, `cli`, `cluster` and `bench`.

import { Command, InvalidArgumentError, Option } from 'commander';
import { passwordOf, withConnectionOptions, type ConnectionFlags } from './connection-options.js';
import { VERSION } from '../version.js';
import { benchCommand } from './bench-command.js';
import { clusterCommand } from './cluster-command.js';
import { serverCommand } from './server-command.js';

function integerIn(min: number, max: number, what: string): (text: string) => number {
  return (text) => {
    if (!/^-?\d+$/.test(text)) throw new InvalidArgumentError(`${what} must be an integer.`);
    const n = Number(text);
    if (n < min || n > max) throw new InvalidArgumentError(`${what} must be between ${min} and ${max}.`);
    return n;
  };
}

interface CliFlags extends ConnectionFlags {
  db: number;
  raw?: boolean;
  resp3?: boolean;
  e?: boolean;
}

function cliCommand(): Command {
  return (
    withConnectionOptions(new Command('cli').description('talk to a KeyMesh (or Redis) server, in the manner of redis-cli'), integerIn(1, 65535, 'port'))
      .option('-n, --db <db>', 'database number', integerIn(0, 2147483647, 'db'), 0)
      .addOption(new Option('--raw', 'print raw replies (the default when stdout is not a terminal)'))
      .addOption(new Option('--no-raw', 'print formatted replies even when stdout is not a terminal'))
      .option('-3, --resp3', 'speak RESP3 (HELLO 3)')
      .option('-e', 'exit with status 1 when the command gets an error reply')
      .argument('[command...]', 'command to run once; without one, read commands from stdin or a prompt')
      // Options after the command belong to it (`SET k -1`), not to us.
      .passThroughOptions()
      .addHelpText('after', '\nExamples:\n  keymesh cli SET name john\n  keymesh cli -p 9001 GET name\n  echo "INCR hits" | keymesh cli\n  keymesh cli          (interactive)')
      .action(async (command: string[], opts: CliFlags) => {
        const password = passwordOf(opts);
        const { runCli } = await import('./cli-command.js');
        process.exitCode = await runCli(
          {
            host: opts.host,
            port: opts.port,
            password,
            db: opts.db,
            raw: opts.raw,
            resp3: opts.resp3 === true,
            exitOnError: opts.e === true,
          },
          command,
        );
      })
  );
}

export function buildProgram(): Command {
  return new Command('keymesh')
    .description('KeyMesh: a distributed, Redis-compatible key-value store')
    .version(VERSION, '-v, --version', 'print the version')
    .enablePositionalOptions()
    .addCommand(serverCommand())
    .addCommand(cliCommand())
    .addCommand(clusterCommand(integerIn(1, 65535, 'port')))
    .addCommand(benchCommand(integerIn));
}

await buildProgram().parseAsync(process.argv);
