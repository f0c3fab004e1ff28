/**
 * One attack of bench/lib/attack-kinds.ts in its own process, so its CPU is not the
 * measured client's:
 *   tsx bench/attack-process.ts NAME ADDRESS PACE_MS STUCK_CLIENT SEQUENCE_BASE
 * Prints "ready" once the attack is under way, and stops it and exits on SIGTERM.
 */
import { ATTACKS } from "./lib/attack-kinds.ts";

const [name = "", address = "", pace = "100", stuckClient = "stuck", base = "1"] =
  process.argv.slice(2);
const start = ATTACKS[name];
if (start === undefined) throw new Error(`unknown attack ${name}`);
const attack = start({
  address,
  paceMs: Number(pace),
  stuckClient,
  sequenceBase: Number(base),
});
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  attack.stop();
  process.exit(0);
});
