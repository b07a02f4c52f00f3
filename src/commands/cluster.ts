// Replication commands: CLUSTER (INFO, NODES, FAILOVER, ADDNODE, REMOVENODE), CONSISTENCY and WAIT.
// They talk to the node's Raft runtime; on a single node (no `peers`) CLUSTER answers as
// Redis does without cluster support, CONSISTENCY accepts any level (one node is always
// strong) and WAIT has no replicas to wait for.

import { Err } from '../protocol/errors.js';
import type { ClusterNode } from '../cluster/raft-node.js';
import { consistencyLevels, type ConsistencyLevel } from '../cluster/consistency.js';
import type { NodeServices } from '../server/services.js';
import { containerCommand, replyHelp } from './command-docs.js';
import { parseInteger } from './args.js';
import { command, Flag, type CommandContext, type CommandSpec } from './types.js';

function clusterOf(services: NodeServices): ClusterNode | null {
  return services.cluster;
}

function clusterSub(spec: Omit<Parameters<typeof command>[0], 'group' | 'run'> & { run(ctx: CommandContext, argv: string[], node: ClusterNode): void }): CommandSpec {
  const run = spec.run;
  return command({
    group: 'cluster',
    ...spec,
    flags: (spec.flags ?? 0) | Flag.Connection,
    run(ctx, argv) {
      const node = clusterOf(ctx.services);
      if (node === null) ctx.reply.error(Err.clusterDisabled);
      else run(ctx, argv, node);
    },
  });
}

/** Replies OK or the error text of an asynchronous cluster operation. */
function replyLater(ctx: CommandContext, work: Promise<string | null>): void {
  ctx.deferReply(async (reply) => {
    const err = await work;
    if (err === null) reply.ok();
    else reply.error(err);
  });
}

const clusterInfo = clusterSub({
  name: 'cluster|info',
  arity: 2,
  summary: 'Returns information about the state of the cluster (Raft role, term, indexes).',
  run(ctx, _argv, node) {
    ctx.reply.verbatim(node.clusterInfo());
  },
});

const clusterNodes = clusterSub({
  name: 'cluster|nodes',
  arity: 2,
  summary: 'Returns the members: id, address, role, term, commit/applied index, lag.',
  run(ctx, _argv, node) {
    ctx.reply.verbatim(node.clusterNodes());
  },
});

const clusterFailover = clusterSub({
  name: 'cluster|failover',
  arity: -2,
  flags: Flag.Admin,
  summary: 'Hands leadership to a node (default: this follower, or the most caught-up one).',
  syntax: '[node-id]',
  run(ctx, argv, node) {
    if (argv.length > 3) {
      ctx.reply.error(Err.syntax);
      return;
    }
    replyLater(ctx, node.failover(argv[2] ?? null));
  },
});

const clusterAddNode = clusterSub({
  name: 'cluster|addnode',
  arity: 4,
  flags: Flag.Admin,
  summary: 'Adds a node (started with --cluster-join yes): a learner first, a voter once caught up.',
  syntax: 'node-id host:port[@peerport]',
  run(ctx, argv, node) {
    replyLater(ctx, node.addNode(argv[2]!, argv[3]!));
  },
});

const clusterRemoveNode = clusterSub({
  name: 'cluster|removenode',
  arity: 3,
  flags: Flag.Admin,
  summary: 'Removes a member from the cluster (a membership change through the log).',
  syntax: 'node-id',
  run(ctx, argv, node) {
    replyLater(ctx, node.removeNode(argv[2]!));
  },
});

const clusterHelp = command({
  name: 'cluster|help',
  arity: 2,
  flags: Flag.Connection,
  group: 'cluster',
  summary: 'Returns helpful text about the different subcommands.',
  run(ctx) {
    replyHelp(ctx.reply, 'cluster', [
      'INFO',
      '    Return information about the cluster: role, leader, term, commit and applied index.',
      'NODES',
      '    Return the members with their address, role, term, indexes and lag.',
      'FAILOVER [<node-id>]',
      '    Hand leadership to <node-id> (on a follower without argument: to this node).',
      'ADDNODE <node-id> <host:port[@peerport]>',
      '    Add a node started with --cluster-join yes: a learner until it has caught up, then a voter.',
      'REMOVENODE <node-id>',
      '    Remove a member from the cluster.',
    ]);
  },
});

const cluster = containerCommand({
  name: 'cluster',
  arity: -2,
  flags: Flag.Connection,
  group: 'cluster',
  summary: 'A container for Raft cluster commands.',
  subcommands: [clusterInfo, clusterNodes, clusterFailover, clusterAddNode, clusterRemoveNode, clusterHelp],
});

const consistency = command({
  name: 'consistency',
  arity: -1,
  flags: Flag.Fast | Flag.Connection,
  group: 'connection',
  summary: "Shows or sets this connection's consistency level (strong, quorum, eventual).",
  syntax: '[strong|quorum|eventual]',
  run(ctx, argv) {
    const node = clusterOf(ctx.services);
    if (argv.length === 1) {
      ctx.reply.bulk(node === null ? ctx.services.config.str('consistency') : node.consistencyOf(ctx.client));
      return;
    }
    const level = argv[1]!.toLowerCase();
    if (argv.length > 2 || !consistencyLevels.includes(level as ConsistencyLevel)) {
      ctx.reply.error(`ERR invalid consistency level '${argv.slice(1).join(' ')}' (expected strong, quorum or eventual)`);
      return;
    }
    node?.setConsistency(ctx.client, level as ConsistencyLevel);
    ctx.reply.ok();
  },
});

const wait = command({
  name: 'wait',
  arity: 3,
  group: 'generic',
  summary: "Waits until this connection's last write reached numreplicas followers, or the timeout.",
  syntax: 'numreplicas timeout',
  run(ctx, argv) {
    const numReplicas = parseInteger(argv[1]!);
    if (numReplicas === null) {
      ctx.reply.error(Err.notInteger);
      return;
    }
    const timeoutMs = parseInteger(argv[2]!);
    if (timeoutMs === null) {
      ctx.reply.error(Err.timeoutNotInteger);
      return;
    }
    if (timeoutMs < 0) {
      ctx.reply.error(Err.timeoutNegative);
      return;
    }
    const node = clusterOf(ctx.services);
    if (node === null) {
      ctx.reply.int(0);
      return;
    }
    const client = ctx.client;
    ctx.deferReply(async (reply) => {
      const r = await node.waitReplicas(client, numReplicas, timeoutMs);
      if (typeof r === 'string') reply.error(r);
      else reply.int(r);
    });
  },
});

export const clusterCommands: readonly CommandSpec[] = [cluster, consistency, wait];
