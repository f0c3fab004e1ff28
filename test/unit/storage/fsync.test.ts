import assert from "node:assert/strict";
import { type FileHandle, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { mkdirDurable, writeFileAtomic, writevFully } from "../../../src/storage/fsync.ts";
import { tempDir } from "./fixtures.ts";

test("writevFully finishes the job after short writes", async () => {
  const out = new Uint8Array(64);
  let calls = 0;
  const fake = {
    async writev(buffers: readonly Uint8Array[], position: number) {
      calls++;
      const flat = Buffer.concat(buffers.map((b) => Buffer.from(b)));
      const n = Math.min(3, flat.length); // the kernel takes at most 3 bytes per call
      out.set(flat.subarray(0, n), position);
      return { bytesWritten: n, buffers };
    },
  } as unknown as FileHandle;
  const parts = [
    new Uint8Array([1, 2]),
    new Uint8Array([]),
    new Uint8Array([3, 4, 5, 6, 7]),
    new Uint8Array([8]),
  ];
  await writevFully(fake, parts, 10);
  assert.deepEqual([...out.subarray(10, 18)], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(calls, 3);
});

test("writeFileAtomic replaces content and leaves no temporary file", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "f.json");
  await writeFileAtomic(path, new TextEncoder().encode("one"));
  await writeFileAtomic(path, new TextEncoder().encode("two"));
  assert.equal(await readFile(path, "utf8"), "two");
  assert.deepEqual(await readdir(dir), ["f.json"]);
});

test("mkdirDurable creates missing parents and accepts an existing dir", async (t) => {
  const dir = join(await tempDir(t), "a", "b", "c");
  await mkdirDurable(dir);
  await mkdirDurable(dir);
  assert.ok((await stat(dir)).isDirectory());
});
