import assert from "node:assert/strict";
import { test } from "node:test";
import type { FsmCommand } from "../../../src/fsm/command-types.ts";
import { decodeCommand } from "../../../src/fsm/commands.ts";
import {
  encodePayloadCommand,
  type PayloadCommand,
} from "../../../src/fsm/payload-command-encoder.ts";
import { Command } from "../../../src/gen/command.ts";
import { seededRandom } from "../../support/rng.ts";

const EDGES = [0, 1, 127, 128, 16_384, 2 ** 32, 2 ** 53 - 1];
const SIZES = [0, 1, 127, 128, 16_384, 100_000];
const NAMES = ["", "k", "docs/ünïcødé ✓.txt", "p/".repeat(300)];

function randomCommand(seed: number): PayloadCommand {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const num = (): number => (rand() < 0.5 ? pick(EDGES) : Math.floor(rand() * 1000));
  const bytes = (): Buffer => {
    const b = Buffer.alloc(pick(SIZES));
    for (let i = 0; i < b.length; i += 89) b[i] = Math.floor(rand() * 256);
    return b;
  };
  const meta = {
    ...(rand() < 0.6
      ? { session: { clientId: pick(NAMES), sequence: num(), firstIncomplete: num() } }
      : {}),
    ...(rand() < 0.8 ? { timeMs: num() } : {}),
    ...(rand() < 0.5 ? { caller: { user: pick(NAMES), generation: num() } } : {}),
  };
  if (rand() < 0.5) {
    const cas = rand() < 0.5 ? { ifVersion: num() } : {};
    return { op: "put", key: pick(NAMES), value: bytes(), ...cas, ...meta };
  }
  return {
    op: "upload_chunk",
    uploadId: pick(NAMES),
    seq: Math.min(num(), 2 ** 32 - 1),
    data: bytes(),
    ...(rand() < 0.3
      ? { stored: { length: Math.min(num(), 2 ** 32 - 1), crc32: Math.min(num(), 2 ** 32 - 1) } }
      : {}),
    ...meta,
  };
}

/** The same command through the generated encoder. */
function generated(c: PayloadCommand): Uint8Array {
  const op =
    c.op === "put"
      ? { put: { key: c.key, value: Buffer.from(c.value), ifVersion: c.ifVersion } }
      : {
          uploadChunk: {
            uploadId: c.uploadId,
            seq: c.seq,
            data: Buffer.from(c.data),
            stored: c.stored,
          },
        };
  return Command.encode(
    Command.fromPartial({ ...op, caller: c.caller, session: c.session, timeMs: c.timeMs ?? 0 }),
  ).finish();
}

const FIRST_SEED = Number(process.env.SEED ?? 1);
const RUNS = process.env.SEED === undefined ? 500 : 1;

test(`puts and upload chunks (full and stored forms) encode, with and without a caller, byte for byte as Command.encode does, and decode back (seeds ${FIRST_SEED}..${FIRST_SEED + RUNS - 1}; replay one with SEED=n)`, () => {
  for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
    const command = randomCommand(seed);
    const ours = encodePayloadCommand(command);
    assert.ok(Buffer.from(generated(command)).equals(ours), `seed ${seed}: bytes differ`);
    const back = decodeCommand(ours) as FsmCommand;
    const expected = { ...command, timeMs: command.timeMs ?? 0 };
    assert.deepEqual(
      JSON.parse(JSON.stringify(back)),
      JSON.parse(JSON.stringify(expected)),
      `seed ${seed}: decoded differs`,
    );
  }
});
