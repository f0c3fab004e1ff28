/**
 * Randomized end-to-end checks: histories generated from a real sequential execution
 * with random concurrent intervals and timeouts must pass; the same history with one
 * output made impossible must fail, and the explanation must blame that operation
 * (every earlier return is consistent with the generating execution).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkLinearizable, kvModel } from "../../../src/verify/index.ts";
import { type GenOptions, generateHistory, mutateImpossibly } from "./generate.ts";
import { prng, randInt, replayCommand, seedsFor } from "./seeds.ts";

const FILE = "test/unit/verify/randomized.test.ts";
const SEEDS = 300;

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

test("generated histories pass, and fail once one output is made impossible", () => {
  let mutated = 0;
  for (const seed of seedsFor(FILE, SEEDS)) {
    const replay = `seed ${seed}; replay: ${replayCommand(seed, FILE)}`;
    const rng = prng(seed);
    const history = generateHistory(rng, randomShape(rng));
    assert.deepEqual(checkLinearizable(kvModel, history), { verdict: "ok" }, replay);

    const mutation = mutateImpossibly(rng, history);
    if (mutation === undefined) continue;
    mutated++;
    const result = checkLinearizable(kvModel, mutation.history);
    const what = `${mutation.description}; ${replay}`;
    assert.equal(result.verdict, "violation", what);
    if (result.verdict !== "violation") continue;
    const op = mutation.history.find((o) => o.id === mutation.id);
    assert.equal(result.key, op?.key, what);
    assert.ok(result.explanation.includes(JSON.stringify(result.key)), what);
    assert.match(
      result.explanation,
      new RegExp(`\\n#${mutation.id} client .* is the first operation`),
      what,
    );
    assert.ok(
      result.involved.some((o) => o.id === mutation.id),
      what,
    );
  }
  console.log(`randomized: ${SEEDS} generated histories passed, ${mutated} mutations caught`);
  assert.ok(mutated > SEEDS * 0.9, "nearly every history offered a mutation");
});
