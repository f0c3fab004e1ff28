/**
 * What a backup's records say about themselves: counted and checked the same way where
 * the image is read out of a node's store (the server fills the trailer from it), where
 * the client writes the file (its own count must match the server's), and where a file
 * is verified or restored (the trailer must match the records). One tally, three sides.
 */
import type { SnapshotHeader, SnapshotTrailer } from "../gen/dfs.ts";
import {
  decodeMembershipRecord,
  decodeMeta,
  decodeValue,
  MEMBERSHIP_KEY,
  META_KEY,
  type StoreMeta,
  VALUE_PREFIX,
  verifyRecord,
} from "./lmdb-records.ts";
import { type ImageRecord, parseChunk } from "./snapshot-image.ts";

/** Counts and checks the records of an image, chunk by chunk. */
export class ImageTally {
  /** Records of the store (values, file chunks, uploads, sessions, metadata). */
  records = 0;
  /** User keys (values and files). */
  keys = 0;
  /** Bytes of user content: the sizes of every value and file. */
  contentBytes = 0;
  /** Bytes of image data. */
  dataBytes = 0;
  /** The image's metadata record (its applied index and term), once seen. */
  meta: StoreMeta | null = null;

  /**
   * Parses one chunk, checks every record's CRC (and the metadata and configuration
   * records' shape) and counts it; returns the records. Throws on damage
   * (RecordCorruptionError, or Error for a malformed chunk).
   */
  add(chunk: Buffer): ImageRecord[] {
    const records = parseChunk(chunk);
    this.dataBytes += chunk.length;
    for (const { key, value } of records) this.count(key, value);
    return records;
  }

  /** The trailer these counts make. */
  trailer(): SnapshotTrailer {
    return {
      records: this.records,
      keys: this.keys,
      contentBytes: this.contentBytes,
      dataBytes: this.dataBytes,
    };
  }

  /** Null when `trailer` and the header's position agree with the records; else why not. */
  mismatch(header: SnapshotHeader, trailer: SnapshotTrailer): string | null {
    const mine = this.trailer();
    for (const field of ["records", "keys", "contentBytes", "dataBytes"] as const) {
      if (mine[field] !== trailer[field])
        return `the trailer says ${field} ${trailer[field]}, the records hold ${mine[field]}`;
    }
    if (this.meta === null) return "the image has no metadata record";
    if (this.meta.applied !== header.index || this.meta.appliedTerm !== header.term)
      return `the image is at ${this.meta.applied}@${this.meta.appliedTerm}, the header says ${header.index}@${header.term}`;
    return null;
  }

  private count(key: string, value: Buffer): void {
    this.records++;
    if (key.startsWith(VALUE_PREFIX)) {
      this.keys++;
      this.contentBytes += decodeValue(key, value).size;
      return;
    }
    if (key === META_KEY) this.meta = decodeMeta(value);
    else if (key === MEMBERSHIP_KEY) decodeMembershipRecord(value);
    else verifyRecord(key, value);
  }
}
