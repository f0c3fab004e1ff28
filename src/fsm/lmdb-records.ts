/**
 * How the on-disk store lays out its records in LMDB, with a CRC-32 on every record over
 * its key and contents: LMDB itself checks nothing, and a flipped bit on disk must become
 * an error, never a wrong answer served to a client.
 *
 *     value   "v" + key      → u32 crc | u64 version | u64 modIndex | u64 modTimeMs
 *                              | u64 size | sha256 (32) | u32 chunks | u16 idBytes
 *                              | upload id | [u32 metaBytes | metadata] | inline value
 *             idBytes' top bit (0x8000) says the metadata part is there: JSON of the
 *             [name, value] pairs in name order. Records written before metadata existed
 *             never set that bit (upload ids are 32 characters), so they decode as they
 *             always did, and a value without metadata is still written byte for byte
 *             as before (same records, same digests, same snapshot images).
 *     chunk   "c" + id + "/" + seq (8 hex digits) → u32 crc | chunk bytes
 *     upload  "u" + id       → u32 crc | u32 chunks | u64 bytes | u64 lastMs
 *     session "s" + clientId → u32 crc | JSON of the client's session
 *     meta    META_KEY       → u32 crc | u32 format | u64 applied | u64 appliedTerm
 *                              | u64 clockMs | u64 sessionWrites | u64 lastSweepMs
 *     members MEMBERSHIP_KEY → u32 crc | the configuration in force at the applied index
 *                              (raft/membership.ts encoding), written in the same
 *                              transaction as the meta record
 *     auth    see auth-records.ts (switch, users, roles; JSON)
 */
import { crc32 } from "node:zlib";
import { type Metadata, sortedMetadata } from "../api/index.ts";
import { decodeMembership, encodeMembership, type Membership } from "../raft/index.ts";
import type { ClientImage } from "./sessions.ts";
import type { StoredValue, UploadState } from "./state-machine.ts";

/** Key of the store's metadata record (sorts before every value and session key). */
export const META_KEY = "\u0000meta";
/**
 * Key of the configuration record: the membership in force at the applied index, so
 * images and restarts carry it (absent until the first configuration entry applies).
 */
export const MEMBERSHIP_KEY = "\u0000members";
/** Prefix of value records. */
export const VALUE_PREFIX = "v";
/** Prefix of file chunk records. */
export const CHUNK_PREFIX = "c";
/** Prefix of upload-in-progress records. */
export const UPLOAD_PREFIX = "u";
/** Prefix of client-session records. */
export const SESSION_PREFIX = "s";
/** Version of this layout; a store of another version is refused, not misread. */
export const FORMAT_VERSION = 1;

/** What the metadata record holds: the applied position and replicated counters. */
export interface StoreMeta {
  readonly applied: number;
  readonly appliedTerm: number;
  readonly clockMs: number;
  readonly sessionWrites: number;
  readonly lastSweepMs: number;
}

/** A record whose checksum or shape is wrong: the store is damaged. */
export class RecordCorruptionError extends Error {
  constructor(key: string, reason: string) {
    super(`state store record ${JSON.stringify(key)} is corrupt: ${reason}`);
    this.name = "RecordCorruptionError";
  }
}

const TWO_32 = 2 ** 32;

/** Bytes of a value record before the upload id and inline value. */
const VALUE_FIXED = 74;

/** Bit of the idBytes field saying a metadata part follows the upload id. */
const HAS_METADATA = 0x8000;

/** Encodes a stored value. */
export function encodeValue(key: string, v: StoredValue): Buffer {
  const id = Buffer.from(v.file?.uploadId ?? "");
  const meta = encodeMetadata(v.metadata);
  const buf = Buffer.allocUnsafe(VALUE_FIXED + id.length + meta.length + v.value.byteLength);
  writeU64(buf, 4, v.version);
  writeU64(buf, 12, v.modIndex);
  writeU64(buf, 20, v.modTimeMs);
  writeU64(buf, 28, v.size);
  buf.set(v.sha256, 36);
  buf.writeUInt32LE(v.file?.count ?? 0, 68);
  buf.writeUInt16LE(id.length | (meta.length > 0 ? HAS_METADATA : 0), 72);
  id.copy(buf, VALUE_FIXED);
  meta.copy(buf, VALUE_FIXED + id.length);
  buf.set(v.value, VALUE_FIXED + id.length + meta.length);
  return seal(key, buf);
}

/** Decodes a stored value, verifying its checksum. */
export function decodeValue(key: string, buf: Buffer): StoredValue {
  check(key, buf, VALUE_FIXED);
  const count = buf.readUInt32LE(68);
  const idField = buf.readUInt16LE(72);
  const idEnd = VALUE_FIXED + (idField & ~HAS_METADATA);
  const meta = (idField & HAS_METADATA) !== 0 ? decodeMetadata(key, buf, idEnd) : null;
  const value: StoredValue = {
    version: readU64(buf, 4),
    modIndex: readU64(buf, 12),
    modTimeMs: readU64(buf, 20),
    size: readU64(buf, 28),
    sha256: buf.subarray(36, 68),
    value: buf.subarray(meta?.end ?? idEnd),
    ...(meta === null ? {} : { metadata: meta.metadata }),
  };
  if (count === 0) return value;
  return { ...value, file: { uploadId: buf.subarray(VALUE_FIXED, idEnd).toString(), count } };
}

/** The metadata part of a value record; empty when there is none. */
function encodeMetadata(metadata: Metadata | undefined): Buffer {
  if (metadata === undefined || Object.keys(metadata).length === 0) return Buffer.alloc(0);
  const json = Buffer.from(JSON.stringify(sortedMetadata(metadata)));
  const buf = Buffer.allocUnsafe(4 + json.length);
  buf.writeUInt32LE(json.length, 0);
  json.copy(buf, 4);
  return buf;
}

