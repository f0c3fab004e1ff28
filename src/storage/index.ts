/**
 * The durable layer: write-ahead log, data dir lock, node metadata and data dir checks,
 * and the durability primitives the state machine shares. The only module other layers
 * import from storage/; the files behind it are free to change.
 */

/**
 * The blob store (issue 22): upload chunk bytes live in one file per upload; the write
 * path, the state machine's reads and snapshots, and the simulator's disk share the port.
 */
export { assertBlobName, BLOB_NAME_PATTERN, type BlobIo } from "./blob-io.ts";
/** Test-only crash injection at named points; the state machine's snapshot steps use it too. */
export { crashPoint } from "./crash-point.ts";
/** The server checks (and creates) the data dir before anything else opens it. */
export { prepareDataDir } from "./data-dir.ts";
/** The server's disk-full guard and snapshot admission ask storage how much room is left. */
export { failedForLackOfSpace, SNAPSHOT_DISK_RESERVE_BYTES, snapshotRoom } from "./disk-full.ts";
/** The node's blob store on its data dir (`state/blobs/`). */
export { DEFAULT_MAX_OPEN_BLOBS, FileBlobIo } from "./file-blob-io.ts";
/**
 * Durability primitives: the state machine's store and snapshot files follow the same
 * rules as the WAL (sync the directory after a rename or create).
 */
export { fsyncDir, mkdirDurable, writeFileAtomic } from "./fsync.ts";
/** One process per data dir: the server takes this lock first. */
export { acquireDataDirLock, type DataDirLock, LOCK_FILE } from "./lock.ts";
/** Cluster and node identity, written once at first start and checked at every start. */
export {
  type ClusterMember,
  clusterIdFor,
  type ExpectedMeta,
  isMemberId,
  loadOrInitMeta,
  META_FILE,
  META_VERSION,
  type NodeMeta,
  newMemberId,
  readNodeMeta,
  writeRestoredMeta,
} from "./meta.ts";
/** File mode of everything in the data dir; the state machine's files use it too. */
export { FILE_MODE } from "./modes.ts";
/** The write-ahead log the server persists each Ready to. */
export {
  DEFAULT_SEGMENT_BYTES,
  Wal,
  type WalContents,
  WalCorruptionError,
  type WalObserver,
  type WalOptions,
  WalStateError,
} from "./wal.ts";
