import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { encodeCommand, splitChunkEntry } from "../../../src/fsm/index.ts";
import { type Entry, EntryKind } from "../../../src/raft/index.ts";
import { blobRehydrator, storeRecoveredChunks } from "../../../src/server/node/blob-path.ts";
import { FileBlobIo } from "../../../src/storage/index.ts";

const ID = "abcdefabcdefabcdefabcdefabcdef01";
const MiB = 1024 * 1024;

function chunk(index: number, seq: number, data: Buffer): Entry {
  const payload = encodeCommand({ op: "upload_chunk", uploadId: ID, seq, data, timeMs: 1 });
  return { term: 1, index, kind: EntryKind.Normal, data: payload };
}

async function blobs(t: { after: (fn: () => Promise<void>) => void }): Promise<FileBlobIo> {
  const dir = await mkdtemp(join(tmpdir(), "dfs-blob-path-"));
  const io = new FileBlobIo(join(dir, "blobs"));
  t.after(async () => {
    await io.closeAll();
    await rm(dir, { recursive: true, force: true });
  });
  return io;
}

test("the rehydrator sends a stored chunk as the full entry it was", async (t) => {
  const io = await blobs(t);
  const data = Buffer.alloc(MiB, 9);
  const full = chunk(4, 2, data);
  const cut = splitChunkEntry(full);
  assert.ok(cut !== null);
  await io.write(cut.blob, cut.offset, cut.data);
  const r = blobRehydrator(io);
  assert.equal(r.needs(full), false);
  assert.equal(r.needs(cut.stored), true);
  assert.equal(r.bytes(cut.stored), MiB);
  assert.deepEqual(await r.rehydrate(cut.stored), full);
  // A damaged blob is refused, never sent.
  await io.write(ID, 2 * MiB + 5, Buffer.from([0]));
  await assert.rejects(r.rehydrate(cut.stored), /CRC/);
});

test("full chunks the log will still apply go to their blobs at start; applied ones stay", async (t) => {
  const io = await blobs(t);
  const entries = [chunk(1, 0, Buffer.from("old")), chunk(2, 1, Buffer.from("new"))];
  const log = { entries, offset: 0, offsetTerm: 0, committed: 2, applied: 1 };
  const out = await storeRecoveredChunks(log, io);
  assert.equal(out.entries[0], entries[0], "applied: left alone");
  assert.ok(blobRehydrator(io).needs(out.entries[1] as Entry));
  assert.deepEqual(await io.read(ID, MiB, 3), Buffer.from("new"));
  assert.equal(await io.size(ID), MiB + 3, "nothing written at chunk 0");
  const again = { ...log, applied: 2 };
  assert.equal(await storeRecoveredChunks(again, io), again, "nothing to do: the same log");
});
