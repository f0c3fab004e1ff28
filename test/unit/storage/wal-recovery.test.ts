/**
 * Torn tails (a crash mid-write: repaired) versus corruption (refuse to start, naming
 * the file and offset). Offsets are computed from the documented record format: every
 * segment opens with a SEGMENT_HEADER-byte header, saved records follow it.
 */
import assert from "node:assert/strict";
import { appendFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import type { Entry } from "../../../src/raft/types.ts";
import { Wal, WalCorruptionError } from "../../../src/storage/index.ts";
import { entries, entry, plain, recordBytes, SEGMENT_HEADER, tempDir } from "./fixtures.ts";

const SEG0 = "0000000000000000.wal";
const SEG1 = "0000000000000001.wal";

/** Writes entries 1..count (one save each, data sizes vary) into a single segment. */
async function writeLog(
  dir: string,
  count: number,
): Promise<{ saved: Entry[]; offsets: number[] }> {
  const saved = Array.from({ length: count }, (_, i) => entry(i + 1, 1, 20 + i * 13));
  const { wal } = await Wal.open(dir);
  for (const e of saved) await wal.save([e], null);
  await wal.close();
  const offsets: number[] = [];
  let at = SEGMENT_HEADER;
  for (const e of saved) {
    offsets.push(at);
    at += recordBytes(e);
  }
  offsets.push(at); // end of file
  return { saved, offsets };
}

async function flipBit(path: string, offset: number, bit = 0): Promise<void> {
  const buf = await readFile(path);
  buf[offset] = (buf[offset] ?? 0) ^ (1 << bit);
  await writeFile(path, buf);
}

/**
 * Segment 0 holds the header and entries 1..3 (3 records of 46 bytes), segment 1 the
 * header and entries 4..6.
 */
async function writeTwoSegments(dir: string): Promise<void> {
  const { wal } = await Wal.open(dir, { segmentBytes: 100 });
  await wal.save(entries(1, 3, 1, 20), null);
  await wal.save(entries(4, 6, 1, 20), null);
  await wal.close();
  assert.deepEqual((await readdir(dir)).sort(), [SEG0, SEG1, "HARDSTATE"].sort());
  assert.equal((await stat(join(dir, SEG0))).size, SEGMENT_HEADER + 3 * 46);
  assert.equal((await stat(join(dir, SEG1))).size, SEGMENT_HEADER + 3 * 46);
}

async function reopen(dir: string, segmentBytes?: number) {
  const { wal, contents } = await Wal.open(dir, { segmentBytes });
  await wal.close();
  return contents;
}

async function expectCorrupt(dir: string, file: string, offset: number, segmentBytes?: number) {
  const path = join(dir, file);
  const sizeBefore = (await stat(path)).size;
  const err = await Wal.open(dir, { segmentBytes }).then(
    () => assert.fail("open succeeded on a corrupt WAL"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WalCorruptionError, `expected WalCorruptionError, got ${err}`);
  assert.ok(err instanceof StartupError);
  assert.equal(err.kind, "corrupt");
  assert.equal(err.file, path);
  assert.equal(err.offset, offset);
  assert.ok(err.message.includes(path), err.message);
  assert.ok(err.message.includes(`offset ${offset}`), err.message);
  assert.equal((await stat(path)).size, sizeBefore, "a corrupt WAL must not be modified");
}

test("torn tail: a last record cut mid-payload is dropped, the file cut, and the WAL usable", async (t) => {
  const dir = await tempDir(t);
  const { saved, offsets } = await writeLog(dir, 6);
  const lastStart = offsets[5] ?? 0;
  await truncate(join(dir, SEG0), lastStart + 20);

  const contents = await reopen(dir);
  assert.deepEqual(plain(contents.entries), plain(saved.slice(0, 5)));
  assert.equal((await stat(join(dir, SEG0))).size, lastStart);

  const { wal } = await Wal.open(dir);
  await wal.save([entry(6, 2, 7)], { term: 2, vote: 1, commit: 6 });
  await wal.close();
  const after = await reopen(dir);
  assert.deepEqual(plain(after.entries), plain([...saved.slice(0, 5), entry(6, 2, 7)]));
  assert.deepEqual(after.hardState, { term: 2, vote: 1, commit: 6 });
});

test("torn tail: a partial header at the end is dropped", async (t) => {
  const dir = await tempDir(t);
  const { saved, offsets } = await writeLog(dir, 3);
  await truncate(join(dir, SEG0), (offsets[2] ?? 0) + 5);
  assert.deepEqual(plain((await reopen(dir)).entries), plain(saved.slice(0, 2)));
  assert.equal((await stat(join(dir, SEG0))).size, offsets[2]);
});

test("torn tail: 4096 zero bytes after the last record are cut off", async (t) => {
  const dir = await tempDir(t);
  const { saved, offsets } = await writeLog(dir, 4);
  await appendFile(join(dir, SEG0), new Uint8Array(4096));
  assert.deepEqual(plain((await reopen(dir)).entries), plain(saved));
  assert.equal((await stat(join(dir, SEG0))).size, offsets[4]);
});

test("torn tail: a half-written record (rest of it zeros, then more zeros) is dropped", async (t) => {
  const dir = await tempDir(t);
  const { saved, offsets } = await writeLog(dir, 5);
  const path = join(dir, SEG0);
  const buf = await readFile(path);
  const start = offsets[4] ?? 0;
  const mid = start + Math.floor(recordBytes(saved[4] as Entry) / 2);
  buf.fill(0, mid);
  await writeFile(path, Buffer.concat([buf, new Uint8Array(512)]));
  assert.deepEqual(plain((await reopen(dir)).entries), plain(saved.slice(0, 4)));
  assert.equal((await stat(path)).size, start);
});

test("torn tail in the last of several segments is repaired", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 100 });
  for (let i = 1; i <= 5; i++) await wal.save([entry(i, 1, 80)], null);
  await wal.close();
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  assert.equal(names.length, 5);
  const last = join(dir, names[4] ?? "");
  assert.equal((await stat(last)).size, SEGMENT_HEADER + 106);
  await truncate(last, SEGMENT_HEADER + 30); // entry 5's record, cut mid-payload
  assert.deepEqual(plain((await reopen(dir, 100)).entries), plain(entries(1, 4, 1, 80)));
  assert.equal((await stat(last)).size, SEGMENT_HEADER);
});

