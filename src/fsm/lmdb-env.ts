/**
 * How every LMDB environment of ours is opened (the live store and a snapshot being
 * received), so both agree on file name and encoding.
 */
import { chmodSync } from "node:fs";
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";
import { FILE_MODE } from "../storage/index.ts";

/** The LMDB file inside a store directory. */
const STORE_FILE = "store.mdb";

/** Path of the LMDB file of the store in `dir`. */
export function storeFile(dir: string): string {
  return join(dir, STORE_FILE);
}

/** How a store's commits reach the disk. */
export type CommitDurability =
  /** Every commit is durable when it returns (data fdatasync, then a synced meta page). */
  | "each-commit"
  /**
   * One fdatasync per commit, the meta page left to the next commit (LMDB's
   * MDB_NOMETASYNC): a system crash may undo the LAST commit, never corrupt the store
   * (atomicity and consistency kept). For the live store, whose every commit the WAL can
   * replay: it halves the flushes of each write-behind. What must be durable
   * (a snapshot, before the log is compacted) is made so by one more commit.
   */
  | "all-but-last";

/**
 * Opens the environment in `dir`: binary values (our records carry their own checksums),
 * no compression and no cache (values are read once per request and can be 1 MiB).
 * LMDB creates its files 0664 (its mode is fixed in lmdb-js), so they are narrowed to
 * 0600 once open (the 0700 directory already keeps others out in between).
 */
export function openEnvironment(
  dir: string,
  durability: CommitDurability = "each-commit",
): RootDatabase<Buffer, string> {
  const path = storeFile(dir);
  const db = open<Buffer, string>({
    path,
    encoding: "binary",
    compression: false,
    cache: false,
    noMetaSync: durability === "all-but-last",
  });
  for (const file of [path, `${path}-lock`]) chmodSync(file, FILE_MODE);
  return db;
}
