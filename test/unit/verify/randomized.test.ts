/**
 * Randomized end-to-end checks: histories generated from a real sequential execution
 * with random concurrent intervals and timeouts must pass; the same history with one
 * output made impossible must fail, and the explanation must blame that operation
 * (every earlier return is consistent with the generating execution).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type CheckResult, checkLinearizable, kvModel } from "../../../src/verify/index.ts";
import { type GenOptions, generateHistory, type Mutation, mutateImpossibly } from "./generate.ts";
import { prng, randInt, replayCommand, seedsFor } from "./seeds.ts";

const FILE = "test/unit/verify/randomized.test.ts";
const SEEDS = 300;
/**
 * Seeds whose culprit is a later-returning operation rather than the mutated one: two such
 * seeds (214 and 100138 under the old generator) once failed because the test expected
 * the mutated one (the culprit is the first return by which the history is impossible,
 * see assertBlamesMutation). 104 and 271 are such seeds for the shared PRNG.
 */
const REGRESSIONS = [104, 271];

function randomShape(rng: () => number): GenOptions {
  return {
    keys: randInt(rng, 1, 3),
    clients: randInt(rng, 2, 6),
    ops: randInt(rng, 20, 120),
    maxLatency: randInt(rng, 1, 20),
    maxThink: randInt(rng, 0, 5),
    indeterminateRate: rng() < 0.3 ? 0 : rng() * 0.15,
  };
}

/**
 * The culprit is the first return by which the history is impossible: the mutated
 * operation itself, or a later-returning one whose outcome contradicts it. Either way
 * the mutated operation cannot be relaxed away, so it is among the involved ones.
 */
function assertBlamesMutation(result: CheckResult, mutation: Mutation, what: string): void {
  assert.equal(result.verdict, "violation", what);
  if (result.verdict !== "violation") return;
  const mutated = mutation.history.find((o) => o.id === mutation.id);
  assert.equal(result.key, mutated?.key, what);
  assert.ok(result.explanation.includes(JSON.stringify(result.key)), what);
  const culpritId = /\n#(\d+) client .* is the first operation/.exec(result.explanation)?.[1];
  const culprit = mutation.history.find((o) => o.id === Number(culpritId));
  assert.ok(culprit !== undefined && mutated !== undefined && culprit.ret >= mutated.ret, what);
  assert.ok(
    result.involved.some((o) => o.id === mutation.id),
    what,
  );
}

test("generated histories pass, and fail once one output is made impossible", () => {
  let mutated = 0;
  for (const seed of seedsFor(FILE, SEEDS, REGRESSIONS)) {
    const replay = `seed ${seed}; replay: ${replayCommand(seed, FILE)}`;
    const rng = prng(seed);
    const history = generateHistory(rng, randomShape(rng));
    assert.deepEqual(checkLinearizable(kvModel, history), { verdict: "ok" }, replay);

    const mutation = mutateImpossibly(rng, history);
    if (mutation === undefined) continue;
    mutated++;
    const result = checkLinearizable(kvModel, mutation.history);
    const what = `${mutation.description}; ${replay}`;
    assertBlamesMutation(result, mutation, what);
  }
  console.log(`randomized: ${SEEDS} generated histories passed, ${mutated} mutations caught`);
  assert.ok(mutated > SEEDS * 0.9, "nearly every history offered a mutation");
});
