/**
 * The WAL's on-disk record format, and nothing else: encoding a batch for one write,
 * and framing/decoding one record when reading a segment back.
 *
 * Record (little-endian):
 *
 *     u32 payloadLength | u32 crc32(type + payload) | u8 type | payload
 *
 * Entry payload:      u64 term | u64 index | u8 kind | data bytes
 * Hard-state payload: u64 term | u64 vote  | u64 commit
 * Log-start payload:  u64 prevIndex | u64 prevTerm  (first record of every segment)
 *
 * u64s are written as two u32 halves (low first): as fast as 32-bit writes, and every
 * value a JS number can hold exactly (< 2^53) round-trips. Type 0 is never written, so a
 * zero-filled region (a torn write on a file the kernel extended) never parses.
 */
import { crc32 } from "node:zlib";
import { type Entry, EntryKind, type HardState } from "../raft/index.ts";

/** Bytes before a record's payload: length, checksum, type. */
export const HEADER_BYTES = 9;
/** A length above this is garbage, not a record: entries are capped at 1 MiB upstream. */
export const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
/** Fixed part of an entry payload: term, index, kind. */
export const ENTRY_FIXED_BYTES = 17;
/** A hard-state payload: term, vote, commit. */
export const HARD_STATE_BYTES = 24;
/** A log-start payload: index and term of the entry just before this segment's first. */
export const LOG_START_BYTES = 16;

/** What a record holds. Values are part of the file format: never renumber. */
export enum RecordType {
  Entry = 1,
  HardState = 2,
  /**
   * Opens every segment: where the log stands when the segment begins. After the older
   * segments are deleted (compaction) or a snapshot replaced the log, replay starts from it.
   */
  LogStart = 3,
}

/** The outcome of decoding a payload: a record, or why it makes no sense. */
export type Decoded = { ok: true; record: WalRecord } | { ok: false; reason: string };

/** One decoded record. */
export type WalRecord =
  | { readonly type: RecordType.Entry; readonly entry: Entry }
  | { readonly type: RecordType.HardState; readonly hardState: HardState }
  | { readonly type: RecordType.LogStart; readonly prevIndex: number; readonly prevTerm: number };

/**
 * A record's framing: valid (checksum matches) or not, with where it ends if known. For an
 * invalid frame `end` is null when the header is incomplete or its length is absurd or
 * runs past the end of the buffer.
 */
export type Frame =
  | { readonly ok: true; readonly type: number; readonly payload: Buffer; readonly end: number }
  | { readonly ok: false; readonly reason: string; readonly end: number | null };

const TWO_32 = 2 ** 32;
const MAX_HIGH_WORD = 0x1fffff; // high half of Number.MAX_SAFE_INTEGER

/** Bytes an encoded hard-state record occupies on disk. */
const HARD_STATE_RECORD_BYTES = HEADER_BYTES + HARD_STATE_BYTES;
/** Bytes of the records that open a segment (see {@link encodeSegmentHeader}). */
export const SEGMENT_HEADER_BYTES = HEADER_BYTES + LOG_START_BYTES + HARD_STATE_RECORD_BYTES;

/**
 * Encodes one save's records as a list of buffers for a single `writev`: one header
 * arena for all records, and each entry's data referenced, not copied (entries may be
 * 1 MiB chunks). The hard state goes last so that, on disk, it never precedes entries
 * it may commit.
 */
export function encodeBatch(
  entries: readonly Entry[],
  hardState: HardState | null,
): { buffers: Uint8Array[]; bytes: number } {
  const fixed = HEADER_BYTES + ENTRY_FIXED_BYTES;
  const arena = Buffer.allocUnsafe(entries.length * fixed + HARD_STATE_RECORD_BYTES);
  const buffers: Uint8Array[] = [];
  let bytes = 0;
  entries.forEach((entry, i) => {
    const header = arena.subarray(i * fixed, (i + 1) * fixed);
    encodeEntryHeader(header, entry);
    buffers.push(header);
    if (entry.data.length > 0) buffers.push(entry.data);
    bytes += fixed + entry.data.length;
  });
  if (hardState !== null) {
    const record = arena.subarray(entries.length * fixed);
    encodeHardState(record, hardState);
    buffers.push(record);
    bytes += HARD_STATE_RECORD_BYTES;
  }
  return { buffers, bytes };
}

/**
 * The records that open a segment: where the log stands (its last entry before this
 * segment) and the durable hard state, so that the segment replays on its own once every
 * older segment is gone.
 */
export function encodeSegmentHeader(
  prevIndex: number,
  prevTerm: number,
  hardState: HardState,
): Buffer {
  const record = Buffer.alloc(HEADER_BYTES + LOG_START_BYTES + HARD_STATE_RECORD_BYTES);
  record.writeUInt32LE(LOG_START_BYTES, 0);
  record.writeUInt8(RecordType.LogStart, 8);
  writeU64(record, 9, prevIndex);
  writeU64(record, 17, prevTerm);
  record.writeUInt32LE(crc32(record.subarray(8, HEADER_BYTES + LOG_START_BYTES)), 4);
  encodeHardState(record.subarray(HEADER_BYTES + LOG_START_BYTES), hardState);
  return record;
}

