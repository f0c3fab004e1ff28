/**
 * Making sure a data dir is usable before anything is stored in it, so that a typo, a
 * read-only mount or a full disk is one clear startup error rather than a failure deep
 * inside the WAL after the node has joined the cluster.
 */
import { open, unlink } from "node:fs/promises";
import { join } from "node:path";
import { StartupError } from "../api/index.ts";
import { mkdirDurable } from "./fsync.ts";
import { FILE_MODE, tightenDir } from "./modes.ts";

/**
 * Creates `dir` (and missing parents, durably, mode 0700) and proves it writable by
 * creating, syncing and removing a probe file. An existing dir that group or others may
 * enter is tightened to 0700 (as etcd does) and its old mode returned, so the caller can
 * warn; null otherwise. Any failure (EACCES, ENOTDIR, EROFS, ENOSPC...) becomes
 * `StartupError("data_dir", "cannot use data dir <dir>: <reason>")`.
 */
export async function prepareDataDir(dir: string): Promise<number | null> {
  try {
    await mkdirDurable(dir);
    const loosened = await tightenDir(dir);
    await probeWritable(dir);
    return loosened;
  } catch (err) {
    throw new StartupError("data_dir", `cannot use data dir ${dir}: ${describe(err)}`);
  }
}

async function probeWritable(dir: string): Promise<void> {
  const probe = join(dir, `.probe-${process.pid}`);
  const handle = await open(probe, "w", FILE_MODE);
  try {
    await handle.write(new Uint8Array([1]));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await unlink(probe);
}

/** "EACCES: permission denied, open '/x/.probe-1'" reads fine as it is; keep it one line. */
function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, " ");
}
