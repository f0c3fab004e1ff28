/**
 * Exclusive use of a data dir by one process. Two nodes writing one WAL corrupt it
 * beyond repair, so a second `dfs server` on the same dir must refuse to start.
 *
 * Node has no flock, so the lock is a `LOCK` file naming its holder (see lock-owner.ts),
 * with two refinements over "create with O_EXCL, write the pid":
 *
 * - The file is written under a private name and hard-linked into place (`link` fails
 *   if LOCK exists, like O_EXCL), so LOCK never exists half-written: an unreadable LOCK
 *   is always crash garbage, never a lock being taken right now.
 * - A stale LOCK is taken over under a claim file named after the stale content. Plain
 *   "unlink + create" races: two starters both see the stale lock, the first replaces
 *   it, the second unlinks the first one's fresh lock and both run. Only the holder of
 *   the claim for content C may remove a LOCK holding C, and it re-reads LOCK after
 *   claiming, so a fresh lock is never removed. A claim left by a crashed claimer is
 *   skipped by claiming the next generation.
 */
import { createHash } from "node:crypto";
import { link, readFile, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { StartupError } from "../server/errors.ts";
import {
  formatOwner,
  isOwnerAlive,
  type LockOwner,
  newOwner,
  parseOwner,
  retireOwner,
} from "./lock-owner.ts";

/** Name of the lock file inside the data dir. */
export const LOCK_FILE = "LOCK";

/** Attempts before giving up when LOCK keeps changing under us (contention, not a holder). */
const MAX_ATTEMPTS = 200;
/** Claim generations tried before giving up: each one means a claimer crashed mid-takeover. */
const MAX_GENERATIONS = 16;

/** A held data dir lock. */
export interface DataDirLock {
  /** The data dir this lock protects. */
  readonly dataDir: string;
  /** Removes LOCK if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the data dir lock or fails with `StartupError("data_dir_locked")` naming the
 * holder's pid. A lock whose holder is gone (crash, kill -9, reboot) is taken over.
 * The data dir must exist (see `prepareDataDir`).
 */
export async function acquireDataDirLock(dataDir: string): Promise<DataDirLock> {
  const path = join(resolve(dataDir), LOCK_FILE);
  const me = await newOwner();
  try {
    await acquire(path, dataDir, me);
  } catch (err) {
    retireOwner(me);
    if (err instanceof StartupError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new StartupError("data_dir", `cannot lock data dir ${dataDir}: ${reason}`);
  }
  return heldLock(dataDir, path, me);
}

async function acquire(path: string, dataDir: string, me: LockOwner): Promise<void> {
  const mine = formatOwner(me);
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await linkNew(path, mine, me)) return;
    const text = await readText(path);
    if (text === null) continue; // released or taken over between our two calls
    const holder = parseOwner(text);
    if (holder !== null && (await isOwnerAlive(holder))) throw lockedError(dataDir, holder);
    if (await takeOver(path, text, me)) return;
    await sleep(5 + Math.random() * 20);
  }
  throw new StartupError(
    "data_dir_locked",
    `data dir ${dataDir} is in use: its ${LOCK_FILE} file kept changing while starting`,
  );
}

/**
 * Replaces the stale LOCK holding `staleText`; false if someone else is doing it or
 * LOCK changed (the caller re-examines LOCK). While LOCK holds `staleText`, claim files
 * are only ever added, and generation g+1 is only entered when claim g's owner is dead,
 * so at most one live process holds a claim for it.
 */
async function takeOver(path: string, staleText: string, me: LockOwner): Promise<boolean> {
  const key = createHash("sha256").update(staleText).digest("hex").slice(0, 16);
  const claimPath = (generation: number) => `${path}.takeover-${key}-${generation}`;
  for (let generation = 1; generation <= MAX_GENERATIONS; generation++) {
    if (await linkNew(claimPath(generation), formatOwner(me), me)) {
      const replaced = await replaceIfUnchanged(path, staleText, me);
      // LOCK no longer holds staleText, so these claims are moot. On an exception they
      // stay, which keeps others out until this process is gone.
      for (let g = generation; g >= 1; g--) await unlinkIfExists(claimPath(g));
      return replaced;
    }
    const claim = await readText(claimPath(generation));
    if (claim === null) return false; // its owner just finished: look at LOCK again
    const claimer = parseOwner(claim);
    if (claimer !== null && (await isOwnerAlive(claimer))) return false;
  }
  return false;
}

/** Under a claim: swaps LOCK for ours if it still holds `staleText`. */
async function replaceIfUnchanged(
  path: string,
  staleText: string,
  me: LockOwner,
): Promise<boolean> {
  if ((await readText(path)) !== staleText) return false;
  await unlinkIfExists(path);
  return await linkNew(path, formatOwner(me), me);
}

/**
 * Creates `path` holding `text` atomically and exclusively; false if it exists.
 * Why link: the content is complete at the instant the name appears.
 */
async function linkNew(path: string, text: string, me: LockOwner): Promise<boolean> {
  const tmp = `${path}.${me.nonce}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  try {
    await link(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw err;
  } finally {
    await unlinkIfExists(tmp);
  }
}

function heldLock(dataDir: string, path: string, me: LockOwner): DataDirLock {
  let released = false;
  return {
    dataDir,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      if ((await readText(path)) === formatOwner(me)) await unlinkIfExists(path);
      retireOwner(me);
    },
  };
}

function lockedError(dataDir: string, holder: LockOwner): StartupError {
  return new StartupError(
    "data_dir_locked",
    `data dir ${dataDir} is in use by process ${holder.pid}`,
  );
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

async function unlinkIfExists(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
}
