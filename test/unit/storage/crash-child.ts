/**
 * Run by crash-point.test.ts in a separate process: passes the crash points named in
 * argv in order, printing `passed <name>` after each, so the test sees where it died.
 */
import { crashPoint } from "../../../src/storage/crash-point.ts";

for (const name of process.argv.slice(2)) {
  crashPoint(name);
  process.stdout.write(`passed ${name}\n`);
}
