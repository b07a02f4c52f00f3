// The consistency levels a client may choose (README, "A cluster"). Apart from the Raft
// node so that a single node, which has no Raft code loaded, still knows their names.

export type ConsistencyLevel = 'strong' | 'quorum' | 'eventual';
export const consistencyLevels: readonly ConsistencyLevel[] = ['strong', 'quorum', 'eventual'];
