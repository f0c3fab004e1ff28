import assert from "node:assert/strict";
import { test } from "node:test";
import { type Entry, MessageBatch, type RaftMessage } from "../../../src/gen/raft.ts";
import { encodeMessageBatch } from "../../../src/transport/batch-encoder.ts";
import { seededRandom } from "../../support/rng.ts";

/** Integers around every varint length boundary, up to the largest safe one. */
const EDGES = [0, 1, 127, 128, 16_383, 16_384, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1];
const SIZES = [0, 1, 127, 128, 16_383, 16_384, 70_000];

function randomBatch(seed: number): MessageBatch {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const num = (): number => (rand() < 0.5 ? pick(EDGES) : Math.floor(rand() * 1000));
  const entry = (): Entry => {
    const data = Buffer.alloc(pick(SIZES));
    for (let i = 0; i < data.length; i += 97) data[i] = Math.floor(rand() * 256);
    return { term: num(), index: num(), kind: Math.floor(rand() * 3), data };
  };
  const message = (): RaftMessage => ({
    type: Math.floor(rand() * 10),
    from: Math.floor(rand() * 6),
    to: Math.floor(rand() * 6),
    term: num(),
    logTerm: num(),
    index: num(),
    entries: Array.from({ length: Math.floor(rand() * 4) }, entry),
    commit: num(),
    reject: rand() < 0.5,
    rejectHint: num(),
    context: num(),
  });
  return {
    clusterId: pick(["", "c1", "clüster-✓", "x".repeat(200)]),
    from: Math.floor(rand() * 6),
    to: Math.floor(rand() * 6),
    messages: Array.from({ length: Math.floor(rand() * 5) }, message),
    identity: pick(["", "0123456789abcdef0123456789abcdef", "ïd"]),
  };
}

const FIRST_SEED = Number(process.env.SEED ?? 1);
const RUNS = process.env.SEED === undefined ? 500 : 1;

test(`peer batches encode byte for byte as the generated encoder does (seeds ${FIRST_SEED}..${FIRST_SEED + RUNS - 1}; replay one with SEED=n)`, () => {
  for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
    const batch = randomBatch(seed);
    const ours = encodeMessageBatch(batch);
    const generated = MessageBatch.encode(batch).finish();
    assert.ok(Buffer.from(generated).equals(ours), `seed ${seed}: bytes differ`);
    assert.deepEqual(MessageBatch.decode(ours), MessageBatch.decode(generated), `seed ${seed}`);
  }
});

test("a 1 MiB entry is written into one buffer of exactly the encoded size", () => {
  const data = Buffer.alloc(1024 * 1024, 7);
  const batch: MessageBatch = {
    clusterId: "c",
    from: 1,
    to: 2,
    identity: "",
    messages: [
      {
        type: 5,
        from: 1,
        to: 2,
        term: 3,
        logTerm: 3,
        index: 10,
        entries: [{ term: 3, index: 11, kind: 0, data }],
        commit: 10,
        reject: false,
        rejectHint: 0,
        context: 0,
      },
    ],
  };
  const ours = encodeMessageBatch(batch);
  assert.equal(ours.buffer.byteLength, ours.length, "no spare capacity behind the bytes");
  assert.equal(ours.length, MessageBatch.encode(batch).finish().length);
  const decoded = MessageBatch.decode(ours).messages[0]?.entries[0]?.data;
  assert.ok(decoded !== undefined && Buffer.from(decoded).equals(Buffer.from(data)));
});
