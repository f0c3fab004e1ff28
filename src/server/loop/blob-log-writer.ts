/**
 * The write path of the blob store (issue 22, docs/architecture.md "The blob store"): a
 * {@link LogWriter} in front of the WAL that writes each byte of a file once per node.
 * For every full upload chunk among the entries to persist, it writes the chunk's bytes
 * into the upload's blob at `seq` × 1 MiB, fdatasyncs every blob it touched (and the
 * blobs directory for a new one), and only then saves the entries to the WAL with each
 * chunk in its stored form (length, CRC-32; no bytes). Once the core has marked those
 * entries durable (after `advance`), it swaps them for the stored form in the core's
 * log too, so neither the WAL nor memory keeps file data.
 *
 * Crash rules it keeps: a chunk's bytes and a new blob's name are durable before the WAL
 * record naming them; a crash in between leaves at worst an orphan blob (no entry names
 * it), which start-up removes.
 */
import { type ChunkSplit, splitChunkEntry } from "../../fsm/index.ts";
import type { Entry, HardState, RawNode } from "../../raft/index.ts";
import { type BlobIo, crashPoint } from "../../storage/index.ts";
import type { LogWriter } from "./ports.ts";

/** Crash points (DFS_CRASH_AT) of the write path, in the order they are reached. */
export const BLOB_CRASH_POINTS = {
  /** Chunk bytes written to their blobs (page cache), not yet synced. */
  written: "blob-written",
  /** Blobs synced, the WAL not yet written. */
  synced: "blob-synced",
} as const;

/** What the writer needs. */
export interface BlobLogWriterDeps {
  /** The WAL (or the simulator's disk) that stores entries and hard state. */
  readonly wal: LogWriter;
  readonly blobs: BlobIo;
  /** The core whose log takes the stored forms once they are durable. */
  readonly core: Pick<RawNode, "replacePersisted">;
  /** Cuts a full chunk entry (tests may plant another); default {@link splitChunkEntry}. */
  readonly split?: (entry: Entry) => ChunkSplit | null;
}

/** A LogWriter that puts chunk bytes in blobs and only their stored form in the WAL. */
export class BlobLogWriter implements LogWriter {
  private readonly split: (entry: Entry) => ChunkSplit | null;
  /** Stored forms saved by the last save(s), for the core once they are stable there. */
  private saved: Entry[] = [];

  constructor(private readonly d: BlobLogWriterDeps) {
    this.split = d.split ?? splitChunkEntry;
  }

  /** Blob writes and syncs, then the WAL write; resolves once all of it is durable. */
  async save(entries: readonly Entry[], hardState: HardState | null): Promise<void> {
    const kept: Entry[] = [];
    const stored: Entry[] = [];
    const writes: Promise<void>[] = [];
    const blobs = new Set<string>();
    for (const entry of entries) {
      const cut = this.split(entry);
      if (cut === null) {
        kept.push(entry);
        continue;
      }
      writes.push(this.d.blobs.write(cut.blob, cut.offset, cut.data));
      blobs.add(cut.blob);
      kept.push(cut.stored);
      stored.push(cut.stored);
    }
    if (writes.length > 0) {
      await Promise.all(writes);
      crashPoint(BLOB_CRASH_POINTS.written);
      await this.d.blobs.sync([...blobs]);
      crashPoint(BLOB_CRASH_POINTS.synced);
    }
    await this.d.wal.save(kept, hardState);
    for (const e of stored) this.saved.push(e);
  }

  /**
   * The core was advanced past the last save: its entries are durable there, so the
   * core may now hold their stored forms instead (RawNode.replacePersisted takes only
   * durable entries, and skips any a newer leader truncated meanwhile).
   */
  afterAdvance(): void {
    if (this.saved.length === 0) return;
    const saved = this.saved;
    this.saved = [];
    this.d.core.replacePersisted(saved);
  }

  /** See {@link LogWriter.compact}. */
  async compact(index: number): Promise<void> {
    await this.d.wal.compact?.(index);
  }

  /** See {@link LogWriter.reset}; stored forms not yet handed to the core are moot. */
  async reset(index: number, term: number): Promise<void> {
    this.saved = [];
    await this.d.wal.reset?.(index, term);
  }
}
