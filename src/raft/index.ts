// Public surface of the Raft core.
//
// Driving a RaftNode (the runtime's loop):
//   - call tick() on a fixed interval and step(msg) for each message from a peer;
//   - propose()/proposeConfChange()/readIndex()/transferLeadership() from clients;
//   - while hasReady(): rd = ready(); then, in this order,
//       1. durably install rd.snapshotToInstall, append rd.entriesToPersist, write rd.hardState;
//       2. send rd.messages (they may acknowledge what step 1 wrote);
//       3. apply rd.committedEntries; serve each rd.readStates entry once applied ≥ its index;
//       4. advance(rd).
// The node only reads storage through LogStorage; the runtime owns writing it.
export { RaftNode, defaultRaftConfig, quorum } from './raft.js';
export type { RaftConfig, Status } from './raft.js';
export { MemoryLog, EMPTY_HARD_STATE } from './storage.js';
export type { LogStorage } from './storage.js';
export { SeededRandom } from './rand.js';
export type { RandomSource } from './rand.js';
export { applyConfChange, decodeConfChange, encodeConfChange, isVoter, isMember, EMPTY_CONF } from './confchange.js';
export * from './types.js';
