/**
 * Durability primitives shared by the WAL, the metadata file and (later) snapshots.
 *
 * A file's bytes are durable after fdatasync, but its *name* lives in the directory:
 * a file created or renamed and then synced can still vanish in a crash unless the
 * directory is synced too. Every helper here closes one of those gaps.
 */
import { chmod, type FileHandle, mkdir, open, rename } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { DIR_MODE, FILE_MODE } from "./modes.ts";

/**
 * Syncs a directory so that entries created, renamed or removed in it survive a crash.
 * Why: fsync of a file does not persist its directory entry (ext4, xfs).
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` and any missing parents, then syncs the parent of every directory it
 * created, so the new directories survive a crash. Why: `mkdir -p` alone leaves the new
 * names in the page cache of their parents. Every directory it creates is {@link DIR_MODE}.
 * A `dir` that already exists has its parent synced all the same: it may exist only in the
 * page cache (an earlier call's sync failed, or a process died between mkdir and sync).
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const target = resolve(dir);
  const created = await mkdir(target, { recursive: true, mode: DIR_MODE });
  if (created === undefined) {
    await fsyncDir(dirname(target));
    return;
  }
  const first = resolve(created);
  for (let current = target; ; current = dirname(current)) {
    await chmod(current, DIR_MODE); // the umask may have masked the mode given to mkdir
    await fsyncDir(dirname(current));
    if (current === first || dirname(current) === current) return;
  }
}

/**
 * Replaces `path` with `data` atomically: readers and crashes see the old content or
 * the new, never a mix or an empty file. Why: a plain overwrite that is torn by a crash
 * would leave a node unable to start (or, worse, starting with half a config).
 * The file is {@link FILE_MODE}.
 */
export async function writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, "w", FILE_MODE);
  try {
    await handle.chmod(FILE_MODE);
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
  await fsyncDir(dirname(path));
}

/**
 * Writes all of `buffers` at `position` with as few `writev` calls as the kernel allows
 * (one, in practice), continuing after a short write. Why: a silently short write would
 * be synced and acknowledged as if complete.
 */
export async function writevFully(
  handle: FileHandle,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    at += bytesWritten;
    pending = dropWritten(pending, bytesWritten);
  }
}

function dropWritten(buffers: readonly Uint8Array[], written: number): Uint8Array[] {
  let rest = written;
  let i = 0;
  for (; i < buffers.length; i++) {
    const length = buffers[i]?.length ?? 0;
    if (rest < length) break;
    rest -= length;
  }
  const remaining = buffers.slice(i);
  const partial = remaining[0];
  if (partial !== undefined && rest > 0) remaining[0] = partial.subarray(rest);
  return remaining;
}

/** Buffers one writev takes on Linux (IOV_MAX); libuv splits longer lists into calls. */
const IOV_MAX = 1024;

/**
 * Joins runs of buffers so that at most IOV_MAX remain: on an O_DSYNC file each system
 * call syncs, so a batch split over several writev calls would pay several syncs. Only
 * long lists of (small) entries are copied; a short list is returned as it is.
 */
export function coalesceForOneWrite(buffers: readonly Uint8Array[]): readonly Uint8Array[] {
  if (buffers.length <= IOV_MAX) return buffers;
  const run = Math.ceil(buffers.length / IOV_MAX);
  const joined: Uint8Array[] = [];
  for (let i = 0; i < buffers.length; i += run)
    joined.push(Buffer.concat(buffers.slice(i, i + run)));
  return joined;
}
