/**
 * The HARDSTATE file's rules (src/storage/hard-state-file.ts) one at a time, on the file
 * and its functions directly: the slot codec, which slot a write goes to, what open
 * accepts as an intact slot, and how its copy and the WAL's hard state are reconciled.
 * The WAL-level tests (hard-state-file.test.ts) reach these only through elections and
 * damaged files, so boundaries (seq 0, a value past 2^53, a file one byte short, a vote
 * of 0) and the wording of the corruption reports were not pinned.
 */
import assert from "node:assert/strict";
import { type FileHandle, open, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import {
  decodeSlot,
  encodeSlot,
  HARD_STATE_FILE,
  HardStateFile,
  reconcileHardState,
  SLOT_BYTES,
  SLOT_DATA_BYTES,
} from "../../../src/storage/hard-state-file.ts";
import { WalCorruptionError } from "../../../src/storage/wal-errors.ts";
import { tempDir } from "./fixtures.ts";

const SLOT = 4096;
const DATA = 32;

/** A slot built from the documented layout, not by the code under test. */
function slot(seq: number, term: number, vote: number): Buffer {
  const buf = Buffer.alloc(DATA);
  buf.write("DFSH", 0, "latin1");
  for (const [at, value] of [
    [8, seq],
    [16, term],
    [24, vote],
  ] as const) {
    buf.writeUInt32LE(value % 2 ** 32, at);
    buf.writeUInt32LE(Math.floor(value / 2 ** 32), at + 4);
  }
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

/** A HARDSTATE file of two blocks holding `slot0` and `slot1` (null: zeros). */
async function writeSlots(
  dir: string,
  slot0: Buffer | null,
  slot1: Buffer | null,
  size = 2 * SLOT,
) {
  const buf = Buffer.alloc(size);
  slot0?.copy(buf, 0);
  slot1?.copy(buf, SLOT);
  await writeFile(join(dir, HARD_STATE_FILE), buf);
}

function corruption(fn: () => unknown, offset: number, reason: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WalCorruptionError, String(err));
    assert.equal(err.reason, reason);
    assert.equal(err.offset, offset);
    return true;
  });
}

test("the documented sizes: two 4 KiB blocks, 32 bytes of data per slot", () => {
  assert.equal(SLOT_BYTES, SLOT);
  assert.equal(SLOT_DATA_BYTES, DATA);
  assert.equal(HARD_STATE_FILE, "HARDSTATE");
});

test("a slot is magic DFSH, crc32 of the rest, then seq, term, vote as u64", () => {
  const big = 2 ** 40 + 5;
  assert.deepEqual(encodeSlot({ seq: 7, term: big, vote: 3 }), slot(7, big, 3));
  assert.deepEqual(decodeSlot(slot(7, big, 3)), { seq: 7, term: big, vote: 3 });
  assert.deepEqual(decodeSlot(slot(0, 0, 0)), { seq: 0, term: 0, vote: 0 });
  const max = Number.MAX_SAFE_INTEGER;
  assert.deepEqual(decodeSlot(encodeSlot({ seq: max, term: max, vote: max })), {
    seq: max,
    term: max,
    vote: max,
  });
});

test("decoding reads the first 32 bytes only: what follows in the block is ignored", () => {
  const block = Buffer.alloc(64, 0xee);
  slot(2, 3, 4).copy(block, 0);
  assert.deepEqual(decodeSlot(block), { seq: 2, term: 3, vote: 4 });
});

test("a slot is refused when short, or its magic, checksum or any value is wrong", () => {
  const good = slot(2, 3, 4);
  assert.equal(decodeSlot(good.subarray(0, DATA - 1)), null);
  assert.equal(decodeSlot(Buffer.alloc(0)), null);
  for (const at of [0, 3, 4, 7, 8, 20, 31]) {
    const bad = Buffer.from(good);
    bad[at] = (bad[at] as number) ^ 1;
    assert.equal(decodeSlot(bad), null, `byte ${at} flipped`);
  }
  // a value past 2^53 with a matching checksum: unsafe, refused, in each field
  for (const at of [8, 16, 24]) {
    const bad = Buffer.from(good);
    bad.writeUInt32LE(0x0020_0000, at + 4);
    bad.writeUInt32LE(crc32(bad.subarray(8)), 4);
    assert.equal(decodeSlot(bad), null, `field at ${at} past 2^53`);
  }
});

