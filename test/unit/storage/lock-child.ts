/**
 * Run by lock.test.ts in a separate process: tries to take the data dir lock given as
 * argv[2] and prints one line, `acquired` or `locked <kind> <message>`. With argv[3] =
 * "wait" it first prints `ready` and waits for a line on stdin (so several children can
 * race), and after acquiring holds the lock until stdin closes.
 */
import { createInterface } from "node:readline";
import { StartupError } from "../../../src/api/index.ts";
import { acquireDataDirLock } from "../../../src/storage/index.ts";

const dir = process.argv[2] ?? "";
const wait = process.argv[3] === "wait";
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();

if (wait) {
  process.stdout.write("ready\n");
  await lines.next();
}
try {
  const lock = await acquireDataDirLock(dir);
  process.stdout.write("acquired\n");
  if (wait) while (!(await lines.next()).done) {}
  await lock.release();
  process.exit(0);
} catch (err) {
  if (!(err instanceof StartupError)) throw err;
  process.stdout.write(`locked ${err.kind} ${err.message}\n`);
  process.exit(3);
}
