/**
 * How every LMDB environment of ours is opened (the live store and a snapshot being
 * received), so both agree on file name and encoding.
 */
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";

/** The LMDB file inside a store directory. */
const STORE_FILE = "store.mdb";

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
 */
export function openEnvironment(
  dir: string,
  durability: CommitDurability = "each-commit",
): RootDatabase<Buffer, string> {
  return open<Buffer, string>({
    path: join(dir, STORE_FILE),
    encoding: "binary",
    compression: false,
    cache: false,
    noMetaSync: durability === "all-but-last",
  });
}
