import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { FileBlobIo } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
const MiB = 1024 * 1024;

test("chunks written at their offsets read back, and the blob is the file's bytes", async (t) => {
  const dir = join(await tempDir(t), "state", "blobs");
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  const c0 = Buffer.alloc(MiB, 1);
  const c1 = Buffer.from("tail");
  await io.write(A, MiB, c1); // out of order: the hole is filled later
  await io.write(A, 0, c0);
  await io.sync([A, A]);
  assert.equal(await io.size(A), MiB + 4);
  assert.deepEqual(await io.read(A, MiB, 4), c1);
  assert.deepEqual(await io.read(A, MiB - 2, 3), Buffer.from([1, 1, 0x74]));
  assert.deepEqual(await readFile(join(dir, A)), Buffer.concat([c0, c1]));
  assert.equal((await stat(join(dir, A))).mode & 0o777, 0o600);
});

test("a read past the end, or of a missing blob, throws and creates nothing", async (t) => {
  const io = new FileBlobIo(await tempDir(t));
  t.after(() => io.closeAll());
  await io.write(A, 0, Buffer.from("abc"));
  await assert.rejects(io.read(A, 1, 3), /blob .* ends before 4/);
  await assert.rejects(io.read(B, 0, 1), /ENOENT/);
  assert.equal(await io.size(B), undefined);
  assert.deepEqual(await io.list(), [A]);
});

test("names that are not upload ids are refused before any path is built", async (t) => {
  const io = new FileBlobIo(await tempDir(t));
  for (const bad of ["../x", "", A.toUpperCase(), `${A}0`, "a/b"]) {
    await assert.rejects(io.write(bad, 0, Buffer.from("x")), /invalid blob name/);
    await assert.rejects(io.read(bad, 0, 1), /invalid blob name/);
    await assert.rejects(io.unlink(bad), /invalid blob name/);
  }
});

test("list shows only blobs; unlink removes one and a missing one is no error", async (t) => {
  const dir = await tempDir(t);
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  assert.deepEqual(await new FileBlobIo(join(dir, "none")).list(), []);
  await io.write(B, 0, Buffer.from("b"));
  await io.write(A, 0, Buffer.from("a"));
  await writeFile(join(dir, "stray.tmp"), "x");
  assert.deepEqual(await io.list(), [A, B]);
  await io.unlink(A);
  await io.unlink(A);
  assert.deepEqual(await io.list(), [B]);
  assert.deepEqual((await readdir(dir)).sort(), [B, "stray.tmp"]);
  // Written again after the unlink: a new blob, not the old descriptor's ghost.
  await io.write(A, 0, Buffer.from("new"));
  await io.sync([A]);
  assert.deepEqual(await readFile(join(dir, A)), Buffer.from("new"));
});

test("the descriptor cache stays bounded and loses nothing it closes", async (t) => {
  const io = new FileBlobIo(await tempDir(t), { maxOpen: 2 });
  t.after(() => io.closeAll());
  const names = Array.from({ length: 6 }, (_, i) => i.toString(16).repeat(32));
  await Promise.all(names.map((n, i) => io.write(n, 0, Buffer.from([i]))));
  await io.sync(names);
  for (const [i, n] of names.entries()) assert.deepEqual(await io.read(n, 0, 1), Buffer.from([i]));
  await io.closeAll();
  assert.deepEqual(await io.read(names[0] as string, 0, 1), Buffer.from([0]));
});

test("closeAll while a read runs lets the read finish", async (t) => {
  const io = new FileBlobIo(await tempDir(t));
  await io.write(A, 0, Buffer.alloc(4 * MiB, 7));
  const reading = io.read(A, 0, 4 * MiB);
  await io.closeAll();
  assert.equal((await reading).length, 4 * MiB);
  await io.closeAll();
});
