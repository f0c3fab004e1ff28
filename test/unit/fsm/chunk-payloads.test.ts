import assert from "node:assert/strict";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import {
  entryLogicalBytes,
  rehydrateChunkEntry,
  StoredFormError,
  splitChunkEntry,
  storedChunkOf,
} from "../../../src/fsm/chunk-payloads.ts";
import { decodeCommand, encodeCommand } from "../../../src/fsm/commands.ts";
import { Command } from "../../../src/gen/command.ts";
import { type Entry, EntryKind } from "../../../src/raft/index.ts";
import { isStoredChunkPayload, scanChunkPayload } from "../../../src/wire/index.ts";

const ID = "0123456789abcdef0123456789abcdef";
const MiB = 1024 * 1024;

function entry(data: Uint8Array, kind = EntryKind.Normal): Entry {
  return { term: 3, index: 17, kind, data };
}

function chunk(seq: number, data: Uint8Array, uploadId = ID): Entry {
  return entry(
    encodeCommand({
      op: "upload_chunk",
      uploadId,
      seq,
      data,
      session: { clientId: "c", sequence: 9, firstIncomplete: 8 },
      caller: { user: "ann", generation: 2 },
      timeMs: 1_700_000_000_000,
    }),
  );
}

test("a full chunk splits into its blob write and a stored form that names it", () => {
  const data = Buffer.alloc(MiB, 0x5a);
  const full = chunk(3, data);
  const split = splitChunkEntry(full);
  assert.ok(split !== null);
  assert.equal(split.blob, ID);
  assert.equal(split.offset, 3 * MiB);
  assert.deepEqual(split.data, data);
  assert.equal(split.data.buffer, full.data.buffer, "the write is a view, not a copy");
  const { data: storedData, ...rest } = split.stored;
  assert.deepEqual(rest, { term: 3, index: 17, kind: EntryKind.Normal });
  assert.ok(storedData.length < 200, `stored form is ${storedData.length} bytes`);
  const decoded = decodeCommand(storedData);
  assert.ok(decoded?.op === "upload_chunk");
  assert.equal(decoded.data.length, 0);
  assert.deepEqual(decoded.stored, { length: MiB, crc32: crc32(data) });
  const original = decodeCommand(full.data);
  assert.deepEqual(
    { ...decoded, data: null, stored: null },
    { ...original, data: null, stored: null },
  );
  assert.ok(isStoredChunkPayload(storedData));
  assert.ok(!isStoredChunkPayload(full.data));
  assert.deepEqual(storedChunkOf(split.stored), {
    blob: ID,
    offset: 3 * MiB,
    length: MiB,
    crc32: crc32(data),
  });
  assert.equal(storedChunkOf(full), null);
});

test("rehydrating the stored form with its bytes gives back the entry byte for byte", () => {
  for (const size of [1, 127, 128, 1000, MiB]) {
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 101) data[i] = i % 251;
    const full = chunk(size % 7, data);
    const split = splitChunkEntry(full);
    assert.ok(split !== null);
    const back = rehydrateChunkEntry(split.stored, Buffer.from(data));
    assert.deepEqual(back, full, `size ${size}`);
  }
});

test("rehydrating with bytes that are not the chunk's throws", () => {
  const split = splitChunkEntry(chunk(0, Buffer.from("hello")));
  assert.ok(split !== null);
  assert.throws(() => rehydrateChunkEntry(split.stored, Buffer.from("hellO")), /CRC/);
  assert.throws(() => rehydrateChunkEntry(split.stored, Buffer.from("hell")), /4 bytes/);
  assert.throws(
    () => rehydrateChunkEntry(chunk(0, Buffer.from("x")), Buffer.from("x")),
    /not a stored/,
  );
});

test("entries that are not full chunks at a valid place are left alone", () => {
  const put = encodeCommand({ op: "put", key: "k", value: Buffer.alloc(100) });
  assert.equal(splitChunkEntry(entry(put)), null);
  assert.equal(splitChunkEntry(entry(chunk(0, Buffer.from("x")).data, EntryKind.Noop)), null);
  assert.equal(splitChunkEntry(entry(chunk(0, Buffer.from("x")).data, EntryKind.Config)), null);
  assert.equal(splitChunkEntry(entry(new Uint8Array([0xff, 0xff]))), null, "not a command");
  assert.equal(splitChunkEntry(chunk(0, Buffer.from("x"), "../../etc/passwd")), null);
  assert.equal(splitChunkEntry(chunk(0, Buffer.from("x"), ID.toUpperCase())), null);
  assert.equal(splitChunkEntry(chunk(0, Buffer.alloc(0))), null, "an empty chunk has no bytes");
  assert.equal(splitChunkEntry(chunk(0, Buffer.alloc(MiB + 1))), null, "over the chunk size");
});

test("splitting an entry already in the stored form is refused", () => {
  const split = splitChunkEntry(chunk(1, Buffer.from("abc")));
  assert.ok(split !== null);
  assert.throws(() => splitChunkEntry(split.stored), StoredFormError);
});

test("a chunk the generated encoder wrote in another field order splits and rehydrates", () => {
  const data = Buffer.from("generated order");
  const op = Command.encode(
    Command.fromPartial({ uploadChunk: { uploadId: ID, seq: 2, data } }),
  ).finish();
  const time = Command.encode(Command.fromPartial({ timeMs: 42 })).finish();
  const odd = entry(Buffer.concat([time, op])); // time first: kept in front of the op
  assert.equal(scanChunkPayload(odd.data).kind, "chunk");
  const split = splitChunkEntry(odd);
  assert.ok(split !== null);
  assert.deepEqual(split.data, data);
  const back = rehydrateChunkEntry(split.stored, data);
  assert.deepEqual(decodeCommand(back.data), decodeCommand(odd.data));
  // Two chunk fields merge in the generated decoder: the scan defers to it.
  const twice = entry(Buffer.concat([op, op]));
  assert.equal(scanChunkPayload(twice.data).kind, "unclear");
  const merged = splitChunkEntry(twice);
  assert.ok(merged !== null);
  assert.deepEqual(decodeCommand(merged.stored.data)?.op, "upload_chunk");
});

test("a put and a chunk in one payload is a put, as the decoder says", () => {
  const both = Command.encode(
    Command.fromPartial({
      put: { key: "k", value: Buffer.from("v") },
      uploadChunk: { uploadId: ID, seq: 0, data: Buffer.from("x") },
    }),
  ).finish();
  assert.equal(decodeCommand(both)?.op, "put");
  assert.equal(scanChunkPayload(both).kind, "none");
  assert.equal(splitChunkEntry(entry(both)), null);
});

test("an entry's logical size counts a stored chunk's bytes", () => {
  const full = chunk(0, Buffer.alloc(5000));
  const split = splitChunkEntry(full);
  assert.ok(split !== null);
  assert.equal(entryLogicalBytes(full), full.data.length);
  assert.equal(entryLogicalBytes(split.stored), 5000);
  assert.equal(entryLogicalBytes(entry(new Uint8Array(7))), 7);
});
