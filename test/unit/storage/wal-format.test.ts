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
import { tempDir } from "./fixtures.ts";

test("an entry record and a hard-state record have the specified layout", async (t) => {
  const dir = await tempDir(t);
  const data = new Uint8Array([0xde, 0xad, 0xbe]);
  const { wal } = await Wal.open(dir);
  await wal.save([{ term: 2 ** 32 + 5, index: 7, kind: EntryKind.Noop, data }], {
    term: 9,
    vote: 3,
    commit: 2 ** 35,
  });
  await wal.close();
  const buf = await readFile(join(dir, "0000000000000000.wal"));
  assert.equal(buf.length, 9 + 17 + 3 + 9 + 24);

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
