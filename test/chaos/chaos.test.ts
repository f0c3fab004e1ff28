/**
 * The CI-sized chaos runs (docs/testing.md#chaos): three real nodes behind fault proxies,
 * 75 s of kills, pauses, partitions, delays and drops from a fixed seed, then a shorter run
 * that replaces nodes (membership changes) between kills and partitions, with the checked
 * workload running throughout. Each passes only if the history is proven linearizable,
 * the final write and every read-back succeed, and every phase did real work.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { FaultFamily } from "./faults.ts";
import { runChaos } from "./harness.ts";
import { formatChaosReport } from "./report.ts";

/** A fixed seed, so CI replays one schedule; `npm run chaos` explores others. */
const SEED = 20_261_125;

/** The process and network families; `member` has its own, shorter run below. */
const CLASSIC: readonly FaultFamily[] = ["kill", "pause", "partition", "delay", "drop"];

test("3 nodes, 75 s of every process and network fault: linearizable, with enough work", {
  timeout: 240_000,
}, async () => {
  const lines: string[] = [];
  const report = await runChaos({
    nodes: 3,
    faultMs: 75_000,
    families: CLASSIC,
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

test("3 nodes, 45 s of node replacements between kills and partitions: linearizable", {
  timeout: 240_000,
}, async () => {
  const lines: string[] = [];
  const report = await runChaos({
    nodes: 3,
    faultMs: 45_000,
    families: ["member", "kill", "partition"],
    seed: SEED,
    healthyMs: 5_000,
    log: (line) => lines.push(line),
  });
  const text = formatChaosReport(report);
  process.stdout.write(text);
  assert.deepEqual(report.failures, [], `${lines.join("\n")}\n${text}`);
  assert.equal(report.verdict.verdict, "linearizable");
  const replaced = report.faults.filter((f) => f.name === "replace-node");
  assert.ok(replaced.length >= 1, "no node was replaced");
  assert.ok(
    replaced.every((f) => f.healError === undefined),
    "every replaced node was promoted",
  );
});