/** Reads the metadata part at `at`; where the inline value starts after it. */
function decodeMetadata(key: string, buf: Buffer, at: number): { metadata: Metadata; end: number } {
  if (buf.length < at + 4) throw new RecordCorruptionError(key, "metadata cut short");
  const end = at + 4 + buf.readUInt32LE(at);
  if (buf.length < end) throw new RecordCorruptionError(key, "metadata cut short");
  let pairs: unknown;
  try {
    pairs = JSON.parse(buf.subarray(at + 4, end).toString());
  } catch {
    throw new RecordCorruptionError(key, "metadata is not JSON");
  }
  const valid =
    Array.isArray(pairs) &&
    pairs.every((p) => Array.isArray(p) && p.length === 2 && p.every((s) => typeof s === "string"));
  if (!valid) throw new RecordCorruptionError(key, "metadata is not name/value pairs");
  return { metadata: Object.fromEntries(pairs as [string, string][]), end };
}

/** Key of chunk `seq` of an upload (fixed-width seq, so chunks sort in order). */
export function chunkKey(uploadId: string, seq: number): string {
  return `${CHUNK_PREFIX}${uploadId}/${seq.toString(16).padStart(8, "0")}`;
}

/** Encodes a chunk. */
export function encodeChunk(key: string, data: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(4 + data.byteLength);
  buf.set(data, 4);
  return seal(key, buf);
}

/** Decodes a chunk, verifying its checksum. */
export function decodeChunk(key: string, buf: Buffer): Buffer {
  check(key, buf, 4);
  return buf.subarray(4);
}

/** Encodes an upload's progress. */
export function encodeUpload(key: string, u: UploadState): Buffer {
  const buf = Buffer.allocUnsafe(24);
  buf.writeUInt32LE(u.chunks, 4);
  writeU64(buf, 8, u.bytes);
  writeU64(buf, 16, u.lastMs);
  return seal(key, buf);
}

/** Decodes an upload's progress, verifying its checksum. */
export function decodeUpload(key: string, buf: Buffer): UploadState {
  check(key, buf, 24);
  return { chunks: buf.readUInt32LE(4), bytes: readU64(buf, 8), lastMs: readU64(buf, 16) };
}

/** Encodes one client's session. */
export function encodeSession(key: string, image: ClientImage): Buffer {
  const json = Buffer.from(JSON.stringify(image));
  const buf = Buffer.allocUnsafe(4 + json.length);
  json.copy(buf, 4);
  return seal(key, buf);
}

/** Decodes one client's session, verifying its checksum. */
export function decodeSession(key: string, buf: Buffer): ClientImage {
  check(key, buf, 4);
  return JSON.parse(buf.subarray(4).toString()) as ClientImage;
}

/** Encodes the metadata record. */
export function encodeMeta(meta: StoreMeta): Buffer {
  const buf = Buffer.allocUnsafe(48);
  buf.writeUInt32LE(FORMAT_VERSION, 4);
  writeU64(buf, 8, meta.applied);
  writeU64(buf, 16, meta.appliedTerm);
  writeU64(buf, 24, meta.clockMs);
  writeU64(buf, 32, meta.sessionWrites);
  writeU64(buf, 40, meta.lastSweepMs);
  return seal(META_KEY, buf);
}

/** Decodes the metadata record, verifying checksum and format version. */
export function decodeMeta(buf: Buffer): StoreMeta {
  check(META_KEY, buf, 48);
  const format = buf.readUInt32LE(4);
  if (format !== FORMAT_VERSION)
    throw new RecordCorruptionError(
      META_KEY,
      `format ${format}, this build reads ${FORMAT_VERSION}`,
    );
  return {
    applied: readU64(buf, 8),
    appliedTerm: readU64(buf, 16),
    clockMs: readU64(buf, 24),
    sessionWrites: readU64(buf, 32),
    lastSweepMs: readU64(buf, 40),
  };
}

/** Encodes the configuration record. */
export function encodeMembershipRecord(m: Membership): Buffer {
  const body = encodeMembership(m);
  const buf = Buffer.allocUnsafe(4 + body.length);
  buf.set(body, 4);
  return seal(MEMBERSHIP_KEY, buf);
}

/** Decodes the configuration record, verifying its checksum and that it is a valid configuration. */
export function decodeMembershipRecord(buf: Buffer): Membership {
  check(MEMBERSHIP_KEY, buf, 4);
  const m = decodeMembership(buf.subarray(4));
  if (m === null) throw new RecordCorruptionError(MEMBERSHIP_KEY, "not a valid configuration");
  return m;
}

/** Verifies any record's checksum (snapshot transfer checks every record it loads). */
export function verifyRecord(key: string, buf: Buffer): void {
  check(key, buf, 4);
}

/** Writes a record's checksum (over key and contents) into its first 4 bytes. */
export function seal(key: string, buf: Buffer): Buffer {
  buf.writeUInt32LE(crc32(buf.subarray(4), crc32(key)), 0);
  return buf;
}

function check(key: string, buf: Buffer, minBytes: number): void {
  if (buf.length < minBytes) throw new RecordCorruptionError(key, `only ${buf.length} bytes`);
  if (buf.readUInt32LE(0) !== crc32(buf.subarray(4), crc32(key)))
    throw new RecordCorruptionError(key, "checksum mismatch");
}

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset + 4) * TWO_32 + buf.readUInt32LE(offset);
}
