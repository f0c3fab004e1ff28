/**
 * The OS lock primitive (src/storage/file-lock.ts) on its own: unlockFile drops the lock
 * while the file stays open, so another open file of the same LOCK gets it. lock.ts
 * always closes the file right after unlocking, which drops the lock too, so only this
 * test sees whether unlockFile does anything (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { tryLockFile, unlockFile } from "../../../src/storage/file-lock.ts";
import { tempDir } from "./fixtures.ts";

test("unlockFile lets another open file take the lock while the holder stays open", async (t) => {
  const path = join(await tempDir(t), "LOCK");
  const holder = await open(path, constants.O_RDWR | constants.O_CREAT);
  const other = await open(path, constants.O_RDWR);
  t.after(async () => {
    await holder.close();
    await other.close();
  });
  assert.equal(tryLockFile(holder.fd), true);
  assert.equal(tryLockFile(other.fd), false, "held through the other open file");
  unlockFile(holder.fd);
  assert.equal(tryLockFile(other.fd), true, "dropped with the holder still open");
  assert.equal(tryLockFile(holder.fd), false);
});
