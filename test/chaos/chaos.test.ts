/**
 * The CI-sized chaos run (docs/testing.md#chaos): three real nodes behind fault proxies,
 * 75 s of kills, pauses, partitions, delays and drops from a fixed seed, with the checked
 * workload running throughout. It passes only if the history is proven linearizable, the
 * final write and every read-back succeed, and every phase did real work.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FAULT_FAMILIES } from "./faults.ts";
import { runChaos } from "./harness.ts";
import { formatChaosReport } from "./report.ts";

/** A fixed seed, so CI replays one schedule; `npm run chaos` explores others. */
const SEED = 20_261_125;

test("3 nodes, 75 s of every fault family: linearizable, with enough work", {
  timeout: 240_000,
}, async () => {
  const lines: string[] = [];
  const report = await runChaos({
    nodes: 3,
    faultMs: 75_000,
    families: FAULT_FAMILIES,
    seed: SEED,
    log: (line) => lines.push(line),
  });
  const text = formatChaosReport(report);
  process.stdout.write(text);
  assert.deepEqual(report.failures, [], `${lines.join("\n")}\n${text}`);
  assert.equal(report.verdict.verdict, "linearizable");
  assert.ok(report.faults.length >= 5, `only ${report.faults.length} faults injected`);
  const families = new Set(report.faults.map((f) => f.family));
  assert.ok(families.size >= 3, `only fault families ${[...families]} were exercised`);
});
