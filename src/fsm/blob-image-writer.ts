/**
 * Loading an image's chunk records into a store's blobs: the snapshot receiver and
 * `dfs snapshot restore` both get "c" records holding a chunk's bytes (the image format
 * did not change with the blob store); the bytes go into the new store's blob of the
 * upload, at `seq` × 1 MiB, and the store keeps a "b" record (length, CRC-32). Records
 * arrive in key order, so one upload's chunks come together: each blob is synced when
 * the next one starts, and the last (with the directory) by {@link BlobImageWriter.finish}.
 */
import { FILE_CHUNK_BYTES } from "../api/index.ts";
import type { BlobIo } from "../storage/index.ts";
import { blobChunkKey, chunkFactsOf, encodeChunkFacts, parseChunkKey } from "./blob-records.ts";
import { CHUNK_PREFIX, decodeChunk } from "./lmdb-records.ts";
import type { ImageRecord } from "./snapshot-image.ts";

/** Turns an image's chunk records into blob writes and the store's chunk records. */
export class BlobImageWriter {
  private current: string | null = null;
  private readonly written = new Set<string>();

  constructor(private readonly blobs: BlobIo) {}

  /**
   * The records to store for `records`: a chunk record ("c") has its bytes written (and
   * checked) into its blob and becomes its "b" record; any other record is kept as is.
   */
  async convert(records: readonly ImageRecord[]): Promise<ImageRecord[]> {
    const out: ImageRecord[] = [];
    for (const record of records) {
      const chunk = record.key.startsWith(CHUNK_PREFIX) ? parseChunkKey(record.key) : null;
      if (chunk === null) {
        out.push(record);
        continue;
      }
      const data = decodeChunk(record.key, record.value);
      if (this.current !== chunk.uploadId) await this.syncCurrent();
      this.current = chunk.uploadId;
      this.written.add(chunk.uploadId);
      await this.blobs.write(chunk.uploadId, chunk.seq * FILE_CHUNK_BYTES, data);
      const key = blobChunkKey(chunk.uploadId, chunk.seq);
      out.push({ key, value: encodeChunkFacts(key, chunkFactsOf(data)) });
    }
    return out;
  }

  /** Makes every blob written durable (each blob, and their directory). */
  async finish(): Promise<void> {
    await this.syncCurrent();
  }

  /** Blobs written so far. */
  get blobCount(): number {
    return this.written.size;
  }

  private async syncCurrent(): Promise<void> {
    if (this.current === null) return;
    const id = this.current;
    this.current = null;
    await this.blobs.sync([id]);
  }
}
