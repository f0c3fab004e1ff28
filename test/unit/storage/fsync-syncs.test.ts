/**
 * What the durability primitives (src/storage/fsync.ts) sync, and in which order: the
 * part only a power cut would show, so the calls are watched through a wrapped `open`
 * (fs-spy.ts) on real temp dirs. A new name is durable only once its directory is
 * synced; a replaced file only if its bytes were synced before the rename. fsync-rules
 * and fsync.test.ts cover what the files and folders end up as (mutation testing,
 * issue 25).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { fsyncDir, mkdirDurable, writeFileAtomic } from "../../../src/storage/fsync.ts";
import { tempDir } from "./fixtures.ts";
import { logSyncs } from "./fs-spy.ts";

test("fsyncDir syncs the directory through a handle it then closes", async (t) => {
  const dir = await tempDir(t);
  const log = logSyncs(t);
  await fsyncDir(dir);
  assert.deepEqual(log, [`sync ${dir}`, `close ${dir}`]);
});

test("writeFileAtomic syncs the new bytes before the rename, and the directory after it", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "f");
  const log = logSyncs(t);
  await writeFileAtomic(path, new TextEncoder().encode("new"));
  assert.deepEqual(log, [`sync ${path}.tmp`, `close ${path}.tmp`, `sync ${dir}`, `close ${dir}`]);
  assert.equal(await readFile(path, "utf8"), "new");
});

test("mkdirDurable syncs the parent of every folder it creates, and of the one it was asked for", async (t) => {
  const root = await tempDir(t);
  const log = logSyncs(t);
  const syncs = () => log.filter((l) => l.startsWith("sync"));
  const a = join(root, "a");
  await mkdirDurable(join(a, "b", "c"));
  assert.deepEqual(syncs(), [`sync ${join(a, "b")}`, `sync ${a}`, `sync ${root}`]);
  log.length = 0;
  await mkdirDurable(join(a, "b", "c"));
  // all there: nothing created, but the name may be only in the page cache (an earlier
  // call's sync failed, or a process died between mkdir and sync), so it is synced again
  assert.deepEqual(syncs(), [`sync ${join(a, "b")}`], "all there: the name synced again");
  log.length = 0;
  await mkdirDurable(join(a, "b", "d"));
  assert.deepEqual(syncs(), [`sync ${join(a, "b")}`], "only the new folder's parent");
});
