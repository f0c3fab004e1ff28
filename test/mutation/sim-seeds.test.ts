/**
 * The simulator's share of `npm run mutate` (docs/mutation.md): a few fixed seeds, so a
 * mutant is judged the same way on every run (the swarm's random seeds would make the
 * score flaky). Each seed is a whole run of the simulator (faults, liveness phase,
 * convergence and linearizability checks) over the real Raft core and the in-memory state
 * machine, so a mutant in src/raft/ or in the apply rules that the unit tests miss can
 * still break agreement here. Not part of `npm test`: the swarm covers these seeds' kind.
 *
 * MUTATE_SIM_SEEDS (comma-separated) replaces the list; MUTATE_SIM_FAULT_MS the fault
 * phase's length.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Simulation } from "../sim/simulation.ts";

/** Three- and five-node runs (odd seeds use five nodes, as `npm run sim` does). */
const DEFAULT_SEEDS = [1, 2, 3, 4, 1008];

const SEEDS = (process.env.MUTATE_SIM_SEEDS ?? DEFAULT_SEEDS.join(","))
  .split(",")
  .filter((s) => s.trim() !== "")
  .map(Number);
const FAULT_MS = Number(process.env.MUTATE_SIM_FAULT_MS ?? "10000");

describe("simulator seeds for mutation testing", () => {
  for (const seed of SEEDS) {
    const nodes = seed % 2 === 0 ? 3 : 5;
    it(`seed ${seed}, ${nodes} nodes`, async () => {
      const report = await new Simulation({ seed, nodes, faultMs: FAULT_MS, clients: 8 }).run();
      const replay = `npm run sim -- --seed ${seed} --nodes ${nodes} --fault-ms ${FAULT_MS} --clients 8 --verbose`;
      assert.ok(report.ok, `${report.failure}\nreplay: ${replay}`);
      assert.ok(report.definite >= 8, `too little work (${report.definite} definite ops)`);
    });
  }
});