test("corruption: a flipped data bit in a middle record of the last segment", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 6);
  await flipBit(join(dir, SEG0), (offsets[2] ?? 0) + 30, 3);
  await expectCorrupt(dir, SEG0, offsets[2] ?? -1);
});

test("corruption: a flipped checksum bit in a middle record", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 6);
  await flipBit(join(dir, SEG0), (offsets[3] ?? 0) + 5, 7);
  await expectCorrupt(dir, SEG0, offsets[3] ?? -1);
});

test("corruption: a length bit flip that runs past EOF is not mistaken for a torn tail", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 6);
  await flipBit(join(dir, SEG0), (offsets[2] ?? 0) + 2, 4); // length += 1 MiB
  await expectCorrupt(dir, SEG0, offsets[2] ?? -1);
});

test("corruption: an absurd length in a middle record", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 6);
  await flipBit(join(dir, SEG0), (offsets[1] ?? 0) + 3, 7); // length >= 2 GiB
  await expectCorrupt(dir, SEG0, offsets[1] ?? -1);
  const err = await Wal.open(dir).catch((e: unknown) => e);
  assert.match(String(err), /absurd record length/);
});

test("corruption: a zeroed record with valid records after it", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 6);
  const path = join(dir, SEG0);
  const buf = await readFile(path);
  buf.fill(0, offsets[2], offsets[3]);
  await writeFile(path, buf);
  await expectCorrupt(dir, SEG0, offsets[2] ?? -1);
});

test("corruption: a bad last record followed by non-zero garbage", async (t) => {
  const dir = await tempDir(t);
  const { offsets } = await writeLog(dir, 4);
  const path = join(dir, SEG0);
  await flipBit(path, (offsets[3] ?? 0) + 20, 1);
  await appendFile(path, new Uint8Array([0, 0, 7, 0]));
  await expectCorrupt(dir, SEG0, offsets[3] ?? -1);
});

test("corruption: a bit flip at the tail of an earlier segment is never a torn tail", async (t) => {
  const dir = await tempDir(t);
  await writeTwoSegments(dir);
  await flipBit(join(dir, SEG0), SEGMENT_HEADER + 2 * 46 + 40, 2);
  await expectCorrupt(dir, SEG0, SEGMENT_HEADER + 2 * 46, 100);
});

test("corruption: a truncated earlier segment is never a torn tail", async (t) => {
  const dir = await tempDir(t);
  await writeTwoSegments(dir);
  await truncate(join(dir, SEG0), SEGMENT_HEADER + 2 * 46 + 10);
  await expectCorrupt(dir, SEG0, SEGMENT_HEADER + 2 * 46, 100);
});

test("corruption: a missing segment in the middle", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 10 });
  await wal.save([entry(1, 1)], null);
  await wal.save([], { term: 2, vote: 3, commit: 1 }); // segment 1: only a vote, no entries
  await wal.save([entry(2, 2)], null);
  await wal.close();
  await rm(join(dir, SEG1));
  await expectCorrupt(dir, "0000000000000002.wal", 0, 10);
  const err = await Wal.open(dir, { segmentBytes: 10 }).catch((e: unknown) => e);
  assert.match(String(err), /segment 0000000000000001\.wal is missing/);
});

test("corruption: a gap between entries across segments", async (t) => {
  const dir = await tempDir(t);
  await writeTwoSegments(dir);
  // Segment 1's header says it continues the log at 3; cut entry 4's record out of it,
  // so that entry 5 follows entry 3 of segment 0.
  const path = join(dir, SEG1);
  const buf = await readFile(path);
  await writeFile(
    path,
    Buffer.concat([buf.subarray(0, SEGMENT_HEADER), buf.subarray(SEGMENT_HEADER + 46)]),
  );
  await expectCorrupt(dir, SEG1, SEGMENT_HEADER, 100);
  const err = await Wal.open(dir, { segmentBytes: 100 }).catch((e: unknown) => e);
  assert.match(String(err), /gap in the log: entry 5 after 3/);
});
