import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageBatch, MessageType, RaftMessage } from "../../../src/gen/raft.ts";
import { type Entry, EntryKind, type Message } from "../../../src/raft/index.ts";
import { encodeMessageBatch } from "../../../src/transport/batch-encoder.ts";
import { fromWire, toWire } from "../../../src/transport/codec.ts";
import { seededRandom } from "../../support/rng.ts";

/** Integers around varint length boundaries, up to the largest safe one. */
const EDGES = [0, 1, 127, 128, 16_384, 2 ** 32, 2 ** 53 - 1];

const TYPES: readonly Message["type"][] = [
  "preVote",
  "vote",
  "preVoteResp",
  "voteResp",
  "append",
  "appendResp",
  "heartbeat",
  "heartbeatResp",
  "snapshot",
  "timeoutNow",
  "readIndex",
  "readIndexResp",
];

/** One message of `type` with every field drawn from `rand`. */
function randomMessage(type: Message["type"], rand: () => number): Message {
  const num = (): number =>
    rand() < 0.5 ? (EDGES[Math.floor(rand() * EDGES.length)] as number) : Math.floor(rand() * 999);
  const envelope = {
    from: 1 + Math.floor(rand() * 5),
    to: 1 + Math.floor(rand() * 5),
    term: num(),
  };
  const entry = (): Entry => ({
    term: num(),
    index: num(),
    kind: rand() < 0.8 ? EntryKind.Normal : EntryKind.Noop,
    data: Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => rand() * 256)),
  });
  switch (type) {
    case "preVote":
    case "vote":
      return { ...envelope, type, lastLogIndex: num(), lastLogTerm: num(), transfer: rand() < 0.5 };
    case "preVoteResp":
    case "voteResp":
      return { ...envelope, type, reject: rand() < 0.5 };
    case "append":
      return {
        ...envelope,
        type,
        prevIndex: num(),
        prevTerm: num(),
        commit: num(),
        entries: Array.from({ length: Math.floor(rand() * 4) }, entry),
      };
    case "appendResp":
      return {
        ...envelope,
        type,
        reject: rand() < 0.5,
        index: num(),
        rejectHint: num(),
        hintTerm: num(),
      };
    case "heartbeat":
      return { ...envelope, type, commit: num(), context: num() };
    case "heartbeatResp":
      return { ...envelope, type, context: num() };
    case "snapshot":
      return { ...envelope, type, snapshot: { index: num(), term: num() } };
    case "timeoutNow":
      return { ...envelope, type, commit: num() };
    case "readIndex":
      return { ...envelope, type, context: num() };
    case "readIndexResp":
      return { ...envelope, type, index: num(), context: num() };
  }
}

/** Compares as the core sees messages: payload bytes, whatever their Buffer class. */
function normalized(m: Message): unknown {
  if (m.type !== "append") return m;
  return { ...m, entries: m.entries.map((e) => ({ ...e, data: [...e.data] })) };
}

const FIRST_SEED = Number(process.env.SEED ?? 1);
const RUNS = process.env.SEED === undefined ? 300 : 1;

test(`every message type survives the wire unchanged, field for field (seeds ${FIRST_SEED}..${FIRST_SEED + RUNS - 1}; replay one with SEED=n)`, () => {
  for (let seed = FIRST_SEED; seed < FIRST_SEED + RUNS; seed++) {
    const rand = seededRandom(seed);
    const sent = TYPES.map((type) => randomMessage(type, rand));
    const batch = { clusterId: "c", from: 1, to: 2, messages: sent.map(toWire), identity: "" };
    const received = MessageBatch.decode(encodeMessageBatch(batch)).messages.map(fromWire);
    assert.equal(received.length, sent.length);
    sent.forEach((m, i) => {
      const got = received[i];
      assert.ok(got !== null && got !== undefined, `seed ${seed}: ${m.type} was not decoded`);
      assert.deepEqual(normalized(got), normalized(m), `seed ${seed}: ${m.type} changed`);
    });
  }
});

