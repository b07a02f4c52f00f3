// The command table: every command family's specs in one map, keyed by lower-case name.

import type { CommandSpec } from './types.js';
import { internalCommands } from './internal.js';
import { stringCommands } from './strings.js';
import { keyCommands } from './keys.js';
import { connectionCommands } from './connection.js';
import { serverCommands } from './server.js';
import { persistenceCommands } from './persistence.js';
import { clusterCommands } from './cluster.js';

export function buildCommandTable(): Map<string, CommandSpec> {
  const table = new Map<string, CommandSpec>();
  for (const family of [internalCommands, stringCommands, keyCommands, connectionCommands, serverCommands, persistenceCommands, clusterCommands]) {
    for (const spec of family) {
      if (table.has(spec.name)) throw new Error(`command ${spec.name} defined twice`);
      table.set(spec.name, spec);
    }
  }
  return table;
}
