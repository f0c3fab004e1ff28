/**
 * The term and vote are never taken back: a bit flip in the WAL's last record (the hard
 * state) or a torn write of either copy brings the node back with the term and vote it
 * may have acted on, or refuses to start naming the damaged file; never an older one.
 * Offsets come from the documented layouts (wal-record.ts, hard-state-file.ts).
 */
import assert from "node:assert/strict";
import { copyFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { HardState } from "../../../src/raft/types.ts";
import { Wal, WalCorruptionError } from "../../../src/storage/index.ts";
import { entry, HARD_STATE_RECORD, tempDir } from "./fixtures.ts";

const SEG0 = "0000000000000000.wal";
const HARDSTATE = "HARDSTATE";
/** Each of the two slots starts a 4 KiB block; a slot's data is 32 bytes. */
const SLOT = 4096;
const SLOT_DATA = 32;

const OLD: HardState = { term: 3, vote: 2, commit: 1 };
const NEW: HardState = { term: 4, vote: 1, commit: 2 };

/**
 * A WAL whose last save moved from term 3 (vote 2) to term 4 (vote 1): entries 1..2 then
 * the new hard state as the last record. Returns where that record starts.
 */
async function electedLog(dir: string): Promise<number> {
  const { wal } = await Wal.open(dir);
  await wal.save([entry(1, 3, 12)], OLD);
  await wal.save([entry(2, 4, 12)], NEW);
  await wal.close();
  return (await stat(join(dir, SEG0))).size - HARD_STATE_RECORD;
}

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir);
  await wal.close();
  return contents;
}

/** The term and vote a reopen gives, or the corruption error it throws. */
async function outcome(dir: string): Promise<{ term: number; vote: number } | WalCorruptionError> {
  try {
    const { hardState } = await reopen(dir);
    return { term: hardState.term, vote: hardState.vote };
  } catch (err) {
    if (err instanceof WalCorruptionError) return err;
    throw err;
  }
}

test("HARDSTATE holds two slots in separate 4 KiB blocks; a vote change writes the other one", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir);
  const file = await readFile(join(dir, HARDSTATE));
  assert.equal(file.length, 2 * SLOT);
  const slot = (i: number) => file.subarray(i * SLOT, i * SLOT + SLOT_DATA);
  const u64 = (b: Buffer, at: number) => b.readUInt32LE(at) + b.readUInt32LE(at + 4) * 2 ** 32;
  // created with seq 0/1 holding term 0; then (3,2) as seq 2 and (4,1) as seq 3
  assert.deepEqual([u64(slot(0), 8), u64(slot(0), 16), u64(slot(0), 24)], [2, 3, 2]);
  assert.deepEqual([u64(slot(1), 8), u64(slot(1), 16), u64(slot(1), 24)], [3, 4, 1]);
  assert.equal(slot(0).readUInt32LE(0), 0x48534644, "magic");
});

test("a save that only moves the commit index does not write HARDSTATE", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir);
  const before = await readFile(join(dir, HARDSTATE));
  const { wal } = await Wal.open(dir);
  await wal.save([entry(3, 4, 5)], { ...NEW, commit: 3 });
  await wal.close();
  assert.deepEqual(await readFile(join(dir, HARDSTATE)), before);
  assert.deepEqual((await reopen(dir)).hardState, { ...NEW, commit: 3 });
});

test("every byte of the last WAL record (the hard state) flipped: never an older term or vote", async (t) => {
  const dir = await tempDir(t);
  const start = await electedLog(dir);
  const pristine = join(dir, "pristine");
  await copyFile(join(dir, SEG0), pristine);
  for (let i = 0; i < HARD_STATE_RECORD; i++) {
    for (const bit of [0, 7]) {
      const buf = await readFile(pristine);
      buf[start + i] = (buf[start + i] as number) ^ (1 << bit);
      await writeFile(join(dir, SEG0), buf);
      const got = await outcome(dir);
      const label = `byte ${i} bit ${bit}`;
      if (got instanceof WalCorruptionError) assert.ok(got.file.endsWith(SEG0), label);
      else assert.deepEqual(got, { term: NEW.term, vote: NEW.vote }, label);
    }
  }
});

