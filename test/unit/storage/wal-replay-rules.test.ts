/**
 * Replay's rules (src/storage/wal-replay.ts) on segments written by hand from the
 * specification (fixtures.ts): where a log-start record continues the log and where it
 * starts it afresh, the floor below which an entry is corruption, what a repaired torn
 * tail reports, and the exact reason given for each kind of corruption. The WAL tests
 * write their segments through the WAL, which never produces most of these cases.
 */
import assert from "node:assert/strict";
import { appendFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { HardState } from "../../../src/raft/types.ts";
import { Wal, WalCorruptionError } from "../../../src/storage/index.ts";
import {
  ENTRY_FIXED,
  entry,
  hardStateRecord,
  logStartRecord,
  plain,
  record,
  segName,
  tempDir,
} from "./fixtures.ts";

const HS: HardState = { term: 3, vote: 1, commit: 0 };

/** An entry record (type 1) encoded from the specification, data as `entry()` makes it. */
function entryRecord(index: number, term: number): Buffer {
  const e = entry(index, term);
  const body = Buffer.alloc(ENTRY_FIXED + e.data.length);
  body.writeUInt32LE(term, 0);
  body.writeUInt32LE(index, 8);
  body.writeUInt8(e.kind, 16);
  body.set(e.data, ENTRY_FIXED);
  return record(1, body);
}

/** Segment `seq` of `dir`: a log-start record at (prevIndex, prevTerm), HS, then `rest`. */
async function writeSegment(
  dir: string,
  seq: number,
  prev: [number, number],
  ...rest: Buffer[]
): Promise<number> {
  const head = Buffer.concat([logStartRecord(prev[0], prev[1]), hardStateRecord(HS)]);
  await writeFile(join(dir, segName(seq)), Buffer.concat([head, ...rest]));
  return head.length;
}

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir);
  const tornTail = wal.tornTail;
  await wal.close();
  return { ...contents, tornTail };
}

async function corruption(dir: string): Promise<WalCorruptionError> {
  try {
    await reopen(dir);
  } catch (err) {
    if (err instanceof WalCorruptionError) return err;
    throw err;
  }
  assert.fail("expected a corruption error");
}

test("a log-start record at the log's end (same index and term) continues the log", async (t) => {
  const dir = await tempDir(t);
  await writeSegment(dir, 0, [0, 0], entryRecord(1, 1), entryRecord(2, 2));
  await writeSegment(dir, 1, [2, 2], entryRecord(3, 2));
  const got = await reopen(dir);
  assert.equal(got.offset, 0);
  assert.deepEqual(plain(got.entries), plain([entry(1, 1), entry(2, 2), entry(3, 2)]));
});

test("a log-start record at another index, or the same index in another term, starts afresh", async (t) => {
  for (const [prev, label] of [
    [[2, 1], "same index, other term"],
    [[1, 2], "other index, same term as the last entry"],
    [[7, 2], "beyond the log"],
  ] as const) {
    const dir = await tempDir(t);
    await writeSegment(dir, 0, [0, 0], entryRecord(1, 1), entryRecord(2, 2));
    await writeSegment(dir, 1, [prev[0], prev[1]], entryRecord(prev[0] + 1, 3));
    const got = await reopen(dir);
    assert.equal(got.offset, prev[0], label);
    assert.equal(got.offsetTerm, prev[1], label);
    assert.deepEqual(plain(got.entries), plain([entry(prev[0] + 1, 3)]), label);
  }
});

test("an empty log and a log-start at (0, 0): nothing dropped, offset 0", async (t) => {
  const dir = await tempDir(t);
  await writeSegment(dir, 0, [0, 0]);
  await writeSegment(dir, 1, [0, 0], entryRecord(1, 1));
  const got = await reopen(dir);
  assert.deepEqual([got.offset, got.offsetTerm], [0, 0]);
  assert.deepEqual(plain(got.entries), plain([entry(1, 1)]));
});

