/**
 * The descriptor cache's eviction at its edge (src/storage/blob-handles.ts): past the
 * bound, only idle descriptors are closed; a borrowed one is passed over and stays
 * cached, so its next use needs no reopen. blob-rules.test.ts covers the order of
 * eviction and closing on return (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import type { FileHandle } from "node:fs/promises";
import { test } from "node:test";
import { BlobHandles } from "../../../src/storage/blob-handles.ts";

test("eviction passes over a borrowed descriptor: it stays cached and is used again", async () => {
  const log: string[] = [];
  const cache = new BlobHandles(1, async (name) => {
    log.push(`open ${name}`);
    return { close: async () => void log.push(`close ${name}`) } as unknown as FileHandle;
  });
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const borrowing = cache.use("a", false, () => held);
  await cache.use("b", false, async () => undefined); // two open, a busy: nothing closed yet
  assert.deepEqual(log, ["open a", "open b"]);
  release();
  await borrowing;
  await cache.use("a", false, async () => undefined); // b is the idle one now
  assert.deepEqual(log, ["open a", "open b", "close b"]);
  assert.equal(cache.openCount, 1);
});
