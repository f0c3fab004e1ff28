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
 * True if `error` is a full-disk error, or if the file system holding `dir` is nearly
 * full (LMDB reports a full disk as a plain I/O error, EIO).
 */
export async function failedForLackOfSpace(error: unknown, dir: string): Promise<boolean> {
  if (isDiskFullError(error)) return true;
  try {
    const fs = await statfs(dir);
    return fs.bavail * fs.bsize < NEARLY_FULL_BYTES;
  } catch {
    return false;
  }
}
