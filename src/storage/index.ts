/**
 * The durable layer: write-ahead log, data dir lock, node metadata and data dir checks.
 * Everything the server needs from `storage` is exported here; the files behind it are
 * free to change.
 */

export { crashPoint } from "./crash-point.ts";
export { prepareDataDir } from "./data-dir.ts";
export { failedForLackOfSpace, SNAPSHOT_DISK_RESERVE_BYTES, snapshotRoom } from "./disk-full.ts";
export { acquireDataDirLock, type DataDirLock, LOCK_FILE } from "./lock.ts";
export {
  type ClusterMember,
  clusterIdFor,
  loadOrInitMeta,
  META_FILE,
  META_VERSION,
  type NodeMeta,
} from "./meta.ts";
export {
  DEFAULT_SEGMENT_BYTES,
  Wal,
  type WalContents,
  WalCorruptionError,
  type WalOptions,
  WalStateError,
} from "./wal.ts";
