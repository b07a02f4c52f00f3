// The storage layer's public surface. Payloads are opaque Buffers: nothing here
// knows what a Redis command or a keyspace record looks like.
export { Wal, LogCorruptionError, WalFailedError, nodeWalFileSystem, isDiskFull, ENTRY_BYTES_MAX, SEGMENT_BYTES_DEFAULT } from './wal.js';
export type { LogEntry, WalFileSystem, WalOptions } from './wal.js';
export { HardStateStore, HardStateCorruptionError, EMPTY_HARD_STATE, loadHardState, saveHardState } from './hard-state.js';
export type { HardState } from './hard-state.js';
export {
  SnapshotWriter,
  SnapshotCorruptionError,
  listSnapshots,
  readSnapshot,
  loadNewestValid,
  retain,
  removeSnapshotTemps,
} from './snapshot-file.js';
export type { SnapshotMeta, SnapshotInfo, SnapshotReadResult, RecordHandler, LoadedSnapshot, JsonValue, SnapshotWriterOptions } from './snapshot-file.js';
export { DataDirLock, DataDirInUseError } from './lock.js';
