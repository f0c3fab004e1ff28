/**
 * The on-disk store's directories and the crash-safe swap that installs a snapshot:
 *
 *     state/      the live store
 *     state.new.N/  a snapshot being received, one directory per transfer
 *                 (complete only once renamed to state/)
 *     state.old/  the previous store, between the two renames of a swap
 *
 * Every step is a rename followed by a directory sync, so a crash at any point leaves
 * either the old store or the new one in `state/` after {@link recoverStateDirs}.
 */
import { readdir, rename, rm, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { crashPoint, fsyncDir } from "../storage/index.ts";

/** The three directories of a data dir's store. */
export interface StateDirs {
  readonly live: string;
  readonly incoming: string;
  readonly previous: string;
}

/** Paths of the store's directories inside `dataDir`. */
export function stateDirs(dataDir: string): StateDirs {
  return {
    live: join(dataDir, "state"),
    incoming: join(dataDir, "state.new"),
    previous: join(dataDir, "state.old"),
  };
}

/**
 * Finishes or rolls back an interrupted swap: a crash after `state/` moved aside but
 * before the new one took its place restores the old store (the log was not reset yet,
 * so the old store still matches it); leftovers are removed.
 */
export async function recoverStateDirs(dataDir: string): Promise<void> {
  const dirs = stateDirs(dataDir);
  if (!(await exists(dirs.live)) && (await exists(dirs.previous))) {
    await rename(dirs.previous, dirs.live);
    await fsyncDir(dataDir);
  }
  for (const name of await readdir(dataDir)) {
    if (name === basename(dirs.incoming) || name.startsWith(`${basename(dirs.incoming)}.`))
      await rm(join(dataDir, name), { recursive: true, force: true });
  }
  await rm(dirs.previous, { recursive: true, force: true });
}

/** Makes the received store in `incoming` the live one (its files already synced). */
export async function swapInIncoming(dataDir: string, incoming: string): Promise<void> {
  const dirs = stateDirs(dataDir);
  await rename(dirs.live, dirs.previous);
  await fsyncDir(dataDir);
  crashPoint("swap-aside");
  await rename(incoming, dirs.live);
  await fsyncDir(dataDir);
  crashPoint("swap-done");
  await rm(dirs.previous, { recursive: true, force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
