/**
 * Shared helpers for the storage tests: a fresh temp dir per test, and entry builders
 * whose on-disk sizes are computed from the documented record format, independently of
 * the encoder under test.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";

/** Header (u32 length, u32 crc, u8 type) as specified; not imported from the code under test. */
export const HEADER = 9;
/** Entry payload before data: u64 term, u64 index, u8 kind. */
export const ENTRY_FIXED = 17;
/** Hard-state record: header plus term, vote, commit. */
export const HARD_STATE_RECORD = HEADER + 24;

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
