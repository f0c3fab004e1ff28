/**
 * FileBlobIo without aligned memory (src/storage/file-blob-io.ts): when the engine cannot
 * reserve the WebAssembly memory direct I/O needs (a small `ulimit -v`), every write takes
 * the page cache and the store works as before. The module captures
 * `WebAssembly.Memory` when it loads, so this file replaces it first and imports the
 * store afterwards, in its own process (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tempDir } from "./fixtures.ts";

const A = "0123456789abcdef0123456789abcdef";
const MiB = 1024 * 1024;

test("no aligned memory to be had: whole chunks take the page cache, exactly as written", async (t) => {
  const wasm = globalThis as unknown as { WebAssembly: { Memory: unknown } };
  const real = wasm.WebAssembly.Memory;
  let attempts = 0;
  wasm.WebAssembly.Memory = class {
    constructor() {
      attempts++;
      throw new RangeError("WebAssembly.Memory(): could not allocate memory");
    }
  };
  t.after(() => {
    wasm.WebAssembly.Memory = real;
  });
  const { FileBlobIo } = await import("../../../src/storage/file-blob-io.ts");
  const dir = await tempDir(t);
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  const c0 = Buffer.alloc(MiB, 1);
  const c1 = Buffer.alloc(MiB, 2);
  await io.write(A, 0, c0);
  await io.write(A, MiB, c1);
  await io.sync([A]);
  assert.equal(io.directWrites, 0);
  assert.equal(attempts, 1, "tried once, then the page cache for good");
  assert.deepEqual(await readFile(join(dir, A)), Buffer.concat([c0, c1]));
});
