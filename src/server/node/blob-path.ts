/**
 * Assembly of the blob store's write path (issue 22): what the transport uses to send
 * stored-form chunks in full, and the start-up step that moves chunk bytes still held
 * in full in the WAL (a data dir of an earlier version) into their blobs.
 */
import {
  entryLogicalBytes,
  rehydrateChunkEntry,
  splitChunkEntry,
  storedChunkOf,
} from "../../fsm/index.ts";
import { type Entry, EntryKind, type LogInit } from "../../raft/index.ts";
import type { BlobIo } from "../../storage/index.ts";
import type { EntryRehydrator } from "../../transport/index.ts";
import { isStoredChunkPayload } from "../../wire/index.ts";

/** Reads stored-form chunks back from `blobs` for the transport (CRC-checked). */
export function blobRehydrator(blobs: BlobIo): EntryRehydrator {
  return {
    needs: (e) => e.kind === EntryKind.Normal && isStoredChunkPayload(e.data),
    bytes: entryLogicalBytes,
    rehydrate: async (e) => {
      const chunk = storedChunkOf(e);
      if (chunk === null) return e;
      return rehydrateChunkEntry(e, await blobs.read(chunk.blob, chunk.offset, chunk.length));
    },
  };
}

/**
 * Writes the bytes of every full chunk entry the log will still apply (after
 * `log.applied`) into its blob and syncs them, and returns the log with those entries in
 * the stored form, as the write path would have left them. Only a WAL written before the
 * blob store holds such entries; the WAL keeps them as they are (this runs again, to the
 * same effect, at the next start until they are compacted away).
 */
export async function storeRecoveredChunks(log: LogInit, blobs: BlobIo): Promise<LogInit> {
  const touched = new Set<string>();
  const entries: Entry[] = [];
  for (const entry of log.entries) {
    // Entries the write path already stored (the usual case) are kept as they are.
    const cut =
      entry.index > log.applied && storedChunkOf(entry) === null ? splitChunkEntry(entry) : null;
    if (cut === null) {
      entries.push(entry);
      continue;
    }
    await blobs.write(cut.blob, cut.offset, cut.data);
    touched.add(cut.blob);
    entries.push(cut.stored);
  }
  if (touched.size === 0) return log;
  await blobs.sync([...touched]);
  return { ...log, entries };
}