test("each field lands in the wire field that peers of other versions read", () => {
  const env = { from: 1, to: 2, term: 3 };
  // The generated defaults fill every field the case does not name.
  const wire = (type: MessageType, fields: Partial<RaftMessage>): RaftMessage =>
    RaftMessage.fromPartial({ type, ...env, ...fields });
  const data = Buffer.from("x");
  const cases: [Message, RaftMessage][] = [
    [
      { ...env, type: "vote", lastLogIndex: 5, lastLogTerm: 4, transfer: false },
      wire(MessageType.MESSAGE_TYPE_VOTE, { index: 5, logTerm: 4 }),
    ],
    [
      { ...env, type: "vote", lastLogIndex: 5, lastLogTerm: 4, transfer: true },
      wire(MessageType.MESSAGE_TYPE_VOTE, { index: 5, logTerm: 4, context: 1 }),
    ],
    [
      { ...env, type: "timeoutNow", commit: 7 },
      wire(MessageType.MESSAGE_TYPE_TIMEOUT_NOW, { commit: 7 }),
    ],
    [
      { ...env, type: "preVoteResp", reject: true },
      wire(MessageType.MESSAGE_TYPE_PRE_VOTE_RESP, { reject: true }),
    ],
    [
      {
        ...env,
        type: "append",
        prevIndex: 6,
        prevTerm: 5,
        commit: 7,
        entries: [{ term: 8, index: 9, kind: EntryKind.Normal, data }],
      },
      wire(MessageType.MESSAGE_TYPE_APPEND, {
        index: 6,
        logTerm: 5,
        commit: 7,
        entries: [{ term: 8, index: 9, kind: EntryKind.Normal, data }],
      }),
    ],
    [
      { ...env, type: "appendResp", reject: true, index: 10, rejectHint: 11, hintTerm: 12 },
      wire(MessageType.MESSAGE_TYPE_APPEND_RESP, {
        reject: true,
        index: 10,
        rejectHint: 11,
        logTerm: 12,
      }),
    ],
    [
      { ...env, type: "heartbeat", commit: 13, context: 14 },
      wire(MessageType.MESSAGE_TYPE_HEARTBEAT, { commit: 13, context: 14 }),
    ],
    [
      { ...env, type: "heartbeatResp", context: 15 },
      wire(MessageType.MESSAGE_TYPE_HEARTBEAT_RESP, { context: 15 }),
    ],
    [
      { ...env, type: "snapshot", snapshot: { index: 16, term: 17 } },
      wire(MessageType.MESSAGE_TYPE_SNAPSHOT, { index: 16, logTerm: 17 }),
    ],
  ];
  for (const [core, expected] of cases) assert.deepEqual(toWire(core), expected, core.type);
});

test("a message type this version does not know decodes as null (ignored, like a loss)", () => {
  const unknown = {
    ...toWire(randomMessage("heartbeat", seededRandom(7))),
    type: 99 as MessageType,
  };
  assert.equal(fromWire(unknown), null);
});

test("a received entry keeps the decoder's own buffer: no second copy of its bytes", () => {
  const data = Buffer.alloc(1024 * 1024, 7);
  const sent: Message = {
    type: "append",
    from: 1,
    to: 2,
    term: 3,
    prevIndex: 4,
    prevTerm: 3,
    commit: 4,
    entries: [{ term: 3, index: 5, kind: EntryKind.Normal, data }],
  };
  const batch = { clusterId: "c", from: 1, to: 2, messages: [toWire(sent)], identity: "" };
  const decoded = MessageBatch.decode(encodeMessageBatch(batch)).messages[0];
  const wireData = decoded?.entries[0]?.data;
  assert.ok(wireData !== undefined);
  // What makes sharing safe: the decoder's bytes own their memory (not a view of the batch).
  assert.equal(wireData.byteLength, wireData.buffer.byteLength);
  const got = decoded === undefined ? null : fromWire(decoded);
  assert.ok(got?.type === "append");
  const entry = got.entries[0];
  assert.ok(entry !== undefined);
  assert.equal(entry.data.buffer, wireData.buffer, "the entry's bytes were copied again");
  assert.deepEqual(Buffer.from(entry.data), data);
});

test("a received entry that is a view into a larger buffer gets bytes of its own", () => {
  const whole = Buffer.alloc(64 * 1024, 1);
  const view = whole.subarray(1024, 2048);
  const wire = RaftMessage.fromPartial({
    type: MessageType.MESSAGE_TYPE_APPEND,
    from: 1,
    to: 2,
    term: 3,
    entries: [{ term: 3, index: 5, kind: EntryKind.Normal, data: view }],
  });
  const got = fromWire(wire);
  assert.ok(got?.type === "append");
  const data = got.entries[0]?.data;
  assert.ok(data !== undefined);
  assert.notEqual(data.buffer, whole.buffer, "the entry keeps the whole batch alive");
  assert.equal(data.byteLength, 1024);
  assert.deepEqual(Buffer.from(data), view);
});