function encodeEntryHeader(header: Buffer, entry: Entry): void {
  header.writeUInt32LE(ENTRY_FIXED_BYTES + entry.data.length, 0);
  header.writeUInt8(RecordType.Entry, 8);
  writeU64(header, 9, entry.term);
  writeU64(header, 17, entry.index);
  header.writeUInt8(entry.kind, 25);
  // Never hand zlib an empty buffer as a continuation: a zero-length typed array may have
  // no backing store, and crc32 of a NULL buffer returns 0 instead of the running value
  // (every new leader's no-op entry was stored with a wrong checksum that way).
  const headerCrc = crc32(header.subarray(8));
  header.writeUInt32LE(entry.data.length > 0 ? crc32(entry.data, headerCrc) : headerCrc, 4);
}

function encodeHardState(record: Buffer, hardState: HardState): void {
  record.writeUInt32LE(HARD_STATE_BYTES, 0);
  record.writeUInt8(RecordType.HardState, 8);
  writeU64(record, 9, hardState.term);
  writeU64(record, 17, hardState.vote);
  writeU64(record, 25, hardState.commit);
  record.writeUInt32LE(crc32(record.subarray(8)), 4);
}

function writeU64(buf: Buffer, offset: number, value: number): void {
  buf.writeUInt32LE(value % TWO_32, offset);
  buf.writeUInt32LE(Math.floor(value / TWO_32), offset + 4);
}

/** Reads a u64 written by {@link encodeBatch}; -1 if it exceeds a safe integer. */
export function readU64(buf: Buffer, offset: number): number {
  const high = buf.readUInt32LE(offset + 4);
  if (high > MAX_HIGH_WORD) return -1;
  return high * TWO_32 + buf.readUInt32LE(offset);
}

/**
 * Checks the framing of the record at `offset`: complete header, sane length, within the
 * buffer, checksum. Says nothing about whether the payload makes sense (see
 * {@link decodePayload}).
 */
export function readFrame(buf: Buffer, offset: number): Frame {
  if (buf.length - offset < HEADER_BYTES) {
    return { ok: false, reason: "truncated header", end: null };
  }
  const length = buf.readUInt32LE(offset);
  if (length > MAX_PAYLOAD_BYTES) {
    return { ok: false, reason: `absurd record length ${length}`, end: null };
  }
  const end = offset + HEADER_BYTES + length;
  if (end > buf.length) return { ok: false, reason: "record runs past end of file", end: null };
  const stored = buf.readUInt32LE(offset + 4);
  const actual = crc32(buf.subarray(offset + 8, end));
  if (stored !== actual) return { ok: false, reason: "checksum mismatch", end };
  const type = buf.readUInt8(offset + 8);
  return { ok: true, type, payload: buf.subarray(offset + HEADER_BYTES, end), end };
}

/**
 * Decodes a payload whose checksum matched. An error here is never a torn write (the
 * checksum proves the bytes are what was written): it is a bug or a format mismatch.
 * Entry data is copied so the segment buffer can be freed.
 */
export function decodePayload(type: number, payload: Buffer): Decoded {
  if (type === RecordType.Entry) return decodeEntry(payload);
  if (type === RecordType.HardState) return decodeHardState(payload);
  if (type === RecordType.LogStart) return decodeLogStart(payload);
  return { ok: false, reason: `unknown record type ${type}` };
}

function decodeEntry(payload: Buffer): Decoded {
  if (payload.length < ENTRY_FIXED_BYTES) {
    return { ok: false, reason: `entry payload too short (${payload.length} bytes)` };
  }
  const term = readU64(payload, 0);
  const index = readU64(payload, 8);
  const kind = payload.readUInt8(16);
  if (term < 0 || index < 1) {
    return { ok: false, reason: `invalid entry term ${term} / index ${index}` };
  }
  if (!isEntryKind(kind)) return { ok: false, reason: `unknown entry kind ${kind}` };
  const data = new Uint8Array(payload.subarray(ENTRY_FIXED_BYTES));
  return { ok: true, record: { type: RecordType.Entry, entry: { term, index, kind, data } } };
}

function decodeHardState(payload: Buffer): Decoded {
  if (payload.length !== HARD_STATE_BYTES) {
    return { ok: false, reason: `hard-state payload of ${payload.length} bytes` };
  }
  const term = readU64(payload, 0);
  const vote = readU64(payload, 8);
  const commit = readU64(payload, 16);
  if (term < 0 || vote < 0 || commit < 0) {
    return { ok: false, reason: "hard-state value out of range" };
  }
  return { ok: true, record: { type: RecordType.HardState, hardState: { term, vote, commit } } };
}

function decodeLogStart(payload: Buffer): Decoded {
  if (payload.length !== LOG_START_BYTES) {
    return { ok: false, reason: `log-start payload of ${payload.length} bytes` };
  }
  const prevIndex = readU64(payload, 0);
  const prevTerm = readU64(payload, 8);
  if (prevIndex < 0 || prevTerm < 0) return { ok: false, reason: "log-start value out of range" };
  return { ok: true, record: { type: RecordType.LogStart, prevIndex, prevTerm } };
}

function isEntryKind(kind: number): kind is EntryKind {
  return EntryKind[kind] !== undefined;
}
