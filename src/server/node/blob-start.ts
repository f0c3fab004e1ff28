/**
 * The blob store's start-up check (docs/architecture.md#the-blob-store, crash rule 5):
 * after the WAL and the store are reconciled, blobs named by nothing (no value, upload,
 * dead record, nor a chunk entry the log still holds) are removed, and a store naming a
 * blob that is missing or short stops the node with exit 7, naming it.
 */
import { decodeCommand, type LmdbStore } from "../../fsm/index.ts";
import { type Entry, EntryKind } from "../../raft/index.ts";
import type { Ctx } from "./context.ts";

/** Upload ids of the chunk entries among `entries` (full or stored form). */
export function chunkUploads(entries: readonly Entry[]): Set<string> {
  const ids = new Set<string>();
  for (const entry of entries) {
    if (entry.kind !== EntryKind.Normal) continue;
    const command = decodeCommand(entry.data);
    if (command?.op === "upload_chunk") ids.add(command.uploadId);
  }
  return ids;
}

/** Runs the check over the store and the recovered log's entries; logs orphans removed. */
export async function checkBlobsAtStart(
  { logger }: Pick<Ctx, "logger">,
  fsm: LmdbStore,
  entries: readonly Entry[],
): Promise<void> {
  const orphans = await fsm.checkBlobs(chunkUploads(entries));
  if (orphans.length > 0)
    logger.warn(
      { count: orphans.length, blobs: orphans.slice(0, 8) },
      "removed orphan blobs (left by a crash between steps, or by uploads cut from the log)",
    );
}
