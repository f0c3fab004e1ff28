/**
 * Search budgets: a history whose search space explodes must come back "unknown" —
 * never "ok" — when the budget runs out, whichever budget it is; with enough budget the
 * same shape is decided.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, kvModel } from "../../../src/verify/index.ts";
import { HistoryBuilder, pathologicalKey } from "./builder.ts";

test("a small instance of the pathological shape is decided within the default budget", () => {
  const b = pathologicalKey(new HistoryBuilder("p"), 5);
  assert.equal(checkLinearizable(kvModel, b.ops).verdict, "violation");
});

test("running out of states is unknown, not ok", () => {
  const b = pathologicalKey(new HistoryBuilder("p"), 14);
  const result = checkLinearizable(kvModel, b.ops, { maxStates: 1_000 });
  assert.equal(result.verdict, "unknown");
  if (result.verdict !== "unknown") return;
  assert.equal(result.key, "p");
  assert.match(result.reason, /key "p": search budget exhausted: more than 1000 states/);
});

test("running out of time is unknown, not ok, and returns promptly", () => {
  const b = pathologicalKey(new HistoryBuilder("p"), 14);
  const started = performance.now();
  const result = checkLinearizable(kvModel, b.ops, { timeoutMs: 50, maxStates: 1e9 });
  const elapsed = performance.now() - started;
  console.log(`budget: 50 ms timeout returned "${result.verdict}" after ${elapsed.toFixed(0)} ms`);
  assert.equal(result.verdict, "unknown");
  if (result.verdict === "unknown") assert.match(result.reason, /timed out/);
  assert.ok(elapsed < 1_000, `took ${elapsed} ms`);
});

test("keys left when the deadline passes are reported unchecked", () => {
  const b = pathologicalKey(new HistoryBuilder("a"), 14);
  pathologicalKey(b.on("b"), 14);
  pathologicalKey(b.on("c"), 14);
  const result = checkLinearizable(kvModel, b.ops, { timeoutMs: 30, maxStates: 1e9 });
  assert.equal(result.verdict, "unknown");
  if (result.verdict === "unknown")
    assert.match(result.reason, /key\(s\) not checked before the deadline/);
});

test("a huge search space is no problem when a linearization is found early", () => {
  const b = new HistoryBuilder("p");
  for (let i = 0; i < 14; i++) b.put(i, [0, 100], `p${i}`, 1).del(14 + i, [0, 100], true);
  assert.deepEqual(checkLinearizable(kvModel, b.ops, { maxStates: 1_000 }), { verdict: "ok" });
});
