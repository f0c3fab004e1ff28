/**
 * Segment files: naming, listing and creation. A segment is a plain sequence of records
 * (see wal-record.ts) named by a 16-hex-digit sequence number, so that lexical order is
 * replay order and a missing file in the middle is detectable.
 */
import { type FileHandle, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir } from "./fsync.ts";

const SEGMENT_NAME = /^([0-9a-f]{16})\.wal$/;

/** File name of segment `seq`, e.g. `000000000000002a.wal`. */
export function segmentName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.wal`;
}

/** Full path of segment `seq` in `dir`. */
export function segmentPath(dir: string, seq: number): string {
  return join(dir, segmentName(seq));
}

/**
 * Sequence numbers of the segments in `dir`, ascending. Other files are ignored so that
 * an operator's backup copy or a future file kind does not stop a node from starting.
 */
export async function listSegments(dir: string): Promise<number[]> {
  const seqs: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match?.[1] !== undefined) seqs.push(Number.parseInt(match[1], 16));
  }
  return seqs.sort((a, b) => a - b);
}

/**
 * Creates segment `seq` (failing if it exists) and syncs the directory, so that the
 * records later synced into it cannot be lost with a vanished directory entry.
 */
export async function createSegment(dir: string, seq: number): Promise<FileHandle> {
  const handle = await open(segmentPath(dir, seq), "wx+", 0o644);
  try {
    await fsyncDir(dir);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}
