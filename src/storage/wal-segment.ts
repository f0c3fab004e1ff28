/**
 * Segment files: naming, listing and creation. A segment is a plain sequence of records
 * (see wal-record.ts) named by a 16-hex-digit sequence number, so that lexical order is
 * replay order and a missing file in the middle is detectable.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fsyncDir } from "./fsync.ts";
import { FILE_MODE } from "./modes.ts";

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
 * How a segment being appended to is opened: every write is durable when it returns
 * (O_DSYNC), so an append costs one trip to the thread pool instead of a write and then
 * a separate fdatasync — on the path of every acknowledged write, where the second trip
 * measurably added latency.
 */
const APPEND_FLAGS = constants.O_RDWR | constants.O_DSYNC;

/** Opens existing segment `seq` for appending (writes durable on return). */
export function openSegmentForAppend(dir: string, seq: number): Promise<FileHandle> {
  return open(segmentPath(dir, seq), APPEND_FLAGS);
}

/**
 * Creates segment `seq` (failing if it exists, mode 0600) for appending (writes durable on return)
 * and syncs the directory, so that the records later written into it cannot be lost with
 * a vanished directory entry.
 */
export async function createSegment(dir: string, seq: number): Promise<FileHandle> {
  const flags = APPEND_FLAGS | constants.O_CREAT | constants.O_EXCL;
  const handle = await open(segmentPath(dir, seq), flags, FILE_MODE);
  try {
    await handle.chmod(FILE_MODE);
    await fsyncDir(dir);
  } catch (err) {
    await handle.close();
    throw err;
  }
  return handle;
}
