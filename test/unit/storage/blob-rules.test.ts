/**
 * The blob store's parts at their edges: the descriptor cache (src/storage/blob-handles.ts)
 * over a fake opener that logs opens and closes (least recently used goes first, a
 * borrowed handle is closed only when returned, a failed open is not cached), the blob
 * name check (blob-io.ts), and FileBlobIo's failures on real temp dirs (file-blob-io.ts).
 * file-blob-io.test.ts covers the main paths (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import fsPromises, { type FileHandle, rm, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { BlobHandles } from "../../../src/storage/blob-handles.ts";
import { assertBlobName, BLOB_NAME_PATTERN } from "../../../src/storage/blob-io.ts";
import { DEFAULT_MAX_OPEN_BLOBS, FileBlobIo } from "../../../src/storage/file-blob-io.ts";
import { tempDir } from "./fixtures.ts";

/** A cache over fake handles: `log` records "open x", "close x" in order. */
function fakeCache(maxOpen: number, failFirstOpenOf?: string) {
  const log: string[] = [];
  const failed = new Set<string>();
  const cache = new BlobHandles(maxOpen, async (name, create) => {
    log.push(`open ${name}${create ? " create" : ""}`);
    if (name === failFirstOpenOf && !failed.has(name)) {
      failed.add(name);
      throw new Error(`cannot open ${name}`);
    }
    return {
      close: async () => {
        log.push(`close ${name}`);
      },
    } as unknown as FileHandle;
  });
  const use = (name: string) => cache.use(name, false, async () => name);
  return { cache, log, use };
}

/** A promise with its resolver, to hold a borrowed handle open. */
function gate() {
  let open!: () => void;
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { done, open };
}

test("the cache keeps maxOpen descriptors and closes the least recently used", async () => {
  const { cache, log, use } = fakeCache(2);
  await use("a");
  await use("b");
  assert.equal(cache.openCount, 2);
  await use("a"); // a is now the most recent
  await use("c");
  assert.equal(cache.openCount, 2);
  assert.deepEqual(log, ["open a", "open b", "open c", "close b"]);
  await use("a");
  await use("c");
  assert.deepEqual(log.length, 4, "cached: no reopen");
});

test("use passes create on to the opener and returns fn's result", async () => {
  const { cache, log } = fakeCache(4);
  assert.equal(await cache.use("n", true, async () => 42), 42);
  assert.deepEqual(log, ["open n create"]);
});

test("a borrowed handle is not closed by eviction, forget or closeAll until returned", async () => {
  const { cache, log, use } = fakeCache(1);
  const held = gate();
  const borrowing = cache.use("a", false, () => held.done);
  await new Promise((r) => setImmediate(r));
  await use("b"); // over the bound, but a is busy: b was the idle one
  assert.equal(log.includes("close a"), false);
  await cache.forget("a");
  await cache.closeAll();
  assert.equal(log.includes("close a"), false, "still borrowed");
  held.open();
  await borrowing;
  assert.equal(log.filter((l) => l === "close a").length, 1, "closed once, when returned");
});

test("forget closes an idle descriptor now and the next use reopens it", async () => {
  const { cache, log, use } = fakeCache(4);
  await use("a");
  await cache.forget("a");
  assert.equal(cache.openCount, 0);
  assert.deepEqual(log, ["open a", "close a"]);
  await cache.forget("never");
  await use("a");
  assert.deepEqual(log, ["open a", "close a", "open a"]);
});

test("closeAll closes every idle descriptor and empties the cache", async () => {
  const { cache, log, use } = fakeCache(4);
  await use("a");
  await use("b");
  await cache.closeAll();
  assert.equal(cache.openCount, 0);
  assert.deepEqual(log.filter((l) => l.startsWith("close")).sort(), ["close a", "close b"]);
});

test("a failed open reaches the caller and is not cached", async () => {
  const { cache, log, use } = fakeCache(4, "a");
  await assert.rejects(use("a"), { message: "cannot open a" });
  assert.equal(cache.openCount, 0);
  assert.equal(await use("a"), "a");
  assert.deepEqual(log, ["open a", "open a"]);
});