test("open of a missing file creates both slots from the initial term and vote", async (t) => {
  const dir = await tempDir(t);
  const { file, copies } = await HardStateFile.open(dir, { term: 5, vote: 2, commit: 9 });
  await file.close();
  assert.equal(file.path, join(dir, HARD_STATE_FILE));
  assert.deepEqual(copies, { newest: { seq: 1, term: 5, vote: 2 }, badSlots: [] });
  assert.deepEqual(file.current, { seq: 1, term: 5, vote: 2 });
  const buf = await readFile(join(dir, HARD_STATE_FILE));
  assert.equal(buf.length, 2 * SLOT);
  assert.deepEqual(buf.subarray(0, DATA), slot(0, 5, 2));
  assert.deepEqual(buf.subarray(SLOT, SLOT + DATA), slot(1, 5, 2));
  assert.equal((await stat(join(dir, HARD_STATE_FILE))).mode & 0o777, 0o600);
});

test("writes alternate slots by seq, each leaving the other slot as it was", async (t) => {
  const dir = await tempDir(t);
  const { file } = await HardStateFile.open(dir, { term: 1, vote: 0, commit: 0 });
  await file.write(2, 3); // seq 2: slot 0
  assert.deepEqual(file.current, { seq: 2, term: 2, vote: 3 });
  let buf = await readFile(join(dir, HARD_STATE_FILE));
  assert.deepEqual(buf.subarray(0, DATA), slot(2, 2, 3));
  assert.deepEqual(buf.subarray(SLOT, SLOT + DATA), slot(1, 1, 0));
  await file.write(2 ** 33, 1); // seq 3: slot 1
  buf = await readFile(join(dir, HARD_STATE_FILE));
  assert.deepEqual(buf.subarray(0, DATA), slot(2, 2, 3));
  assert.deepEqual(buf.subarray(SLOT, SLOT + DATA), slot(3, 2 ** 33, 1));
  assert.equal(buf.length, 2 * SLOT);
  await file.close();
  const again = await HardStateFile.open(dir, { term: 0, vote: 0, commit: 0 });
  await again.file.close();
  assert.deepEqual(again.copies, { newest: { seq: 3, term: 2 ** 33, vote: 1 }, badSlots: [] });
});

test("a short write continues where it stopped; a write of nothing fails and changes nothing", async (t) => {
  const dir = await tempDir(t);
  const { file } = await HardStateFile.open(dir, { term: 1, vote: 0, commit: 0 });
  const proto = Object.getPrototypeOf(await handleOf(dir)) as FileHandle;
  const original = proto.write as (
    this: FileHandle,
    data: Buffer,
    offset: number,
    length: number,
    position: number,
  ) => Promise<{ bytesWritten: number }>;
  const calls: number[] = [];
  t.mock.method(proto, "write", function (this: FileHandle, ...args: unknown[]) {
    const [data, offset, length, position] = args as [Buffer, number, number, number];
    calls.push(position);
    return original.call(this, data, offset, Math.min(length, 5), position);
  });
  await file.write(4, 4); // seq 2: slot 0, in 7 writes of at most 5 bytes
  t.mock.restoreAll();
  assert.deepEqual(calls, [0, 5, 10, 15, 20, 25, 30]);
  const buf = await readFile(join(dir, HARD_STATE_FILE));
  assert.deepEqual(buf.subarray(0, DATA), slot(2, 4, 4));

  t.mock.method(proto, "write", async () => ({ bytesWritten: 0, buffer: Buffer.alloc(0) }));
  await assert.rejects(file.write(5, 5), { message: "write of HARDSTATE wrote 0" });
  t.mock.restoreAll();
  assert.deepEqual(file.current, { seq: 2, term: 4, vote: 4 });
  await file.close();
});

/** Some open FileHandle (closed when the test ends), to reach the shared prototype. */
async function handleOf(dir: string): Promise<FileHandle> {
  const handle = await open(join(dir, HARD_STATE_FILE), "r");
  await handle.close();
  return handle;
}

