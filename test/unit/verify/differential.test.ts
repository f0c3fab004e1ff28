/**
 * The checker against a brute-force reference on thousands of tiny random histories
 * with random (mostly impossible) outcomes, many equal timestamps and indeterminate
 * operations — with the full kv model (canonical inputs, read-only hints) and with bare
 * models exercising each state-cache path (hash, equal, deep equality). Any
 * disagreement is a soundness or completeness bug.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkLinearizable,
  type KvInput,
  type KvOperation,
  type KvOutput,
  type KvState,
  kvModel,
  type Model,
} from "../../../src/verify/index.ts";
import { bruteForceLinearizable } from "./brute-force.ts";
import { generateHistory } from "./generate.ts";
import { pick, prng, randInt, replayCommand, seedsFor } from "./seeds.ts";

const FILE = "test/unit/verify/differential.test.ts";
const HISTORIES_PER_SEED = 40;

const models: Record<string, Model<KvState, KvInput, KvOutput>> = {
  "kvModel (equal + hash)": kvModel,
  "hash only": { init: kvModel.init, step: kvModel.step, hash: kvModel.hash },
  "equal only": { init: kvModel.init, step: kvModel.step, equal: kvModel.equal },
  "deep equality": { init: kvModel.init, step: kvModel.step },
};

function randomInput(rng: () => number): KvInput {
  const value = pick(rng, ["a", "b"]);
  return pick<KvInput>(rng, [
    { op: "get" },
    { op: "put", value },
    { op: "delete" },
    { op: "cas", expectedVersion: randInt(rng, 0, 2), value },
  ]);
}

function randomOutput(
  rng: () => number,
  input: KvInput,
  values: readonly string[] = ["a", "b"],
): KvOutput {
  const version = randInt(rng, 1, 3);
  switch (input.op) {
    case "get":
      return rng() < 0.3 ? { found: false } : { found: true, value: pick(rng, values), version };
    case "put":
      return { ok: true, version };
    case "delete":
      return { existed: rng() < 0.5 };
    case "cas":
      return rng() < 0.4 ? { ok: false } : { ok: true, version };
  }
}

function tinyHistory(rng: () => number): KvOperation[] {
  return Array.from({ length: randInt(rng, 1, 7) }, (_, id) => {
    const call = randInt(rng, 0, 12);
    const input = randomInput(rng);
    const indeterminate = rng() < 0.2;
    const ret = indeterminate && rng() < 0.5 ? Number.POSITIVE_INFINITY : call + randInt(rng, 0, 6);
    const output = indeterminate ? undefined : randomOutput(rng, input);
    return { id, client: id, key: "k", call, ret, input, output };
  });
}

test("the checker agrees with brute force on tiny random histories", () => {
  const tally = { ok: 0, violation: 0 };
  for (const seed of seedsFor(FILE, 50)) {
    const rng = prng(seed);
    for (let n = 0; n < HISTORIES_PER_SEED; n++) {
      const history = tinyHistory(rng);
      const expected = bruteForceLinearizable(kvModel, history) ? "ok" : "violation";
      tally[expected]++;
      for (const [name, model] of Object.entries(models)) {
        const { verdict } = checkLinearizable(model, history);
        assert.equal(
          verdict,
          expected,
          `${name}, history ${n} of seed ${seed}: ${JSON.stringify(history)}\nreplay: ${replayCommand(seed, FILE)}`,
        );
      }
    }
  }
  console.log(`differential: ${tally.ok} linearizable, ${tally.violation} not, all agreed`);
  assert.ok(tally.ok > 0 && tally.violation > 0, "both verdicts were exercised");
});

/** A small generated (linearizable) history, with one outcome replaced at random half the time. */
function nearlyValidHistory(rng: () => number): KvOperation[] {
  const history = generateHistory(rng, {
    keys: 1,
    clients: 3,
    ops: randInt(rng, 2, 7),
    maxLatency: 4,
    maxThink: 1,
    indeterminateRate: 0.2,
  });
  const determinate = history.filter((op) => op.output !== undefined);
  if (determinate.length === 0 || rng() < 0.5) return history;
  const target = pick(rng, determinate);
  const written = history.flatMap((op) => ("value" in op.input ? [op.input.value] : []));
  const output = randomOutput(rng, target.input, [...written, "zz"]);
  return history.map((op) => (op === target ? { ...op, output } : op));
}

test("the checker agrees with brute force on small perturbed real histories", () => {
  const tally = { ok: 0, violation: 0 };
  for (const seed of seedsFor(FILE, 50)) {
    const rng = prng(seed);
    for (let n = 0; n < HISTORIES_PER_SEED; n++) {
      const history = nearlyValidHistory(rng);
      const expected = bruteForceLinearizable(kvModel, history) ? "ok" : "violation";
      tally[expected]++;
      const { verdict } = checkLinearizable(kvModel, history);
      assert.equal(
        verdict,
        expected,
        `history ${n} of seed ${seed}: ${JSON.stringify(history)}\nreplay: ${replayCommand(seed, FILE)}`,
      );
    }
  }
  console.log(
    `differential (perturbed): ${tally.ok} linearizable, ${tally.violation} not, all agreed`,
  );
  assert.ok(tally.ok > 0 && tally.violation > 0, "both verdicts were exercised");
});
