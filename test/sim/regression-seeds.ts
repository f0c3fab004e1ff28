/**
 * The simulator's regression seeds (regression-seeds.json): every failure ever found,
 * replayed forever by `npm test` (swarm.test.ts) and by `npm run sim -- --regression S`;
 * the long mode appends to it. One definition of an entry for both readers and the writer.
 */
import { readFileSync, writeFileSync } from "node:fs";
import type { NemesisVersion, ScheduledFault } from "./nemesis.ts";

/** An entry of regression-seeds.json. */
export interface RegressionSeed {
  readonly seed: number;
  readonly nodes: number;
  readonly faultMs: number;
  /** The fault scheduler the seed was recorded with (nemesis.ts); "swarm" when absent. */
  readonly nemesis?: NemesisVersion;
  /** A shrunk swarm schedule to play instead of the seed's own (npm run sim -- --hours). */
  readonly schedule?: readonly ScheduledFault[];
  readonly note: string;
}

const FILE = new URL("./regression-seeds.json", import.meta.url);

/** Every recorded regression seed, in the file's order. */
export function readRegressionSeeds(): RegressionSeed[] {
  return JSON.parse(readFileSync(FILE, "utf8"));
}

/** Appends one entry (the long mode's shrunk failures). */
export function appendRegressionSeed(entry: RegressionSeed): void {
  writeFileSync(FILE, `${JSON.stringify([...readRegressionSeeds(), entry], null, 2)}\n`);
}
