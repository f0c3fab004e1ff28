/**
 * Telling a full disk from a broken one. A full disk is an operational state, not
 * damage: the node stops taking writes, keeps serving what it can, and resumes once
 * space is freed. Anything else that fails a write is treated as damage (stop).
 */
import { statfs } from "node:fs/promises";

/** Below this much free space a failed write is blamed on the disk being full. */
export const NEARLY_FULL_BYTES = 16 * 1024 * 1024;

/** True for the errno codes of a full disk or an exhausted quota. */
export function isDiskFullError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * True if `error` is a full-disk error, or an I/O error while the file system holding
 * `dir` is nearly full (LMDB reports a full disk as a plain I/O error, EIO).
 */
export async function failedForLackOfSpace(error: unknown, dir: string): Promise<boolean> {
  if (isDiskFullError(error)) return true;
  // Only an I/O error can be a full disk in disguise (LMDB); a checksum failure, a bug or
  // a WAL that already refused further writes must stop the node, however full the disk.
  const code = (error as NodeJS.ErrnoException | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code !== "EIO" && !/Input\/output error|MDB_MAP_FULL|No space/i.test(message)) return false;
  try {
    const fs = await statfs(dir);
    return fs.bavail * fs.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}

/**
 * Free space a received snapshot must leave on the data dir's file system. A snapshot's
 * size is not known until its last chunk, so the follower checks as it writes: it stops
 * a transfer that would leave less than this, keeping room for the WAL (the node goes on
 * as a follower that lags, answering and voting) instead of filling the disk and falling
 * into the disk-full mode, where it takes no entries at all. 64 MiB: four times
 * {@link NEARLY_FULL_BYTES}, the level at which a failed write counts as a full disk.
 */
export const SNAPSHOT_DISK_RESERVE_BYTES = 4 * NEARLY_FULL_BYTES;

/**
 * Null while the file system holding `dir` has more than {@link SNAPSHOT_DISK_RESERVE_BYTES}
 * free, else why a snapshot may not grow. An unreadable statfs says nothing: null.
 */
export async function snapshotRoom(
  dir: string,
  reserve = SNAPSHOT_DISK_RESERVE_BYTES,
): Promise<string | null> {
  try {
    const fs = await statfs(dir);
    const free = fs.bavail * fs.bsize;
    if (free > reserve) return null;
    return `only ${free} bytes free on the data dir's disk (a snapshot must leave ${reserve})`;
  } catch {
    return null;
  }
}
