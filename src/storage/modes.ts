/**
 * Permissions of everything in a data dir: the folders 0700 and the files 0600, owner
 * only, whatever the umask. The data dir holds every value stored in the cluster and the
 * node's vote; nobody but the node's own user has reason to read it, and a writable WAL
 * is a way to forge history. Modes are set explicitly after creation because the mode
 * given to open/mkdir is masked by the umask (which could also make them too strict
 * for the node itself).
 */
import { chmod, stat } from "node:fs/promises";

/** Mode of every folder the node creates in (and for) its data dir. */
export const DIR_MODE = 0o700;
/** Mode of every file the node creates in its data dir. */
export const FILE_MODE = 0o600;

/**
 * Tightens an existing folder to {@link DIR_MODE} if it grants anything to group or
 * others (as etcd does for its data dir); returns the mode it had if it changed it, so
 * the caller can say so, or null.
 */
export async function tightenDir(dir: string): Promise<number | null> {
  const mode = (await stat(dir)).mode & 0o777;
  if ((mode & 0o077) === 0) return null;
  await chmod(dir, mode & 0o700);
  return mode;
}
