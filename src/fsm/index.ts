/** Public surface of the replicated state machine. */
export type { CommandSession, FsmCommand } from "./command-types.ts";
export { decodeCommand, encodeCommand } from "./commands.ts";
export { nextPrefix } from "./key-range.ts";
export { RecordCorruptionError } from "./lmdb-records.ts";
export { LmdbStore, StoreBrokenError } from "./lmdb-store.ts";
export { MemoryStore } from "./memory-store.ts";
export type { WriteBehindLimits } from "./pending-writes.ts";
export type { SnapshotReceiver } from "./snapshot-receiver.ts";
export type { SnapshotSource } from "./snapshot-source.ts";
export type {
  ApplyResult,
  FileChunks,
  StateMachine,
  StateView,
  StoredValue,
} from "./state-machine.ts";
