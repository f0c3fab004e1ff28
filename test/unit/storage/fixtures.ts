/**
 * Shared helpers for the storage tests: a fresh temp dir per test, and entry builders
 * whose on-disk sizes are computed from the documented record format, independently of
 * the encoder under test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { crc32 } from "node:zlib";
import { type Entry, EntryKind, type HardState } from "../../../src/raft/types.ts";

/** Header (u32 length, u32 crc, u8 type) as specified; not imported from the code under test. */
export const HEADER = 9;
/** Entry payload before data: u64 term, u64 index, u8 kind. */
export const ENTRY_FIXED = 17;
/** Hard-state record: header plus term, vote, commit. */
export const HARD_STATE_RECORD = HEADER + 24;
/** Log-start record (type 3): header plus u64 prevIndex, u64 prevTerm. */
export const LOG_START_RECORD = HEADER + 16;
/**
 * Bytes that open every segment file before any saved record: a log-start record (where
 * the log stands when the segment is created) followed by a hard-state record, 25 + 33 =
 * 58 bytes. Every record a save writes into a segment starts at or after this offset.
 */
export const SEGMENT_HEADER = LOG_START_RECORD + HARD_STATE_RECORD;

/** File name of segment `seq` (16 lowercase hex digits + `.wal`), as specified. */
export function segName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.wal`;
}

/** A fresh directory removed when the test ends. */
export async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-storage-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Deterministic bytes that differ per index, so a mix-up between entries is visible. */
export function payload(index: number, length: number): Uint8Array {
  const data = new Uint8Array(length);
  for (let i = 0; i < length; i++) data[i] = (index * 31 + i * 7 + 1) & 0xff;
  return data;
}

/** A normal entry with `length` bytes of data. */
export function entry(index: number, term: number, length = 10): Entry {
  return { term, index, kind: EntryKind.Normal, data: payload(index, length) };
}

/** Entries `from`..`to` inclusive. */
export function entries(from: number, to: number, term: number, length = 10): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, length));
  return out;
}

/** On-disk size of an entry record. */
export function recordBytes(e: Entry): number {
  return HEADER + ENTRY_FIXED + e.data.length;
}

/** Entries as plain comparable objects (data as a regular array of bytes). */
export function plain(list: readonly Entry[]): object[] {
  return list.map((e) => ({ term: e.term, index: e.index, kind: e.kind, data: [...e.data] }));
}

/** Writes `value` as the format's u64: two u32 halves, low first. */
function writeU64(buf: Buffer, at: number, value: number): void {
  buf.writeUInt32LE(value % 2 ** 32, at);
  buf.writeUInt32LE(Math.floor(value / 2 ** 32), at + 4);
}

/** One record framed as specified: u32 length | u32 crc32(type + payload) | u8 type | payload. */
export function record(type: number, body: Buffer): Buffer {
  const buf = Buffer.alloc(HEADER + body.length);
  buf.writeUInt32LE(body.length, 0);
  buf.writeUInt8(type, 8);
  body.copy(buf, HEADER);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** A log-start record (type 3), encoded here from the specification, not by the WAL. */
export function logStartRecord(prevIndex: number, prevTerm: number): Buffer {
  const body = Buffer.alloc(16);
  writeU64(body, 0, prevIndex);
  writeU64(body, 8, prevTerm);
  return record(3, body);
}

/** A hard-state record (type 2), encoded here from the specification. */
export function hardStateRecord(hardState: HardState): Buffer {
  const body = Buffer.alloc(24);
  writeU64(body, 0, hardState.term);
  writeU64(body, 8, hardState.vote);
  writeU64(body, 16, hardState.commit);
  return record(2, body);
}

/** The exact bytes a segment must start with when created at (prevIndex, prevTerm). */
export function segmentHeader(prevIndex: number, prevTerm: number, hardState: HardState): Buffer {
  return Buffer.concat([logStartRecord(prevIndex, prevTerm), hardStateRecord(hardState)]);
}
