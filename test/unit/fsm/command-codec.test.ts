/**
 * The command codec (src/fsm/commands.ts): every operation, with and without each
 * optional field, decodes to exactly the command that was encoded, including the edge
 * values a careless codec turns into "absent" (a compare-and-set on version 0, a time of
 * 0, an empty metadata map) and bytes that are a view into a larger buffer. The encoder
 * tests cover puts and chunks only (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { FsmCommand } from "../../../src/fsm/command-types.ts";
import { decodeCommand, encodeCommand, hasMetadata } from "../../../src/fsm/commands.ts";
import { Command } from "../../../src/gen/command.ts";

/** Decoded form with bytes as plain arrays, so Buffer and Uint8Array compare equal. */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v) =>
      v instanceof Uint8Array || (v && v.type === "Buffer") ? [...Buffer.from(v.data ?? v)] : v,
    ),
  );
}

function roundTrip(command: FsmCommand): FsmCommand {
  const back = decodeCommand(encodeCommand(command));
  assert.ok(back !== null, `${command.op} decodes`);
  return back;
}

/** `text` as a view in the middle of a larger buffer (byteOffset > 0). */
function view(text: string): Uint8Array {
  const whole = Buffer.from(`<<<${text}>>>`);
  return new Uint8Array(whole.buffer, whole.byteOffset + 3, text.length);
}

const session = { clientId: "c", sequence: 7, firstIncomplete: 5 };
const caller = { user: "alice", generation: 3 };

describe("command codec", () => {
  const cases: FsmCommand[] = [
    { op: "put", key: "k", value: Buffer.from("v"), timeMs: 5 },
    { op: "put", key: "k", value: Buffer.from("v"), ifVersion: 0, timeMs: 5 },
    { op: "put", key: "k", value: Buffer.from("v"), metadata: { a: "1" }, timeMs: 5 },
    {
      op: "put",
      key: "k",
      value: Buffer.from("v"),
      ifVersion: 4,
      metadata: { a: "1", b: "" },
      session,
      caller,
      timeMs: 9,
    },
    { op: "delete", key: "d", session, caller, timeMs: 11 },
    { op: "delete", key: "d", timeMs: 0 },
    { op: "upload_chunk", uploadId: "u", seq: 2, data: Buffer.from("abc"), timeMs: 1 },
    {
      op: "upload_chunk",
      uploadId: "u",
      seq: 0,
      data: Buffer.alloc(0),
      stored: { length: 10, crc32: 77 },
      caller,
      timeMs: 1,
    },
    {
      op: "commit_upload",
      uploadId: "u",
      key: "f",
      size: 10,
      sha256: Buffer.alloc(32, 7),
      chunks: 2,
      timeMs: 3,
    },
    {
      op: "commit_upload",
      uploadId: "u",
      key: "f",
      size: 10,
      sha256: Buffer.alloc(32, 7),
      chunks: 2,
      ifVersion: 0,
      metadata: { x: "y" },
      session,
      caller,
      timeMs: 3,
    },
    { op: "abort_upload", uploadId: "u", timeMs: 4 },
    { op: "abort_upload", uploadId: "u", caller, session, timeMs: 4 },
    { op: "delete_prefix", prefix: "p", timeMs: 6 },
    { op: "delete_prefix", prefix: "p", caller, session, timeMs: 6 },
    { op: "auth", auth: { userDelete: { name: "bob" } }, caller, timeMs: 8 },
  ];
  for (const command of cases) {
    const fields = Object.keys(command).join(",");
    it(`${command.op} {${fields}} decodes to the same command`, () => {
      const back = roundTrip(command);
      if (command.op === "auth" && back.op === "auth") {
        // the decoder fills every unset member of the AuthOp with undefined
        assert.deepEqual(back.auth.userDelete, { name: "bob" });
        assert.deepEqual({ ...back, auth: null }, { ...command, auth: null });
        return;
      }
      assert.deepEqual(plain(back), plain(command));
      assert.deepEqual(Object.keys(back).sort(), Object.keys(command).sort(), "no other field");
    });
  }

  it("a command without a time is decoded with time 0", () => {
    const back = roundTrip({ op: "delete", key: "d" });
    assert.deepEqual(plain(back), { op: "delete", key: "d", timeMs: 0 });
    assert.deepEqual(Object.keys(back).sort(), ["key", "op", "timeMs"]);
  });

  it("an empty metadata map is absent after decoding, as in a command of before", () => {
    for (const command of [
      { op: "put", key: "k", value: Buffer.from("v"), metadata: {} },
      {
        op: "commit_upload",
        uploadId: "u",
        key: "k",
        size: 0,
        sha256: Buffer.alloc(32),
        chunks: 0,
        metadata: {},
      },
    ] as FsmCommand[]) {
      const back = roundTrip(command);
      assert.equal("metadata" in back, false, command.op);
    }
  });

  it("bytes given as a view into a larger buffer are encoded as the view's bytes", () => {
    const put = roundTrip({ op: "put", key: "k", value: view("hello"), metadata: { m: "1" } });
    assert.equal(Buffer.from((put as { value: Uint8Array }).value).toString(), "hello");
    const chunk = roundTrip({ op: "upload_chunk", uploadId: "u", seq: 0, data: view("abc") });
    assert.equal(Buffer.from((chunk as { data: Uint8Array }).data).toString(), "abc");
    const commit = roundTrip({
      op: "commit_upload",
      uploadId: "u",
      key: "k",
      size: 1,
      sha256: view("0123456789abcdef0123456789abcdef"),
      chunks: 1,
    });
    assert.equal(
      Buffer.from((commit as { sha256: Uint8Array }).sha256).toString(),
      "0123456789abcdef0123456789abcdef",
    );
  });

  it("a Command without an operation, or bytes that are no Command, decode to null", () => {
    assert.equal(decodeCommand(Command.encode(Command.fromPartial({ timeMs: 5 })).finish()), null);
    assert.equal(decodeCommand(new Uint8Array([0xff, 0xff, 0xff, 0xff])), null);
  });

  it("each operation is the only one set in its encoding", () => {
    const ops = [
      "put",
      "delete",
      "uploadChunk",
      "commitUpload",
      "abortUpload",
      "deletePrefix",
      "auth",
    ];
    for (const command of cases) {
      const decoded = Command.decode(encodeCommand(command));
      const set = ops.filter((op) => decoded[op as keyof Command] !== undefined);
      assert.equal(set.length, 1, `${command.op}: ${set.join(",")}`);
    }
  });

  it("hasMetadata: only a map with an entry", () => {
    assert.equal(hasMetadata(undefined), false);
    assert.equal(hasMetadata({}), false);
    assert.equal(hasMetadata({ a: "" }), true);
  });
});
