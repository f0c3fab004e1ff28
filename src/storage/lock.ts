/**
 * Exclusive use of a data dir by one process. Two nodes writing one WAL corrupt it
 * beyond repair, so a second `dfs server` on the same dir must refuse to start.
 *
 * The lock is an OS file lock (see file-lock.ts) on `LOCK`, held on an open file for the
 * life of the process. Why not a file naming a pid, as before: a pid means nothing in
 * another PID namespace (two containers sharing a volume each see the other's pid as
 * dead, or as some unrelated process), so both took the lock. The kernel's lock is on
 * the inode and is released by the kernel when the holder exits or is killed, so there
 * is no stale lock to detect and no takeover to race.
 *
 * The file also holds a line describing the holder (pid, host, start time), written
 * after the lock is taken, so a refused second start can say who is in the way. It is
 * informational only and never decides anything. LOCK is never deleted: deleting it
 * would let a new starter lock a fresh inode while an old holder still holds the old one.
 */
import { constants } from "node:fs";
import { type FileHandle, open, readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { StartupError } from "../api/index.ts";
import { tryLockFile, unlockFile } from "./file-lock.ts";
import { FILE_MODE } from "./modes.ts";

/** Name of the lock file inside the data dir. */
export const LOCK_FILE = "LOCK";

/** A held data dir lock. */
export interface DataDirLock {
  /** The data dir this lock protects. */
  readonly dataDir: string;
  /** Drops the lock (the kernel also does when the process ends). Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the data dir lock or fails with `StartupError("data_dir_locked")` naming the
 * holder if LOCK says who it is. A holder that crashed or was killed holds nothing: the
 * kernel released its lock. The data dir must exist (see `prepareDataDir`).
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(resolve(dataDir), LOCK_FILE);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDWR | constants.O_CREAT, FILE_MODE);
  } catch (err) {
    throw new StartupError("data_dir", `cannot lock data dir ${dataDir}: ${errorText(err)}`);
  }
  try {
    if (!tryLockFile(handle.fd)) throw await lockedError(dataDir, path);
    await describeHolder(handle);
  } catch (err) {
    await handle.close();
    if (err instanceof StartupError) throw err;
    throw new StartupError("data_dir", `cannot lock data dir ${dataDir}: ${errorText(err)}`);
  }
  return heldLock(dataDir, handle);
}

/** Replaces LOCK's content with who we are; the lock, not this text, excludes others. */
async function describeHolder(handle: FileHandle): Promise<void> {
  await handle.chmod(FILE_MODE);
  const holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  await handle.truncate(0);
  await handle.write(`${JSON.stringify(holder)}\n`, 0);
}

function heldLock(dataDir: string, handle: FileHandle): DataDirLock {
  let released = false;
  return {
    dataDir,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      try {
        unlockFile(handle.fd);
      } finally {
        await handle.close();
      }
    },
  };
}

/** The refusal, naming the holder as LOCK describes it (if it wrote its line yet). */
async function lockedError(dataDir: string, path: string): Promise<StartupError> {
  const holder = await readHolder(path);
  const who =
    holder === null
      ? "another process"
      : `process ${holder.pid} on ${holder.host} (pid as seen in its own PID namespace), running since ${holder.since}`;
  return new StartupError("data_dir_locked", `data dir ${dataDir} is in use by ${who}`);
}

async function readHolder(
  path: string,
): Promise<{ pid: number; host: string; since: string } | null> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    const { pid, host, since } = value;
    if (!Number.isSafeInteger(pid) || typeof host !== "string" || typeof since !== "string")
      return null;
    return { pid: pid as number, host, since };
  } catch {
    return null;
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
}
