/**
 * Writing a backup file from a node's SnapshotSave stream: atomically (a temporary file
 * beside the target, synced, renamed over it, the directory synced), so a crash or a
 * failed transfer never leaves a file at the target that looks like a backup. Every
 * record is checked and counted as it arrives and the counts must equal the node's
 * trailer, so a message lost or damaged on the way fails the save, not the restore.
 */
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { DfsError } from "../api/index.ts";
import type { SnapshotHeader, SnapshotSaveResponse, SnapshotTrailer } from "../gen/dfs.ts";
import { FILE_MODE, fsyncDir } from "../storage/index.ts";
import { BackupFileWriter } from "./backup-file.ts";
import { ImageTally } from "./backup-image.ts";

/** What a saved backup holds (as `dfs snapshot status` would print it). */
export interface SavedBackup {
  readonly header: SnapshotHeader;
  readonly trailer: SnapshotTrailer;
  readonly sha256: string;
  readonly fileBytes: number;
}

/**
 * Writes the stream of one SnapshotSave call to `path`. `onData` is told the image bytes
 * received so far. Throws DfsError `internal` for a stream that breaks the protocol
 * (header not first, counts that differ from the trailer, no trailer).
 */
export async function saveBackupFile(
  path: string,
  stream: AsyncIterable<SnapshotSaveResponse>,
  onData?: (bytes: number, header: SnapshotHeader) => void,
): Promise<SavedBackup> {
  const temp = join(dirname(path), `.${basename(path)}.tmp.${process.pid}`);
  const handle = await open(temp, "wx", FILE_MODE);
  let done = false;
  try {
    const writer = new BackupFileWriter(handle);
    await writer.begin();
    const { header, trailer } = await copyFrames(stream, writer, onData);
    const sha256 = await writer.seal();
    await handle.sync();
    await handle.close();
    await rename(temp, path);
    done = true;
    await fsyncDir(dirname(path));
    return { header, trailer, sha256, fileBytes: writer.bytes };
  } finally {
    if (!done) {
      await handle.close().catch(() => {});
      await unlink(temp).catch(() => {});
    }
  }
}

async function copyFrames(
  stream: AsyncIterable<SnapshotSaveResponse>,
  writer: BackupFileWriter,
  onData?: (bytes: number, header: SnapshotHeader) => void,
): Promise<{ header: SnapshotHeader; trailer: SnapshotTrailer }> {
  const tally = new ImageTally();
  let header: SnapshotHeader | undefined;
  for await (const message of stream) {
    if (header === undefined) {
      header = message.header;
      if (header === undefined) throw broken("the stream did not begin with its header");
      await writer.frame({ kind: "header", header });
      continue;
    }
    if (message.trailer !== undefined) {
      const why = tally.mismatch(header, message.trailer);
      if (why !== null) throw broken(why);
      await writer.frame({ kind: "trailer", trailer: message.trailer });
      return { header, trailer: message.trailer };
    }
    const chunk = message.data;
    tally.add(chunk);
    await writer.frame({ kind: "data", chunk });
    onData?.(tally.dataBytes, header);
  }
  throw broken("the stream ended without its trailer");
}

function broken(reason: string): DfsError {
  return new DfsError("internal", `snapshot stream from the node is inconsistent: ${reason}`);
}
