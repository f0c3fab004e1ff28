/**
 * The store's records for the blob store (docs/architecture.md#the-blob-store): a chunk's
 * bytes live in its upload's blob file, so the store keeps only what checks them, and a
 * record for each blob that died but is not yet unlinked. Both carry the store's CRC-32
 * over key and contents (lmdb-records.ts).
 *
 *     chunk  "b" + id + "/" + seq (8 hex digits) → u32 crc | u32 length | u32 crc32 of data
 *     dead   "d" + id                            → u32 crc | u64 death index | u64 bytes
 *
 * Chunk records get their own prefix: a record of the older layout ("c", the bytes
 * themselves) is never mistaken for one. Snapshot images and backups still carry "c"
 * records with the bytes (snapshot-source.ts turns one into the other), so the image
 * format did not change. Dead records are this node's own bookkeeping: never in an image
 * nor in the digest.
 */
import { crc32 } from "node:zlib";
import { RecordCorruptionError, seal, verifyRecord } from "./lmdb-records.ts";
import type { ChunkFacts } from "./state-machine.ts";

/** Prefix of chunk records of the blob layout. */
export const BLOB_CHUNK_PREFIX = "b";
/** Prefix of dead-blob records. */
export const DEAD_BLOB_PREFIX = "d";

/** What the store knows of one chunk (state-machine.ts). */
export type { ChunkFacts };

/** A blob no value or upload references any more, waiting to be unlinked. */
export interface DeadBlob {
  /** Index of the entry whose apply killed it. */
  readonly index: number;
  /** Bytes of content it held (what unlinking frees). */
  readonly bytes: number;
}

/** The facts of a chunk's bytes. */
export function chunkFactsOf(data: Uint8Array): ChunkFacts {
  return { length: data.byteLength, crc32: crc32(data) };
}

/** Key of chunk `seq` of an upload (fixed-width seq, so chunks sort in order). */
export function blobChunkKey(uploadId: string, seq: number): string {
  return `${BLOB_CHUNK_PREFIX}${uploadId}/${seq.toString(16).padStart(8, "0")}`;
}

/** Upload id and seq of a chunk key of either layout ("b" or "c"); null if not one. */
export function parseChunkKey(key: string): { uploadId: string; seq: number } | null {
  const m = /^[bc]([0-9a-f]{32})\/([0-9a-f]{8})$/.exec(key);
  if (m === null) return null;
  return { uploadId: m[1] as string, seq: Number.parseInt(m[2] as string, 16) };
}

/** Encodes a chunk's facts. */
export function encodeChunkFacts(key: string, facts: ChunkFacts): Buffer {
  const buf = Buffer.allocUnsafe(12);
  buf.writeUInt32LE(facts.length, 4);
  buf.writeUInt32LE(facts.crc32 >>> 0, 8);
  return seal(key, buf);
}

/** Decodes a chunk's facts, verifying the record's checksum. */
export function decodeChunkFacts(key: string, buf: Buffer): ChunkFacts {
  verifyRecord(key, buf);
  if (buf.length !== 12) throw new RecordCorruptionError(key, `${buf.length} bytes, expected 12`);
  return { length: buf.readUInt32LE(4), crc32: buf.readUInt32LE(8) };
}

/** Encodes a dead-blob record. */
export function encodeDeadBlob(key: string, dead: DeadBlob): Buffer {
  const buf = Buffer.allocUnsafe(20);
  buf.writeBigUInt64LE(BigInt(dead.index), 4);
  buf.writeBigUInt64LE(BigInt(dead.bytes), 12);
  return seal(key, buf);
}

/** Decodes a dead-blob record, verifying its checksum. */
export function decodeDeadBlob(key: string, buf: Buffer): DeadBlob {
  verifyRecord(key, buf);
  if (buf.length !== 20) throw new RecordCorruptionError(key, `${buf.length} bytes, expected 20`);
  return { index: Number(buf.readBigUInt64LE(4)), bytes: Number(buf.readBigUInt64LE(12)) };
}
