/**
 * The receiving side of a snapshot: chunks are loaded into a fresh store in `state.new/`
 * as they arrive (never the whole image in memory), every record's checksum and the
 * SHA-256 of the whole stream are verified, and only a complete, verified, flushed store
 * can be installed. Chunk records bring their bytes: those go straight into the node's
 * blobs (blob-image-writer.ts), synced before the store is. That is safe before the
 * image is verified or installed: a chunk's bytes are the same in every blob of its
 * upload (one leader cut them), and blobs no store names are orphans (blob-check.ts).
 */
import { createHash, type Hash } from "node:crypto";
import { rm } from "node:fs/promises";
import type { RootDatabase } from "lmdb";
import type { SnapshotMeta } from "../raft/index.ts";
import { type BlobIo, fsyncDir, mkdirDurable } from "../storage/index.ts";
import { checkAuthRecord } from "./auth-records.ts";
import { BlobImageWriter } from "./blob-image-writer.ts";
import { openEnvironment } from "./lmdb-env.ts";
import {
  decodeMembershipRecord,
  decodeMeta,
  MEMBERSHIP_KEY,
  META_KEY,
  verifyRecord,
} from "./lmdb-records.ts";
import { parseChunk } from "./snapshot-image.ts";

/** A snapshot being received into its own directory. */
export class SnapshotReceiver {
  private readonly hash: Hash = createHash("sha256");
  private db: RootDatabase<Buffer, string> | null;
  private complete = false;
  private sawMeta = false;
  /** Bytes received so far. */
  bytes = 0;
  private readonly blobWriter: BlobImageWriter;

  private constructor(
    /** This transfer's own directory. */
    readonly dir: string,
    readonly meta: SnapshotMeta,
    blobs: BlobIo,
  ) {
    this.db = openEnvironment(dir);
    this.blobWriter = new BlobImageWriter(blobs);
  }

  /** Starts receiving the snapshot at `meta` into `dir` (emptied first), chunks into `blobs`. */
  static async create(dir: string, meta: SnapshotMeta, blobs: BlobIo): Promise<SnapshotReceiver> {
    await rm(dir, { recursive: true, force: true });
    await mkdirDurable(dir);
    return new SnapshotReceiver(dir, meta, blobs);
  }

  /**
   * Loads one chunk (its file chunks' bytes into blobs, then its records in one
   * transaction); throws if it is malformed or a record is corrupt. Calls must not overlap.
   */
  async write(chunk: Buffer): Promise<void> {
    this.openDb();
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const parsed = parseChunk(chunk);
    for (const { key, value } of parsed) {
      verifyRecord(key, value);
      if (key === META_KEY) this.checkMeta(value);
      if (key === MEMBERSHIP_KEY) decodeMembershipRecord(value); // a bad one is refused here
      checkAuthRecord(key, value);
    }
    const records = await this.blobWriter.convert(parsed);
    const db = this.openDb();
    db.transactionSync(() => {
      for (const { key, value } of records) db.putSync(key, value);
    });
  }

  /**
   * Ends the transfer: the stream's SHA-256 must equal `sha256` and the image must have
   * carried its metadata; then the store is flushed and closed, ready to install.
   */
  async finish(sha256: Uint8Array): Promise<void> {
    const db = this.openDb();
    const actual = this.hash.digest();
    if (!actual.equals(sha256)) throw new Error("snapshot checksum mismatch (SHA-256)");
    if (!this.sawMeta) throw new Error("snapshot image has no metadata record");
    await this.blobWriter.finish();
    await db.flushed;
    await db.close();
    if (this.db !== db) throw new Error("snapshot transfer was aborted while finishing");
    await fsyncDir(this.dir);
    this.db = null;
    this.complete = true;
  }

  /** True once {@link finish} verified a snapshot with exactly this metadata. */
  isComplete(meta: SnapshotMeta): boolean {
    return this.complete && meta.index === this.meta.index && meta.term === this.meta.term;
  }

  /** Drops a partial (or unused) snapshot. */
  async abort(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.complete = false;
    await db?.close();
    await rm(this.dir, { recursive: true, force: true });
  }

  private openDb(): RootDatabase<Buffer, string> {
    if (this.db === null) throw new Error("snapshot receiver is closed");
    return this.db;
  }

  private checkMeta(value: Buffer): void {
    const meta = decodeMeta(value);
    if (meta.applied !== this.meta.index || meta.appliedTerm !== this.meta.term) {
      throw new Error(
        `snapshot image is at ${meta.applied}@${meta.appliedTerm}, announced ${this.meta.index}@${this.meta.term}`,
      );
    }
    this.sawMeta = true;
  }
}