test("open: the newest intact slot wins; a slot at the wrong position for its seq is bad", async (t) => {
  const dir = await tempDir(t);
  const read = async () => {
    const { file, copies } = await HardStateFile.open(dir, { term: 0, vote: 0, commit: 0 });
    await file.close();
    return { copies, current: file.current };
  };
  await writeSlots(dir, slot(4, 6, 1), slot(3, 5, 1));
  assert.deepEqual((await read()).copies, { newest: { seq: 4, term: 6, vote: 1 }, badSlots: [] });
  await writeSlots(dir, slot(4, 6, 1), slot(5, 7, 2));
  assert.deepEqual((await read()).copies, { newest: { seq: 5, term: 7, vote: 2 }, badSlots: [] });
  // slot 0 holds odd seq 5: a copy in the wrong block, not trusted
  await writeSlots(dir, slot(5, 7, 2), slot(3, 5, 1));
  assert.deepEqual((await read()).copies, { newest: { seq: 3, term: 5, vote: 1 }, badSlots: [0] });
  await writeSlots(dir, slot(4, 6, 1), slot(4, 6, 1));
  assert.deepEqual((await read()).copies, { newest: { seq: 4, term: 6, vote: 1 }, badSlots: [1] });
  await writeSlots(dir, slot(4, 6, 1), null);
  assert.deepEqual((await read()).copies, { newest: { seq: 4, term: 6, vote: 1 }, badSlots: [1] });
  await writeSlots(dir, null, slot(1, 1, 1));
  assert.deepEqual((await read()).copies, { newest: { seq: 1, term: 1, vote: 1 }, badSlots: [0] });
  // neither intact: nothing newest, and writing starts over at seq 1 (slot 1)
  await writeSlots(dir, null, null);
  const none = await read();
  assert.deepEqual(none.copies, { newest: null, badSlots: [0, 1] });
  assert.deepEqual(none.current, { seq: 0, term: 0, vote: 0 });
});

test("open: a file ending inside the second slot's data is corrupt; at its end it is whole", async (t) => {
  const dir = await tempDir(t);
  await writeSlots(dir, slot(2, 3, 1), slot(1, 2, 1), SLOT + DATA);
  const { file, copies } = await HardStateFile.open(dir, { term: 0, vote: 0, commit: 0 });
  await file.close();
  assert.deepEqual(copies, { newest: { seq: 2, term: 3, vote: 1 }, badSlots: [] });
  await writeSlots(dir, slot(2, 3, 1), slot(1, 2, 1), SLOT + DATA - 1);
  await assert.rejects(HardStateFile.open(dir, { term: 0, vote: 0, commit: 0 }), (err) => {
    assert.ok(err instanceof WalCorruptionError);
    assert.equal(err.file, join(dir, HARD_STATE_FILE));
    assert.equal(err.offset, SLOT + DATA - 1);
    assert.equal(err.reason, `only ${SLOT + DATA - 1} bytes, shorter than two slots`);
    return true;
  });
});

test("reconcile: a newer or equal file copy wins, keeping the WAL's commit", () => {
  const copies = (term: number, vote: number) => ({ newest: { seq: 9, term, vote }, badSlots: [] });
  const wal = { term: 4, vote: 2, commit: 17 };
  assert.deepEqual(reconcileHardState("p", copies(5, 1), wal), { term: 5, vote: 1, commit: 17 });
  assert.deepEqual(reconcileHardState("p", copies(4, 2), wal), { term: 4, vote: 2, commit: 17 });
  // the WAL has not recorded a vote in this term yet, the file has
  const noVote = { term: 4, vote: 0, commit: 3 };
  assert.deepEqual(reconcileHardState("p", copies(4, 2), noVote), { term: 4, vote: 2, commit: 3 });
});

test("reconcile: a file copy older than the WAL is corruption, saying which slots were bad", () => {
  const wal = { term: 4, vote: 2, commit: 17 };
  const older =
    "its newest intact copy says term 3 vote 2, older than the WAL's term 4 vote 2, which is written after it";
  corruption(
    () => reconcileHardState("p", { newest: { seq: 1, term: 3, vote: 2 }, badSlots: [] }, wal),
    0,
    `${older} (was the file replaced by an older copy?)`,
  );
  corruption(
    () => reconcileHardState("p", { newest: { seq: 1, term: 3, vote: 2 }, badSlots: [1] }, wal),
    SLOT,
    `${older} (damaged: slot at byte ${SLOT})`,
  );
  corruption(
    () => reconcileHardState("p", { newest: { seq: 1, term: 3, vote: 2 }, badSlots: [0, 1] }, wal),
    0,
    `${older} (damaged: slot at byte 0, slot at byte ${SLOT})`,
  );
  // same term, another vote (or none) in the file while the WAL has one: older too
  for (const vote of [1, 0]) {
    assert.throws(
      () => reconcileHardState("p", { newest: { seq: 1, term: 4, vote }, badSlots: [] }, wal),
      WalCorruptionError,
    );
  }
});

test("reconcile: no intact copy at all is corruption at offset 0", () => {
  corruption(
    () =>
      reconcileHardState("p", { newest: null, badSlots: [0, 1] }, { term: 0, vote: 0, commit: 0 }),
    0,
    "both copies of the term and vote fail their checksums",
  );
});
