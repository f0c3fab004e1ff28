/**
 * The two forms of an upload chunk entry (issue 22, docs/architecture.md "The blob
 * store"). A chunk arrives in its full form (the command carries its bytes). Before the
 * WAL write, a node writes the bytes into the upload's blob at `seq` × 1 MiB and keeps
 * only the stored form in its WAL and in-memory log: the same entry (term, index, kind)
 * whose command has empty data and `stored {length, crc32}`. Before sending an entry to
 * a peer, the node rehydrates the stored form from its blob; the stored form never goes
 * on the wire. Pure functions: the blob I/O is the caller's.
 */
import { crc32 } from "node:zlib";
import { FILE_CHUNK_BYTES } from "../api/index.ts";
import { type Entry, EntryKind } from "../raft/index.ts";
import { BLOB_NAME_PATTERN } from "../storage/index.ts";
import {
  type ChunkFrame,
  lengthDelimitedSize,
  ProtoWriter,
  scanChunkPayload,
  utf8Length,
} from "../wire/index.ts";
import { decodeCommand, encodeCommand } from "./commands.ts";
import { type ChunkOpFields, chunkSize, writeChunkOp } from "./payload-command-encoder.ts";

/** Where a chunk's bytes live in its node's blob store. */
export interface ChunkPlace {
  /** The blob's name: the upload id. */
  readonly blob: string;
  /** `seq` × {@link FILE_CHUNK_BYTES}. */
  readonly offset: number;
}

/** A full chunk entry cut in two: the bytes for the blob, and the entry to keep. */
export interface ChunkSplit extends ChunkPlace {
  readonly data: Uint8Array;
  /** The same entry in the stored form. */
  readonly stored: Entry;
}

/** A stored-form entry's chunk: where its bytes are and what they must be. */
export interface StoredChunk extends ChunkPlace {
  readonly length: number;
  readonly crc32: number;
}

/** A stored-form chunk appeared where only full forms may (a bug, or a peer's forgery). */
export class StoredFormError extends Error {}

/** The parts of a chunk command, from the fast scan or (rarely) the generated decoder. */
interface ChunkParts extends ChunkOpFields {
  /** Builds the payload with these op fields in place of the entry's. */
  readonly rebuild: (op: ChunkOpFields) => Uint8Array;
}

/**
 * Cuts a full chunk entry into its blob write and its stored form; null for any other
 * entry (it is kept as it is). A chunk whose place is not a valid blob position (an
 * upload id that is not 32 hex chars, an empty or oversized chunk) is not cut either:
 * the state machine refuses such chunks. Throws {@link StoredFormError} for an entry
 * already in the stored form.
 */
export function splitChunkEntry(entry: Entry): ChunkSplit | null {
  const parts = chunkParts(entry);
  if (parts === null) return null;
  if (parts.stored !== undefined) {
    throw new StoredFormError(`entry ${entry.index} is a chunk in the stored form`);
  }
  const place = placeOf(parts, parts.data.length);
  if (place === null) return null;
  const stored = { length: parts.data.length, crc32: crc32(parts.data) };
  const payload = parts.rebuild({ ...parts, data: EMPTY, stored });
  return { ...place, data: parts.data, stored: { ...entry, data: payload } };
}

/** The chunk a stored-form entry names; null for any other entry. */
export function storedChunkOf(entry: Entry): StoredChunk | null {
  const parts = chunkParts(entry);
  if (parts?.stored === undefined) return null;
  const place = placeOf(parts, parts.stored.length);
  if (place === null) throw new StoredFormError(`entry ${entry.index} names no valid blob place`);
  return { ...place, ...parts.stored };
}

/**
 * The full form of a stored-form entry, given the bytes read from its blob. Throws when
 * the bytes are not the ones the entry names (length or CRC-32): a damaged blob must not
 * replicate.
 */
export function rehydrateChunkEntry(entry: Entry, bytes: Uint8Array): Entry {
  const parts = chunkParts(entry);
  if (parts?.stored === undefined) throw new Error(`entry ${entry.index} is not a stored chunk`);
  const { length, crc32: crc } = parts.stored;
  if (bytes.length !== length || crc32(bytes) !== crc) {
    throw new Error(
      `chunk ${parts.seq} of upload ${parts.uploadId} (entry ${entry.index}): the blob holds ` +
        `${bytes.length} bytes with CRC ${crc32(bytes)}, the entry says ${length} with CRC ${crc}`,
    );
  }
  return { ...entry, data: parts.rebuild({ ...parts, data: bytes, stored: undefined }) };
}

/**
 * Bytes an entry stands for: its payload, or for a stored-form chunk the chunk's length
 * (what it becomes on the wire). The core sizes appends and apply batches with this.
 */
export function entryLogicalBytes(entry: Entry): number {
  const data = entry.data;
  // Only a chunk command starts with the upload_chunk tag; a stored form is small.
  if (entry.kind !== EntryKind.Normal || data[0] !== UPLOAD_CHUNK_TAG || data.length > 512)
    return data.byteLength;
  const scan = scanChunkPayload(data);
  if (scan.kind !== "chunk" || scan.frame.stored === undefined) return data.byteLength;
  return scan.frame.stored.length;
}

const EMPTY = new Uint8Array(0);
const UPLOAD_CHUNK_FIELD = 5;
const UPLOAD_CHUNK_TAG = (UPLOAD_CHUNK_FIELD << 3) | 2;

function chunkParts(entry: Entry): ChunkParts | null {
  if (entry.kind !== EntryKind.Normal) return null;
  const scan = scanChunkPayload(entry.data);
  if (scan.kind === "none") return null;
  if (scan.kind === "chunk") return fromFrame(scan.frame);
  // Not the node's own encoding: the generated decoder decides, the encoder rebuilds.
  const command = decodeCommand(entry.data);
  if (command?.op !== "upload_chunk") return null;
  return { ...command, rebuild: (op) => encodeCommand({ ...command, ...op }) };
}

function fromFrame(frame: ChunkFrame): ChunkParts {
  const rebuild = (op: ChunkOpFields): Uint8Array => {
    const idBytes = utf8Length(op.uploadId);
    const opSize = chunkSize(op, idBytes);
    const opBytes = lengthDelimitedSize(UPLOAD_CHUNK_FIELD, opSize);
    const w = new ProtoWriter(frame.before.length + opBytes + frame.after.length);
    w.raw(frame.before);
    writeChunkOp(w, op, opSize, idBytes);
    return w.raw(frame.after).finish();
  };
  return { ...frame, rebuild };
}

function placeOf(parts: ChunkOpFields, length: number): ChunkPlace | null {
  if (!BLOB_NAME_PATTERN.test(parts.uploadId)) return null;
  if (length <= 0 || length > FILE_CHUNK_BYTES) return null;
  return { blob: parts.uploadId, offset: parts.seq * FILE_CHUNK_BYTES };
}
