/** The round order of the CPU comparisons (bench/lib/cpu-compare.ts). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { roundOrder } from "../lib/cpu-compare.ts";

test("systems alternate which runs first, round by round", () => {
  const systems = ["this", "base"];
  assert.deepEqual(roundOrder(systems, 0), ["this", "base"]);
  assert.deepEqual(roundOrder(systems, 1), ["base", "this"]);
  assert.deepEqual(roundOrder(systems, 2), ["this", "base"]);
  assert.deepEqual(systems, ["this", "base"], "the caller's list is left as it was");
});
