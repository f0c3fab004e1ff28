/**
 * The randomized safety swarm (docs/testing.md#the-simulator) as part of `npm test`:
 * every seed in regression-seeds.json, then fresh random seeds until the time budget
 * (SIM_BUDGET_S, default 60 s; CI sets more) is spent. Each seed prints its replay command.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { NemesisVersion, ScheduledFault } from "./nemesis.ts";
import { readRegressionSeeds } from "./regression-seeds.ts";
import { Simulation } from "./simulation.ts";

const REGRESSIONS = readRegressionSeeds();
const BUDGET_MS = Number(process.env.SIM_BUDGET_S ?? "60") * 1000;
const FAULT_MS = 20_000;

/** Runs one seed; returns how many operations got a definite answer. */
async function runSeed(
  seed: number,
  nodes: number,
  faultMs: number,
  nemesis: NemesisVersion = "swarm",
  schedule?: readonly ScheduledFault[],
): Promise<number> {
  const report = await new Simulation({
    seed,
    nodes,
    faultMs,
    clients: 8,
    nemesis,
    ...(schedule !== undefined ? { schedule } : {}),
  }).run();
  const scheduler = nemesis === "swarm" ? "" : ` --nemesis ${nemesis}`;
  const replay =
    schedule !== undefined
      ? `npm run sim -- --regression ${seed} --verbose`
      : `npm run sim --${scheduler} --seed ${seed} --nodes ${nodes} --fault-ms ${faultMs} --clients 8 --verbose`;
  console.log(
    `# seed ${seed} nodes ${nodes}: ${report.ok ? "ok" : "FAIL"} ops=${report.ops} definite=${report.definite} faults=${report.faults} maxTerm=${report.maxTerm} | replay: ${replay}`,
  );
  if (!report.ok) console.log(report.trace.map((l) => `# ${l}`).join("\n"));
  assert.ok(report.ok, `${report.failure}\nreplay: ${replay}`);
  // The liveness phase alone gives every client one definite answer.
  assert.ok(
    report.definite >= 8,
    `too little work to mean anything (${report.definite} definite ops)`,
  );
  return report.definite;
}

/** A seed with fewer definite operations counts as run but not as evidence. */
const MEANINGFUL_OPS = 200;

describe("simulation swarm", () => {
  for (const r of REGRESSIONS) {
    it(`regression seed ${r.seed} (${r.note})`, async () => {
      await runSeed(r.seed, r.nodes, r.faultMs, r.nemesis, r.schedule);
    });
  }

  it(`random seeds for ${BUDGET_MS / 1000} s`, { timeout: BUDGET_MS + 120_000 }, async () => {
    const started = Date.now();
    let runs = 0;
    let meaningful = 0;
    while (Date.now() - started < BUDGET_MS) {
      const seed = Math.floor(Math.random() * 2 ** 31);
      if ((await runSeed(seed, runs % 2 === 0 ? 3 : 5, FAULT_MS)) >= MEANINGFUL_OPS) meaningful++;
      runs++;
    }
    const secs = (Date.now() - started) / 1000;
    const rate = (runs / secs).toFixed(2);
    console.log(
      `# swarm: ${runs} seeds (${meaningful} with >= ${MEANINGFUL_OPS} definite ops) in ${secs.toFixed(1)} s (${rate} seeds/s)`,
    );
    assert.ok(runs > 0);
    assert.ok(meaningful >= runs * 0.7, "most seeds must do real work under their faults");
  });
});
