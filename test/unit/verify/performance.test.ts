/**
 * Speed at the upper end of docs/testing.md#linearizability-checker: 10 clients × 200 operations
 * on a single key with realistic overlap (and 1% timeouts). The linearizable case must
 * take well under a second. Finding and explaining a violation costs more — the search
 * must rule out every consistent order before it — and is printed, not asserted.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, kvModel } from "../../../src/verify/index.ts";
import { type GenOptions, generateHistory, mutateImpossibly } from "./generate.ts";
import { prng, replayCommand, seedsFor } from "./seeds.ts";

const FILE = "test/unit/verify/performance.test.ts";
const SHAPE: GenOptions = {
  keys: 1,
  clients: 10,
  ops: 2000,
  maxLatency: 10,
  maxThink: 3,
  indeterminateRate: 0.01,
};

function timed<T>(run: () => T): { value: T; ms: number } {
  const started = performance.now();
  const value = run();
  return { value, ms: performance.now() - started };
}

test("10 clients × 200 ops on one key: linearizable in well under a second", () => {
  for (const seed of seedsFor(FILE, 3)) {
    const replay = `seed ${seed}; replay: ${replayCommand(seed, FILE)}`;
    const history = generateHistory(prng(seed), SHAPE);
    const { value, ms } = timed(() => checkLinearizable(kvModel, history));
    console.log(
      `performance: seed ${seed}: ${history.length} ops, one key: ok in ${ms.toFixed(0)} ms`,
    );
    assert.deepEqual(value, { verdict: "ok" }, replay);
    assert.ok(ms < 1_000, `took ${ms.toFixed(0)} ms; ${replay}`);
  }
});

test("10 clients × 200 ops on one key: a violation is found and explained", () => {
  for (const seed of seedsFor(FILE, 1)) {
    const replay = `seed ${seed}; replay: ${replayCommand(seed, FILE)}`;
    const rng = prng(seed);
    const mutation = mutateImpossibly(
      rng,
      generateHistory(rng, { ...SHAPE, indeterminateRate: 0 }),
    );
    assert.ok(mutation !== undefined, replay);
    const { value, ms } = timed(() => checkLinearizable(kvModel, mutation.history));
    console.log(
      `performance: seed ${seed}: ${mutation.description}: ${value.verdict} in ${ms.toFixed(0)} ms`,
    );
    assert.equal(value.verdict, "violation", `${mutation.description}; ${replay}`);
  }
});