test("an entry may follow the compacted log at offset + 1; at the offset it is corruption", async (t) => {
  const ok = await tempDir(t);
  await writeSegment(ok, 0, [10, 2], entryRecord(11, 2), entryRecord(11, 3));
  const got = await reopen(ok);
  assert.deepEqual([got.offset, got.offsetTerm], [10, 2]);
  assert.deepEqual(plain(got.entries), plain([entry(11, 3)]), "a later 11 replaces the earlier");

  const bad = await tempDir(t);
  const at = await writeSegment(bad, 0, [10, 2], entryRecord(10, 2));
  const err = await corruption(bad);
  assert.equal(err.file, join(bad, segName(0)));
  assert.equal(err.offset, at);
  assert.equal(err.reason, "entry 10 overwrites the compacted log (which ends at 10)");
});

test("an entry two past the last is a gap, named with both indexes", async (t) => {
  const dir = await tempDir(t);
  const at = await writeSegment(dir, 0, [4, 1], entryRecord(5, 1), entryRecord(7, 1));
  const err = await corruption(dir);
  assert.equal(err.offset, at + entryRecord(5, 1).length);
  assert.equal(err.reason, "gap in the log: entry 7 after 5");
});

test("a missing segment is named, reported at the start of the one after it", async (t) => {
  const dir = await tempDir(t);
  await writeSegment(dir, 0, [0, 0], entryRecord(1, 1));
  await writeSegment(dir, 2, [1, 1], entryRecord(2, 1));
  await writeSegment(dir, 3, [2, 1]);
  const err = await corruption(dir);
  assert.equal(err.file, join(dir, segName(2)));
  assert.equal(err.offset, 0);
  assert.equal(err.reason, `segment ${segName(1)} is missing`);
});

test("an unreadable record: the reason says why it is not a torn write", async (t) => {
  const last = await tempDir(t);
  const bad = entryRecord(2, 1);
  bad[bad.length - 1] = (bad[bad.length - 1] ?? 0) ^ 1;
  const at = await writeSegment(last, 0, [0, 0], entryRecord(1, 1), bad, entryRecord(3, 1));
  let err = await corruption(last);
  assert.equal(err.offset, at + entryRecord(1, 1).length);
  assert.equal(err.reason, "checksum mismatch, and data follows it, so it is not a torn write");

  const earlier = await tempDir(t);
  await writeSegment(earlier, 0, [0, 0], entryRecord(1, 1), bad);
  await writeSegment(earlier, 1, [2, 1], entryRecord(3, 1));
  err = await corruption(earlier);
  assert.equal(err.file, join(earlier, segName(0)));
  assert.equal(
    err.reason,
    "checksum mismatch in a segment that is not the last, so it is not a torn write",
  );
});

test("a record that decodes badly is corruption with the decoder's reason", async (t) => {
  const dir = await tempDir(t);
  const at = await writeSegment(dir, 0, [0, 0], record(9, Buffer.alloc(4)), entryRecord(1, 1));
  const err = await corruption(dir);
  assert.equal(err.offset, at);
  assert.match(err.reason, /type 9/);
});

test("a repaired torn tail is reported (file, offset, bytes dropped); a clean open reports none", async (t) => {
  const dir = await tempDir(t);
  await writeSegment(dir, 0, [0, 0], entryRecord(1, 1));
  await writeSegment(dir, 1, [1, 1], entryRecord(2, 1));
  const path = join(dir, segName(1));
  const size = (await stat(path)).size;
  assert.equal((await reopen(dir)).tornTail, null);
  await appendFile(path, entryRecord(3, 1).subarray(0, 20));
  const fds = (await readdir("/proc/self/fd").catch(() => [])).length;
  const got = await reopen(dir);
  const leaked = (await readdir("/proc/self/fd").catch(() => [])).length - fds;
  assert.equal(leaked, 0, "the repair closes the segment it cut");
  assert.deepEqual(got.tornTail, { file: path, offset: size, bytes: 20 });
  assert.equal((await stat(path)).size, size, "cut off durably");
  assert.deepEqual(plain(got.entries), plain([entry(1, 1), entry(2, 1)]));
  assert.equal((await reopen(dir)).tornTail, null, "repaired once");
});