test("blob names: exactly 32 lowercase hex digits", () => {
  const good = "0123456789abcdef0123456789abcdef";
  assert.equal(BLOB_NAME_PATTERN.test(good), true);
  assertBlobName(good);
  for (const bad of [good.toUpperCase(), good.slice(1), `${good}0`, `../${good}`, `${good}\n`]) {
    assert.throws(() => assertBlobName(bad), {
      message: `invalid blob name: ${JSON.stringify(bad)}`,
    });
  }
  assert.equal(DEFAULT_MAX_OPEN_BLOBS, 64);
});

const NAME = "00000000000000000000000000000001";

test("a short blob read names the blob, where it ends and what was read", async (t) => {
  const io = new FileBlobIo(join(await tempDir(t), "blobs"));
  t.after(() => io.closeAll());
  await io.write(NAME, 0, Buffer.from("abcde"));
  assert.equal((await io.read(NAME, 1, 4)).toString(), "bcde");
  await assert.rejects(io.read(NAME, 2, 10), {
    message: `blob ${NAME} ends before 12 (read 3 of 10 bytes at 2)`,
  });
  assert.equal((await io.read(NAME, 5, 0)).length, 0);
});

test("a blobs dir that is a file: writes, sizes, lists and unlinks fail; fixed, they work", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "blobs");
  await writeFile(dir, "not a dir");
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  await assert.rejects(io.write(NAME, 0, Buffer.from("x")));
  await assert.rejects(io.size(NAME), { code: "ENOTDIR" });
  await assert.rejects(io.list(), { code: "ENOTDIR" });
  await assert.rejects(io.unlink(NAME), { code: "ENOTDIR" });
  await rm(dir);
  await io.write(NAME, 0, Buffer.from("x")); // the failed directory creation is retried
  await io.sync([NAME]);
  assert.equal(await io.size(NAME), 1);
  assert.deepEqual(await io.list(), [NAME]);
});

test("a missing blob: size undefined, read and sync refused, unlink a no-op; a missing dir lists empty", async (t) => {
  const io = new FileBlobIo(join(await tempDir(t), "blobs"));
  t.after(() => io.closeAll());
  assert.deepEqual(await io.list(), []);
  assert.equal(await io.size(NAME), undefined);
  await assert.rejects(io.read(NAME, 0, 1), { code: "ENOENT" });
  await assert.rejects(io.sync([NAME]), { code: "ENOENT" });
  assert.equal(await io.size(NAME), undefined, "a sync creates nothing");
  await io.unlink(NAME);
  await io.write(NAME, 3, Buffer.from("z"));
  assert.equal(await io.size(NAME), 4);
  await io.unlink(NAME);
  assert.equal(await io.size(NAME), undefined);
  assert.deepEqual(await io.list(), []);
});

test("a blob written, closed and opened again keeps its bytes and takes more", async (t) => {
  const io = new FileBlobIo(join(await tempDir(t), "blobs"), { maxOpen: 1 });
  t.after(() => io.closeAll());
  await io.write(NAME, 0, Buffer.from("ab"));
  await io.closeAll();
  await io.write(NAME, 2, Buffer.from("cd"));
  await io.sync([NAME, NAME]);
  assert.equal((await io.read(NAME, 0, 4)).toString(), "abcd");
});

test("list gives the blobs in name order, whatever order the directory is read in", async (t) => {
  const dir = await tempDir(t);
  const names = Array.from({ length: 16 }, (_, i) => i.toString(16).repeat(32));
  for (const name of names) await writeFile(join(dir, name), "");
  await writeFile(join(dir, `${names[3]}.tmp`), ""); // not a blob
  // libuv hands readdir's entries over sorted, but Node promises no order (other
  // platforms, file systems): here the real listing is handed over reversed.
  const real = fsPromises.readdir;
  const writable = fsPromises as { readdir: unknown };
  writable.readdir = async (path: string) => (await real(path)).reverse();
  syncBuiltinESMExports();
  t.after(() => {
    writable.readdir = real;
    syncBuiltinESMExports();
  });
  const io = new FileBlobIo(dir);
  t.after(() => io.closeAll());
  assert.deepEqual(await io.list(), names);
});
