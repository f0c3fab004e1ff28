/**
 * Telling a full disk from a broken one (src/storage/disk-full.ts). A nearly full file
 * system cannot be made on a shared test machine, so statfs is replaced for the tests
 * that need one (node:fs/promises' export, synced into the ES module bindings with
 * syncBuiltinESMExports); the rest run against the real temp dir's file system.
 */
import assert from "node:assert/strict";
import fsPromises from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import {
  failedForLackOfSpace,
  isDiskFullError,
  NEARLY_FULL_BYTES,
  SNAPSHOT_DISK_RESERVE_BYTES,
  snapshotRoom,
} from "../../../src/storage/disk-full.ts";
import { tempDir } from "./fixtures.ts";

/** An errno-style error. */
function errno(code: string | undefined, message = `${code}: failed`): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

const realStatfs = fsPromises.statfs;

/** Makes statfs report `free` bytes (4096-byte blocks) until the test ends. */
function fakeFree(t: TestContext, free: number): void {
  const writable = fsPromises as { statfs: unknown };
  writable.statfs = async () => ({ bavail: free / 4096, bsize: 4096 });
  syncBuiltinESMExports();
  t.after(() => {
    writable.statfs = realStatfs;
    syncBuiltinESMExports();
  });
}

test("the thresholds: 16 MiB counts as nearly full, a snapshot keeps 64 MiB", () => {
  assert.equal(NEARLY_FULL_BYTES, 16 * 1024 * 1024);
  assert.equal(SNAPSHOT_DISK_RESERVE_BYTES, 64 * 1024 * 1024);
});

test("isDiskFullError: ENOSPC and EDQUOT only", () => {
  assert.equal(isDiskFullError(errno("ENOSPC")), true);
  assert.equal(isDiskFullError(errno("EDQUOT")), true);
  for (const other of [errno("EIO"), errno(undefined), null, undefined, "ENOSPC"]) {
    assert.equal(isDiskFullError(other), false, String(other));
  }
});

test("a full-disk errno is blamed on space without looking at the disk", async () => {
  assert.equal(await failedForLackOfSpace(errno("ENOSPC"), "/nonexistent/dir"), true);
  assert.equal(await failedForLackOfSpace(errno("EDQUOT"), "/nonexistent/dir"), true);
});

test("an I/O error is a full disk only below NEARLY_FULL_BYTES free", async (t) => {
  const dir = await tempDir(t);
  fakeFree(t, NEARLY_FULL_BYTES - 4096);
  assert.equal(await failedForLackOfSpace(errno("EIO"), dir), true);
  for (const message of ["Input/output error", "MDB_MAP_FULL: mapsize", "write: no SPACE left"]) {
    assert.equal(await failedForLackOfSpace(new Error(message), dir), true, message);
  }
  assert.equal(await failedForLackOfSpace("Input/output error", dir), true, "a thrown string");
  fakeFree(t, NEARLY_FULL_BYTES);
  assert.equal(await failedForLackOfSpace(errno("EIO"), dir), false, "exactly the threshold");
});

test("any other failure is damage, however full the disk", async (t) => {
  const dir = await tempDir(t);
  fakeFree(t, 0);
  for (const error of [
    errno("EBADMSG", "checksum mismatch"),
    errno("EROFS"),
    new Error("bug"),
    null,
  ]) {
    assert.equal(await failedForLackOfSpace(error, dir), false, String(error));
  }
});

test("an I/O error on a disk with room, or where statfs fails, is damage", async (t) => {
  const dir = await tempDir(t);
  assert.equal(await failedForLackOfSpace(errno("EIO"), dir), false, "the real disk has room");
  assert.equal(await failedForLackOfSpace(errno("EIO"), join(dir, "missing")), false);
});

test("snapshotRoom: null above the reserve, else why, with the free bytes", async (t) => {
  const dir = await tempDir(t);
  assert.equal(await snapshotRoom(dir), null, "the real disk has more than 64 MiB");
  assert.equal(await snapshotRoom(dir, 0), null);
  assert.equal(await snapshotRoom(join(dir, "missing"), Number.MAX_SAFE_INTEGER), null);
  fakeFree(t, SNAPSHOT_DISK_RESERVE_BYTES);
  assert.equal(
    await snapshotRoom(dir),
    `only ${SNAPSHOT_DISK_RESERVE_BYTES} bytes free on the data dir's disk (a snapshot must leave ${SNAPSHOT_DISK_RESERVE_BYTES})`,
    "exactly the default reserve is not enough",
  );
  assert.equal(await snapshotRoom(dir, SNAPSHOT_DISK_RESERVE_BYTES - 1), null);
});
