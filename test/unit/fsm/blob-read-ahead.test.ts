/**
 * A file's reader keeps exactly one read ahead (fsm/blob-reader.ts): the next group of
 * chunks is already being read while the current one is handed out, so disk and network
 * overlap, and never more than that, so a download holds at most two groups.
 */
import assert from "node:assert/strict";
import test from "node:test";
import { crc32 } from "node:zlib";
import { FILE_CHUNK_BYTES } from "../../../src/api/index.ts";
import { readFileChunks, type StateView, type StoredValue } from "../../../src/fsm/index.ts";

const READ_CHUNKS = 4;

/** A view over one file of `count` chunks whose blob reads finish only when released. */
function slowView(count: number, lastBytes = FILE_CHUNK_BYTES) {
  const chunkBytes = (seq: number) => (seq === count - 1 ? lastBytes : FILE_CHUNK_BYTES);
  const content = (seq: number) => Buffer.alloc(chunkBytes(seq), seq + 1);
  const reads: { offset: number; length: number; release: () => void; fail: () => void }[] = [];
  const view = {
    chunk: (_id: string, seq: number) => ({
      length: chunkBytes(seq),
      crc32: crc32(content(seq)),
    }),
    blobs: {
      read: (_name: string, offset: number, length: number) =>
        new Promise<Buffer>((resolve, reject) => {
          const first = offset / FILE_CHUNK_BYTES;
          const parts: Buffer[] = [];
          for (let s = first; parts.reduce((a, b) => a + b.length, 0) < length; s++)
            parts.push(content(s));
          reads.push({
            offset,
            length,
            release: () => resolve(Buffer.concat(parts)),
            fail: () => reject(new Error("EIO")),
          });
        }),
    },
  } as unknown as StateView;
  const stored = {
    size: (count - 1) * FILE_CHUNK_BYTES + lastBytes,
    file: { uploadId: "u1", count },
  } as unknown as StoredValue;
  return { view, stored, reads };
}

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

test("the next group is read while this one is handed out, and no further ahead", async () => {
  const { view, stored, reads } = slowView(10, 123);
  const chunks = readFileChunks(view, stored, 0, 9);
  const first = chunks.next();
  await settle();
  assert.equal(reads.length, 1, "one read to begin with");
  reads[0]?.release();
  assert.deepEqual((await first).value, Buffer.alloc(FILE_CHUNK_BYTES, 1));
  assert.equal(reads.length, 2, "chunk 0 handed out: the read of chunks 4-7 has started");
  assert.equal(reads[1]?.offset, READ_CHUNKS * FILE_CHUNK_BYTES);
  for (let seq = 1; seq < READ_CHUNKS; seq++) await chunks.next();
  await settle();
  assert.equal(reads.length, 2, "the group after next waits until the next one is in");
  const fifth = chunks.next();
  reads[1]?.release();
  assert.deepEqual((await fifth).value, Buffer.alloc(FILE_CHUNK_BYTES, 5));
  assert.equal(reads.length, 3);
  assert.equal(reads[2]?.length, FILE_CHUNK_BYTES + 123, "the last group: chunk 8 and the tail");
  for (let seq = 5; seq < 8; seq++) await chunks.next();
  reads[2]?.release();
  assert.deepEqual((await chunks.next()).value, Buffer.alloc(FILE_CHUNK_BYTES, 9));
  assert.deepEqual((await chunks.next()).value, Buffer.alloc(123, 10));
  assert.equal((await chunks.next()).done, true);
  assert.equal(reads.length, 3, "nothing read past the last chunk");
});

test("a consumer that stops early leaves the read ahead to fail unobserved, not unhandled", async () => {
  const { view, stored, reads } = slowView(8);
  const chunks = readFileChunks(view, stored, 0, 7);
  const first = chunks.next();
  await settle();
  reads[0]?.release();
  await first;
  await chunks.return(undefined);
  assert.equal(reads.length, 2);
  let unhandled = false;
  const onUnhandled = () => (unhandled = true);
  process.on("unhandledRejection", onUnhandled);
  try {
    reads[1]?.fail();
    await settle();
    await settle();
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
  assert.equal(unhandled, false);
});
