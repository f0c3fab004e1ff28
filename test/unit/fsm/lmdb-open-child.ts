/**
 * Run by lmdb-check.test.ts in a separate process, so that a store that crashes LMDB
 * kills only this child: opens the store of data dir argv[2], reads every key and its
 * digest, and prints one line: `ok <keys>` or `error <kind> <message>`.
 */

import { StartupError } from "../../../src/api/index.ts";
import { LmdbStore } from "../../../src/fsm/index.ts";

try {
  const store = await LmdbStore.open(process.argv[2] ?? "");
  const size = store.size();
  store.digest();
  await store.close();
  process.stdout.write(`ok ${size}\n`);
} catch (err) {
  const kind = err instanceof StartupError ? err.kind : "other";
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ");
  process.stdout.write(`error ${kind} ${message}\n`);
}
