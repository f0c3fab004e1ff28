/**
 * How every LMDB environment of ours is opened (the live store and a snapshot being
 * received), so both agree on file name and encoding.
 */
import { join } from "node:path";
import { open, type RootDatabase } from "lmdb";

/** The LMDB file inside a store directory. */
const STORE_FILE = "store.mdb";

/**
 * Opens the environment in `dir`: binary values (our records carry their own checksums),
 * no compression and no cache (values are read once per request and can be 1 MiB).
 */
export function openEnvironment(dir: string): RootDatabase<Buffer, string> {
  return open<Buffer, string>({
    path: join(dir, STORE_FILE),
    encoding: "binary",
    compression: false,
    cache: false,
  });
}
