/**
 * Direct I/O in the blob store (src/storage/aligned-slots.ts, file-blob-io.ts): aligned
 * memory lent one slot at a time, which writes qualify, and that a blob written partly
 * direct and partly through the page cache holds exactly the bytes written, on this
 * machine's real file system.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import {
  AlignedSlots,
  DIRECT_ALIGN,
  isDirectWritable,
} from "../../../src/storage/aligned-slots.ts";
import { FileBlobIo } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const A = "0123456789abcdef0123456789abcdef";
const MiB = 1024 * 1024;

test("a write qualifies for direct I/O only when whole blocks fit one slot", () => {
  assert.equal(isDirectWritable(0, MiB, MiB), true);
  assert.equal(isDirectWritable(3 * MiB, DIRECT_ALIGN, MiB), true);
  assert.equal(isDirectWritable(0, MiB + DIRECT_ALIGN, MiB), false, "larger than a slot");
  assert.equal(isDirectWritable(0, 0, MiB), false, "nothing to write");
  assert.equal(isDirectWritable(DIRECT_ALIGN / 2, DIRECT_ALIGN, MiB), false, "offset mid-block");
  assert.equal(isDirectWritable(0, DIRECT_ALIGN + 1, MiB), false, "a partial last block");
  assert.equal(isDirectWritable(MiB, 100, MiB), false, "a file's short tail");
});

test("slots are lent one at a time, and a borrower waits for a release in order", async () => {
  const slots = new AlignedSlots(2, 64 * 1024);
  const a = await slots.acquire();
  const b = await slots.acquire();
  assert.equal(slots.idle, 0);
  assert.notEqual(a.buffer, Buffer.alloc(1).buffer);
  assert.equal(a.byteLength, 64 * 1024);
  assert.equal(a.buffer, b.buffer, "cut from one aligned memory");
  assert.notEqual(a.byteOffset, b.byteOffset);
  const order: string[] = [];
  const first = slots.acquire().then((s) => order.push(`first:${s.byteOffset}`));
  const second = slots.acquire().then((s) => order.push(`second:${s.byteOffset}`));
  slots.release(b);
  slots.release(a);
  await Promise.all([first, second]);
  assert.deepEqual(order, [`first:${b.byteOffset}`, `second:${a.byteOffset}`]);
  assert.equal(slots.idle, 0);
  assert.throws(() => new AlignedSlots(0, 64 * 1024), RangeError);
  assert.throws(() => new AlignedSlots(1, 1000), RangeError);
});

test("whole chunks go direct, a tail through the page cache, and the blob is exact", async (t) => {
  const dir = join(await tempDir(t), "blobs");
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  // Distinct bytes per chunk, from a Buffer at an unaligned address (as gRPC hands them).
  const c0 = Buffer.alloc(MiB + 16, 0xa1).subarray(16);
  const c1 = Buffer.alloc(MiB, 0xb2);
  c1.write("middle", 1000);
  const tail = Buffer.from("the last, short chunk");
  await Promise.all([io.write(A, MiB, c1), io.write(A, 2 * MiB, tail), io.write(A, 0, c0)]);
  await io.sync([A]);
  // ext4 and tmpfs (6.6+) take O_DIRECT; the two whole chunks went direct, the tail did not.
  assert.equal(io.directWrites, 2);
  const onDisk = await readFile(join(dir, A));
  assert.deepEqual(onDisk, Buffer.concat([c0, c1, tail]));
  assert.deepEqual(await io.read(A, MiB + 1000, 6), Buffer.from("middle"));
});

test("more chunks at once than slots: each waits its turn and lands where it belongs", async (t) => {
  const io = new FileBlobIo(await tempDir(t));
  t.after(() => io.closeAll());
  const chunks = Array.from({ length: 20 }, (_, i) => Buffer.alloc(MiB, i + 1));
  await Promise.all(chunks.map((c, i) => io.write(A, i * MiB, c)));
  await io.sync([A]);
  assert.equal(io.directWrites, 20);
  for (const i of [0, 7, 19]) assert.deepEqual(await io.read(A, i * MiB, MiB), chunks[i]);
});

test("with direct I/O off every write takes the page cache, with the same result", async (t) => {
  const dir = await tempDir(t);
  const io = new FileBlobIo(dir, { direct: false });
  t.after(() => io.closeAll());
  const c0 = Buffer.alloc(MiB, 3);
  await io.write(A, 0, c0);
  await io.sync([A]);
  assert.equal(io.directWrites, 0);
  assert.deepEqual(await readFile(join(dir, A)), c0);
});

test("a blob unlinked and written again starts from nothing, direct descriptor included", async (t) => {
  const dir = await tempDir(t);
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  await io.write(A, 0, Buffer.alloc(MiB, 1));
  await io.write(A, MiB, Buffer.alloc(MiB, 2));
  await io.sync([A]);
  await io.unlink(A);
  await io.write(A, 0, Buffer.alloc(MiB, 9));
  await io.sync([A]);
  assert.deepEqual(await readFile(join(dir, A)), Buffer.alloc(MiB, 9));
});

test("large aligned reads come off the disk direct, exact up to a tail not yet synced", async (t) => {
  const dir = join(await tempDir(t), "blobs");
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  const chunks = Array.from({ length: 9 }, (_, i) => Buffer.alloc(MiB, i + 1));
  for (const [i, c] of chunks.entries()) c.write(`chunk ${i}`, 4321);
  await Promise.all(chunks.map((c, i) => io.write(A, i * MiB, c)));
  // The tail goes through the page cache and is read before any sync: still exact.
  const tail = Buffer.from("a short tail, dirty in the page cache");
  await io.write(A, 9 * MiB, tail);
  const whole = Buffer.concat([...chunks, tail]);
  assert.equal(io.directReads, 0);
  assert.deepEqual(await io.read(A, 0, whole.length), whole);
  assert.equal(io.directReads, 3, "three slot-sized pieces: 4 + 4 + 1 MiB and the tail");
  assert.deepEqual(await io.read(A, 8 * MiB, MiB + tail.length), whole.subarray(8 * MiB));
  assert.equal(io.directReads, 4);
  // Unaligned or small reads take the page cache, with the same bytes.
  assert.deepEqual(await io.read(A, 100, 2 * MiB), whole.subarray(100, 100 + 2 * MiB));
  assert.deepEqual(await io.read(A, 4 * MiB, 1000), whole.subarray(4 * MiB, 4 * MiB + 1000));
  assert.equal(io.directReads, 4);
  await assert.rejects(io.read(A, 8 * MiB, 2 * MiB), /ends before/);
});

test("direct reads off: the same bytes through the page cache", async (t) => {
  const io = new FileBlobIo(await tempDir(t), { direct: false });
  t.after(() => io.closeAll());
  const data = Buffer.alloc(2 * MiB, 7);
  await io.write(A, 0, data);
  assert.deepEqual(await io.read(A, 0, data.length), data);
  assert.equal(io.directReads, 0);
});