test("a torn last write of any length: the node comes back with the old or the new vote, whole", async (t) => {
  const dir = await tempDir(t);
  const start = await electedLog(dir);
  const full = await readFile(join(dir, SEG0));
  const lastWriteStart = start - (9 + 17 + 12); // the last save: entry 2's record, then the hard state
  for (let cut = lastWriteStart; cut < full.length; cut++) {
    await writeFile(join(dir, SEG0), full.subarray(0, cut));
    const got = await outcome(dir);
    // HARDSTATE was synced before the WAL write began, so the new vote survives the tear.
    assert.deepEqual(got, { term: NEW.term, vote: NEW.vote }, `cut at ${cut}`);
  }
});

test("a torn HARDSTATE slot write (crash before the WAL write): the old vote, no error", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save([entry(1, 3, 12)], OLD); // seq 2 -> slot 0
  await wal.close();
  const file = await readFile(join(dir, HARDSTATE));
  // The next write (seq 3, term 4) goes to slot 1; tear it at every length, with zeros or
  // with the new bytes' prefix over the old slot's bytes.
  const next = Buffer.from(file.subarray(SLOT, SLOT + SLOT_DATA));
  next.writeUInt32LE(3, 8);
  next.writeUInt32LE(4, 16);
  for (let cut = 0; cut < SLOT_DATA; cut++) {
    for (const filler of ["zeros", "stale"]) {
      const torn = Buffer.from(file);
      next.copy(torn, SLOT, 0, cut);
      if (filler === "zeros") torn.fill(0, SLOT + cut, SLOT + SLOT_DATA);
      await writeFile(join(dir, HARDSTATE), torn);
      const got = await outcome(dir);
      assert.deepEqual(got, { term: OLD.term, vote: OLD.vote }, `cut ${cut} ${filler}`);
    }
  }
});

test("the newest HARDSTATE slot damaged after the WAL acknowledged it: corruption, named", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir); // newest slot is slot 1 (seq 3)
  for (let i = 0; i < SLOT_DATA; i++) {
    await electedLogCopy(dir);
    const buf = await readFile(join(dir, HARDSTATE));
    buf[SLOT + i] = (buf[SLOT + i] as number) ^ 0x10;
    await writeFile(join(dir, HARDSTATE), buf);
    const got = await outcome(dir);
    assert.ok(
      got instanceof WalCorruptionError,
      `byte ${i}: expected corruption, got ${JSON.stringify(got)}`,
    );
    assert.ok(got.file.endsWith(HARDSTATE), got.message);
    assert.equal(got.kind, "corrupt");
    assert.ok(got.message.includes("term 4 vote 1"), got.message);
  }
});

/** Resets `dir` to the freshly written elected log. */
async function electedLogCopy(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { force: true });
  await electedLog(dir);
}

test("the older HARDSTATE slot damaged: harmless (it may be a torn write), the vote is kept", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir);
  const buf = await readFile(join(dir, HARDSTATE));
  buf[20] = (buf[20] as number) ^ 1;
  await writeFile(join(dir, HARDSTATE), buf);
  assert.deepEqual(await outcome(dir), { term: NEW.term, vote: NEW.vote });
});

test("both HARDSTATE slots damaged, or the file cut short: corruption", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir);
  const buf = await readFile(join(dir, HARDSTATE));
  buf[9] = (buf[9] as number) ^ 1;
  buf[SLOT + 9] = (buf[SLOT + 9] as number) ^ 1;
  await writeFile(join(dir, HARDSTATE), buf);
  const got = await outcome(dir);
  assert.ok(got instanceof WalCorruptionError && got.message.includes("both copies"), String(got));
  await electedLogCopy(dir);
  await truncate(join(dir, HARDSTATE), 100);
  assert.ok((await outcome(dir)) instanceof WalCorruptionError);
});

test("a WAL from before HARDSTATE existed: the file is created from the WAL's hard state", async (t) => {
  const dir = await tempDir(t);
  await electedLog(dir);
  await rm(join(dir, HARDSTATE));
  assert.deepEqual(await outcome(dir), { term: NEW.term, vote: NEW.vote });
  assert.equal((await stat(join(dir, HARDSTATE))).size, 2 * SLOT);
  assert.equal((await stat(join(dir, HARDSTATE))).mode & 0o777, 0o600);
});
