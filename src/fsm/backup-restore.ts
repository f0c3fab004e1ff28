/**
 * Reading a backup file back: verifying it whole (`dfs snapshot status`, and the first
 * pass of a restore) and building a node's state store from it (`dfs snapshot restore`).
 * Both stream the file frame by frame, so memory stays at about one image chunk.
 */

import { dirname, join } from "node:path";
import type { SnapshotHeader, SnapshotTrailer } from "../gen/dfs.ts";
import type { Membership } from "../raft/index.ts";
import { FileBlobIo, fsyncDir, mkdirDurable } from "../storage/index.ts";
import { backupCorrupt, readBackupFrames } from "./backup-file.ts";
import { ImageTally } from "./backup-image.ts";
import { BlobImageWriter } from "./blob-image-writer.ts";
import { openEnvironment } from "./lmdb-env.ts";
import { encodeMembershipRecord, MEMBERSHIP_KEY } from "./lmdb-records.ts";

/** What a verified backup holds. */
export interface BackupSummary {
  readonly header: SnapshotHeader;
  readonly trailer: SnapshotTrailer;
  /** SHA-256 of the file before the seal (hex): the backup's identity. */
  readonly sha256: string;
  /** Size of the file. */
  readonly fileBytes: number;
}

/**
 * Reads the whole backup at `path`, checking the seal, every record's CRC and the
 * trailer's counts. Throws StartupError "corrupt" (exit 7) for any damage or truncation.
 */
export async function verifyBackup(
  path: string,
  onBytes?: (bytes: number) => void,
): Promise<BackupSummary> {
  return await scanBackup(path, onBytes, () => {});
}

/**
 * Builds the state store of a restored node in `stateDir` (which must not hold one):
 * every record of the backup as it was, except the configuration, which becomes
 * `membership` (the new cluster's). The store's applied index and term stay the
 * backup's. File chunks' bytes go into the data dir's blobs (`blobDir`, by default
 * `blobs/` beside `stateDir`; each synced). Throws "corrupt" if the file turns out damaged on the way; the caller then
 * removes what was built.
 */
export async function buildStoreFromBackup(
  path: string,
  stateDir: string,
  membership: Membership,
  onBytes?: (bytes: number) => void,
  blobDir: string = join(dirname(stateDir), "blobs"),
): Promise<BackupSummary> {
  await mkdirDurable(stateDir);
  // One fdatasync per chunk's commit, the meta page left to the next commit; the extra
  // commit at the end makes the last one durable too (as LmdbStore.flushed does).
  const db = openEnvironment(stateDir, "all-but-last");
  const blobIo = new FileBlobIo(blobDir);
  const blobs = new BlobImageWriter(blobIo);
  try {
    const summary = await scanBackup(path, onBytes, async (parsed) => {
      const records = await blobs.convert(parsed);
      db.transactionSync(() => {
        for (const { key, value } of records) if (key !== MEMBERSHIP_KEY) db.putSync(key, value);
      });
    });
    await blobs.finish();
    const config = encodeMembershipRecord(membership);
    db.transactionSync(() => db.putSync(MEMBERSHIP_KEY, config));
    db.transactionSync(() => db.putSync(MEMBERSHIP_KEY, config));
    await db.flushed;
    return summary;
  } finally {
    await blobIo.closeAll();
    await db.close();
    await fsyncDir(stateDir);
  }
}

type Sink = (records: ReturnType<ImageTally["add"]>) => void | Promise<void>;

async function scanBackup(
  path: string,
  onBytes: ((bytes: number) => void) | undefined,
  sink: Sink,
): Promise<BackupSummary> {
  const tally = new ImageTally();
  let header: SnapshotHeader | null = null;
  let fileBytes = 0;
  const counting = (bytes: number) => {
    fileBytes = bytes;
    onBytes?.(bytes);
  };
  for await (const frame of readBackupFrames(path, counting)) {
    if (frame.kind === "header") header = frame.header;
    else if (frame.kind === "data") await sink(addChecked(tally, frame.chunk, path));
    else {
      if (header === null) throw backupCorrupt(path, "no header");
      const why = tally.mismatch(header, frame.trailer);
      if (why !== null) throw backupCorrupt(path, why);
      const sha256 = frame.seal ?? "";
      return { header, trailer: frame.trailer, sha256, fileBytes: fileBytes + 32 };
    }
  }
  throw backupCorrupt(path, "no trailer");
}

function addChecked(tally: ImageTally, chunk: Buffer, path: string): ReturnType<ImageTally["add"]> {
  try {
    return tally.add(chunk);
  } catch (err) {
    throw backupCorrupt(path, (err as Error).message);
  }
}
