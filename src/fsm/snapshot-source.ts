/**
 * The sending side of a snapshot: one LMDB read transaction gives a consistent image of
 * the whole store at one applied index, streamed record by record in chunks, so the
 * leader never holds it in memory and keeps applying new entries meanwhile. (While the
 * read transaction is open LMDB cannot reuse the pages it sees; the store grows by what
 * is written during the transfer, and shrinks back once it ends.)
 *
 * The image format predates the blob store: a chunk travels as a "c" record holding its
 * bytes. The source reads them from the blob (one sequential read per chunk, checked
 * against the chunk's CRC) and seals such a record; the blobs it reads stay on disk
 * while it runs (blob-space.ts rule d). Dead-blob records are this node's own and stay.
 */

import { crc32 } from "node:zlib";
import type { RootDatabase, Transaction } from "lmdb";
import { FILE_CHUNK_BYTES } from "../api/index.ts";
import type { SnapshotMeta } from "../raft/index.ts";
import {
  BLOB_CHUNK_PREFIX,
  DEAD_BLOB_PREFIX,
  decodeChunkFacts,
  parseChunkKey,
} from "./blob-records.ts";
import type { BlobSpace } from "./blob-space.ts";
import {
  chunkKey,
  decodeMembershipRecord,
  decodeMeta,
  MEMBERSHIP_KEY,
  META_KEY,
  seal,
  verifyRecord,
} from "./lmdb-records.ts";
import { ImageChunker } from "./snapshot-image.ts";

/** A record of the image other than a chunk's, its checksum verified. */
function checked(key: string, value: Buffer): { key: string; value: Buffer } {
  verifyRecord(key, value);
  return { key, value };
}

/** A consistent image of the store, open until {@link SnapshotSource.close}. */
export class SnapshotSource {
  /** The applied index and term the image is at. */
  readonly meta: SnapshotMeta;
  private readonly txn: Transaction;
  private closed = false;
  private readonly release: () => void;

  constructor(
    private readonly db: RootDatabase<Buffer, string>,
    private readonly space: BlobSpace,
  ) {
    this.txn = db.useReadTransaction();
    const raw = db.get(META_KEY, { transaction: this.txn });
    const meta = raw === undefined ? { applied: 0, appliedTerm: 0 } : decodeMeta(raw);
    const members = db.get(MEMBERSHIP_KEY, { transaction: this.txn });
    this.meta = {
      index: meta.applied,
      term: meta.appliedTerm,
      ...(members !== undefined ? { membership: decodeMembershipRecord(members) } : {}),
    };
    this.release = space.holdFrom(meta.applied);
  }

  /**
   * The image as chunks. Every record's checksum is verified on the way out: a leader
   * must not spread a corruption of its own disk to a follower.
   */
  async *chunks(): AsyncGenerator<Buffer> {
    const chunker = new ImageChunker();
    for (const { key, value } of this.db.getRange({ transaction: this.txn })) {
      if (this.closed) return;
      if (key.startsWith(DEAD_BLOB_PREFIX)) continue;
      const record = key.startsWith(BLOB_CHUNK_PREFIX)
        ? await this.chunkRecord(key, value)
        : checked(key, value);
      const chunk = chunker.add(record);
      if (chunk !== null) yield chunk;
    }
    const last = chunker.flush();
    if (last !== null) yield last;
  }

  /** The image's "c" record of a chunk: its bytes from the blob, checked against `facts`. */
  private async chunkRecord(key: string, raw: Buffer): Promise<{ key: string; value: Buffer }> {
    const facts = decodeChunkFacts(key, raw);
    const { uploadId, seq } = parseChunkKey(key) ?? { uploadId: "", seq: 0 };
    const record = Buffer.allocUnsafe(4 + facts.length);
    const data = await this.space.blobs.read(uploadId, seq * FILE_CHUNK_BYTES, facts.length);
    if (crc32(data) !== facts.crc32)
      throw new Error(`chunk ${seq} of upload ${uploadId}: CRC mismatch in its blob`);
    data.copy(record, 4);
    const image = chunkKey(uploadId, seq);
    return { key: image, value: seal(image, record) };
  }

  /** Releases the read transaction and the blobs (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.txn.done();
  }
}
