/**
 * How the on-disk store lays out its records in LMDB, with a CRC-32 on every record over
 * its key and contents: LMDB itself checks nothing, and a flipped bit on disk must become
 * an error, never a wrong answer served to a client.
 *
 *     value   "v" + key      → u32 crc | u64 version | u64 modIndex | value bytes
 *     session "s" + clientId → u32 crc | JSON of the client's session
 *     meta    META_KEY       → u32 crc | u32 format | u64 applied | u64 appliedTerm
 *                              | u64 clockMs | u64 sessionWrites
 */
import { crc32 } from "node:zlib";
import type { ClientImage } from "./sessions.ts";
import type { StoredValue } from "./state-machine.ts";

/** Key of the store's metadata record (sorts before every value and session key). */
export const META_KEY = "\u0000meta";
/** Prefix of value records. */
export const VALUE_PREFIX = "v";
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
}

/** A record whose checksum or shape is wrong: the store is damaged. */
export class RecordCorruptionError extends Error {
  constructor(key: string, reason: string) {
    super(`state store record ${JSON.stringify(key)} is corrupt: ${reason}`);
    this.name = "RecordCorruptionError";
  }
}

const TWO_32 = 2 ** 32;

/** Encodes a stored value. */
export function encodeValue(key: string, v: StoredValue): Buffer {
  const buf = Buffer.allocUnsafe(20 + v.value.byteLength);
  writeU64(buf, 4, v.version);
  writeU64(buf, 12, v.modIndex);
  buf.set(v.value, 20);
  return seal(key, buf);
}

/** Decodes a stored value, verifying its checksum. */
export function decodeValue(key: string, buf: Buffer): StoredValue {
  check(key, buf, 20);
  return { version: readU64(buf, 4), modIndex: readU64(buf, 12), value: buf.subarray(20) };
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
  const buf = Buffer.allocUnsafe(40);
  buf.writeUInt32LE(FORMAT_VERSION, 4);
  writeU64(buf, 8, meta.applied);
  writeU64(buf, 16, meta.appliedTerm);
  writeU64(buf, 24, meta.clockMs);
  writeU64(buf, 32, meta.sessionWrites);
  return seal(META_KEY, buf);
}

/** Decodes the metadata record, verifying checksum and format version. */
export function decodeMeta(buf: Buffer): StoreMeta {
  check(META_KEY, buf, 40);
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
  };
}

/** Verifies any record's checksum (snapshot transfer checks every record it loads). */
export function verifyRecord(key: string, buf: Buffer): void {
  check(key, buf, 4);
}

function seal(key: string, buf: Buffer): Buffer {
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
