/**
 * Failover measurements of several systems, interleaved: run i measures every system
 * once, alternating which goes first, each on its own fresh cluster.
 */

import { fixed } from "../../src/loadgen/index.ts";
import { measureFailover } from "./failover.ts";
import type { SystemDriver } from "./system.ts";

/** Measures `runs` failovers per driver; returns the times in ms per system name. */
export async function runFailovers(
  drivers: readonly SystemDriver[],
  runs: number,
  log: (line: string) => void,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = {};
  for (const d of drivers) times[d.name] = [];
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? drivers : [...drivers].reverse();
    for (const driver of order) {
      const result = await measureFailover(driver);
      times[driver.name]?.push(result.ms);
      log(
        `failover ${run + 1}/${runs} ${driver.name}: killed ${result.killed}, next ack after ` +
          `${fixed(result.ms, 0)} ms (${result.failedPuts} puts gave up)`,
      );
    }
  }
  return times;
}
