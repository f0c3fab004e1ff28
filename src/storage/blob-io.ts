/**
 * The blob store's port (issue 22): every upload's chunk bytes live in one file per
 * upload, `<data-dir>/state/blobs/<uploadId>`, chunk `seq` at byte `seq * 1 MiB`, so
 * the blob is the file's bytes in order. The write path puts each chunk there (and
 * syncs it) before the WAL record naming it; the WAL and the Raft log keep only the
 * chunk's stored form (length, crc32). Real nodes use `FileBlobIo`; the simulator
 * plugs in its own disk model behind the same interface.
 */

/** Where a node keeps upload blobs (the real data dir, or the simulator's disk). */
export interface BlobIo {
  /** Writes data at offset of blob `name` (created if missing); durable only after sync. */
  write(name: string, offset: number, data: Uint8Array): Promise<void>;
  /** Makes every write so far to these blobs durable, and new blobs' directory entries. */
  sync(names: readonly string[]): Promise<void>;
  /** Reads exactly `length` bytes at `offset` (throws if the blob is shorter). */
  read(name: string, offset: number, length: number): Promise<Buffer>;
  /** Size in bytes, or undefined if there is no such blob. */
  size(name: string): Promise<number | undefined>;
  /** Removes a blob durably (dir fsync); a missing blob is not an error. */
  unlink(name: string): Promise<void>;
  /** Names of all blobs. */
  list(): Promise<string[]>;
  /** Closes cached descriptors (before the directory is swapped by a snapshot install). */
  closeAll(): Promise<void>;
}

/** A blob's name is its upload id: 32 lowercase hex chars, checked before any path is built. */
export const BLOB_NAME_PATTERN = /^[0-9a-f]{32}$/;

/** Throws unless `name` is a valid blob name (an upload id). Why: names become paths. */
export function assertBlobName(name: string): void {
  if (!BLOB_NAME_PATTERN.test(name)) throw new Error(`invalid blob name: ${JSON.stringify(name)}`);
}
