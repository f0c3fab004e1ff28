/**
 * Public surface of the replicated state machine: the only module other layers import
 * from fsm/.
 */

/** Rules the node checks before proposing, the same the state machine applies. */
export {
  MAX_PASSWORD_HASH_CHARS,
  MAX_S3_KEYS_PER_USER,
  NAME_PATTERN,
  S3_ACCESS_KEY_PATTERN,
  S3_SECRET_PATTERN,
  TOKEN_KEY_BYTES,
} from "./auth-rules.ts";
/** Users, roles and permissions as the state machine holds them; the node checks calls with them. */
export type {
  AuthAction,
  AuthPermission,
  AuthRole,
  AuthUser,
  AuthView,
} from "./auth-state.ts";
/** The built-in all-powerful role, and the user that must exist to enable auth. */
export { ROOT } from "./auth-state.ts";
/** Backups (`dfs snapshot`): the node's image tally, and writing, verifying and restoring a file. */
export { ImageTally } from "./backup-image.ts";
export { type BackupSummary, buildStoreFromBackup, verifyBackup } from "./backup-restore.ts";
export { type SavedBackup, saveBackupFile } from "./backup-save.ts";
/** Reading a file's chunks from its blob, checked (downloads, unary reads of one chunk). */
export { BlobReadError, readFileChunk, readFileChunks } from "./blob-reader.ts";
/**
 * The full and stored forms of upload chunk entries: the server's write path cuts chunks
 * out into blobs, its transport rehydrates them, the core sizes them (issue 22).
 */
export {
  type ChunkPlace,
  type ChunkSplit,
  entryLogicalBytes,
  rehydrateChunkEntry,
  type StoredChunk,
  StoredFormError,
  splitChunkEntry,
  storedChunkOf,
} from "./chunk-payloads.ts";
/** A command, its session and its caller, as the server builds them from client requests. */
export type { AuthOp, CommandCaller, CommandSession, FsmCommand } from "./command-types.ts";
/** A command's log-entry payload: the server encodes what it proposes; decoding pairs with it. */
export { decodeCommand, encodeCommand } from "./commands.ts";
/** Online defragmentation of the on-disk store (`dfs defrag`): its report, steps and refusals. */
export {
  DEFRAG_STEPS,
  DefragAbandoned,
  type DefragReport,
  type DefragStep,
} from "./defrag.ts";
/** The first key after every key under a prefix: the server's listing pages with it. */
export { nextPrefix } from "./key-range.ts";
/** A damaged store record: the node stops rather than serve it (exit code "corrupt"). */
export { RecordCorruptionError } from "./lmdb-records.ts";
/** The on-disk state machine a node runs, and the error that marks it unusable. */
export { DefragBusyError, LmdbStore, StoreBrokenError } from "./lmdb-store.ts";
/** The in-memory state machine the simulator and unit tests run. */
export { MemoryStore } from "./memory-store.ts";
/** Bounds of the store's write-behind queue, part of a node's tuning. */
export type { WriteBehindLimits } from "./pending-writes.ts";
/** Snapshot streams in and out of the store, which the loop and transport hand over. */
export type { SnapshotReceiver } from "./snapshot-receiver.ts";
export type { SnapshotSource } from "./snapshot-source.ts";
/** The state machine's interface and its answers, which the server's loop and handlers use. */
export type {
  ApplyResult,
  FileChunks,
  StateMachine,
  StateView,
  StoredValue,
} from "./state-machine.ts";
