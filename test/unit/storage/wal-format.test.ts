/**
 * The on-disk record format, checked byte by byte against the specification
 * (u32 length | u32 crc32(type + payload) | u8 type | payload, little-endian), so that a
 * change to the encoder that would orphan existing WAL files fails here.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { crc32 } from "node:zlib";
import { EntryKind } from "../../../src/raft/types.ts";
import { Wal } from "../../../src/storage/index.ts";
import { LOG_START_RECORD, SEGMENT_HEADER, segName, tempDir } from "./fixtures.ts";

/** Reads the u64 at `at` as written (two u32 halves, low first). */
function u64(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * 2 ** 32 + buf.readUInt32LE(at);
}

test("an entry record and a hard-state record have the specified layout", async (t) => {
  const dir = await tempDir(t);
  const data = new Uint8Array([0xde, 0xad, 0xbe]);
  const { wal } = await Wal.open(dir);
  await wal.reset(6, 2 ** 32 + 4); // the log continues at 7
  await wal.save([{ term: 2 ** 32 + 5, index: 7, kind: EntryKind.Noop, data }], {
    term: 9,
    vote: 3,
    commit: 2 ** 35,
  });
  await wal.close();
  const file = await readFile(join(dir, segName(1)));
  assert.equal(file.length, SEGMENT_HEADER + 9 + 17 + 3 + 9 + 24);
  const buf = file.subarray(SEGMENT_HEADER);

  assert.equal(buf.readUInt32LE(0), 17 + 3, "entry payload length");
  assert.equal(buf.readUInt32LE(4), crc32(buf.subarray(8, 29)), "crc over type + payload");
  assert.equal(buf[8], 1, "entry record type");
  assert.equal(buf.readUInt32LE(9), 5, "term low word");
  assert.equal(buf.readUInt32LE(13), 1, "term high word");
  assert.equal(buf.readUInt32LE(17), 7, "index low word");
  assert.equal(buf.readUInt32LE(21), 0, "index high word");
  assert.equal(buf[25], EntryKind.Noop);
  assert.deepEqual([...buf.subarray(26, 29)], [0xde, 0xad, 0xbe]);

  const hs = buf.subarray(29);
  assert.equal(hs.readUInt32LE(0), 24, "hard-state payload length");
  assert.equal(hs.readUInt32LE(4), crc32(hs.subarray(8)), "crc over type + payload");
  assert.equal(hs[8], 2, "hard-state record type");
  assert.deepEqual(
    [hs.readUInt32LE(9), hs.readUInt32LE(13), hs.readUInt32LE(17), hs.readUInt32LE(21)],
    [9, 0, 3, 0],
  );
  assert.deepEqual([hs.readUInt32LE(25), hs.readUInt32LE(29)], [0, 8], "commit = 2^35");
});

test("a new segment opens with a log-start record and a hard-state record (58 bytes)", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const fresh = await readFile(join(dir, segName(0)));
  assert.equal(fresh.length, SEGMENT_HEADER);
  assert.equal(fresh.readUInt32LE(0), 16, "log-start payload length");
  assert.equal(fresh[8], 3, "log-start record type");
  assert.equal(fresh.readUInt32LE(4), crc32(fresh.subarray(8, LOG_START_RECORD)));
  assert.deepEqual([u64(fresh, 9), u64(fresh, 17)], [0, 0], "an empty log starts at (0, 0)");
  assert.equal(fresh[LOG_START_RECORD + 8], 2, "then the hard state");
  assert.deepEqual([...fresh.subarray(LOG_START_RECORD + 9)], new Array(24).fill(0));

  await wal.save([], { term: 2 ** 32 + 9, vote: 3, commit: 0 });
  await wal.reset(2 ** 33 + 6, 2 ** 32 + 5);
  await wal.close();
  const seg = await readFile(join(dir, segName(1)));
  assert.equal(seg.length, SEGMENT_HEADER);
  assert.equal(seg.readUInt32LE(0), 16);
  assert.equal(seg.readUInt32LE(4), crc32(seg.subarray(8, LOG_START_RECORD)));
  assert.equal(seg[8], 3);
  assert.deepEqual([u64(seg, 9), u64(seg, 17)], [2 ** 33 + 6, 2 ** 32 + 5], "prevIndex, prevTerm");
  const hs = seg.subarray(LOG_START_RECORD);
  assert.equal(hs.readUInt32LE(0), 24);
  assert.equal(hs.readUInt32LE(4), crc32(hs.subarray(8)));
  assert.equal(hs[8], 2);
  assert.deepEqual([u64(hs, 9), u64(hs, 17), u64(hs, 25)], [2 ** 32 + 9, 3, 0], "the hard state");
});
