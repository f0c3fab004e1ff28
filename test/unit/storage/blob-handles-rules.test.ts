/**
 * The descriptor cache at its edges (src/storage/blob-handles.ts): past the bound, only
 * idle descriptors are closed (a borrowed one is passed over and stays cached, so its
 * next use needs no reopen); a forgotten descriptor with two borrowers is closed by the
 * last, not the first; a failed open that outlived its slot does not evict the name's
 * newer descriptor. blob-rules.test.ts covers the order of eviction and closing on
 * return (mutation testing, issue 25).
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

/** A cache over fake handles whose opens and closes go to `log`. */
function loggingCache(maxOpen: number, log: string[]): BlobHandles {
  return new BlobHandles(maxOpen, async (name) => {
    log.push(`open ${name}`);
    return { close: async () => void log.push(`close ${name}`) } as unknown as FileHandle;
  });
}

/** A promise with its resolver, to hold a borrowed handle open. */
function gate(): { done: Promise<void>; open: () => void } {
  let open!: () => void;
  const done = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { done, open };
}

test("a descriptor forgotten under two borrowers is closed once, when the last returns it", async () => {
  const log: string[] = [];
  const cache = loggingCache(4, log);
  const first = gate();
  const second = gate();
  const one = cache.use("a", false, () => first.done);
  const two = cache.use("a", false, () => second.done);
  await cache.forget("a");
  first.open();
  await one;
  assert.deepEqual(log, ["open a"], "the second borrower still reads and writes through it");
  second.open();
  await two;
  assert.deepEqual(log, ["open a", "close a"]);
});

test("a failed open of a forgotten descriptor leaves the name's newer descriptor cached", async () => {
  const log: string[] = [];
  let failOpen!: (error: Error) => void;
  const cache = new BlobHandles(4, (name) => {
    log.push(`open ${name}`);
    if (log.length === 1) {
      return new Promise<FileHandle>((_, reject) => {
        failOpen = reject;
      });
    }
    return Promise.resolve({ close: async () => undefined } as unknown as FileHandle);
  });
  const failing = cache.use("a", false, async () => "first");
  await cache.forget("a"); // unlinked while its open is still under way
  assert.equal(await cache.use("a", false, async () => "second"), "second");
  failOpen(new Error("cannot open a"));
  await assert.rejects(failing, { message: "cannot open a" });
  assert.equal(cache.openCount, 1, "the second open's descriptor stays cached");
  assert.equal(await cache.use("a", false, async () => "third"), "third");
  assert.deepEqual(log, ["open a", "open a"], "and is used again with no reopen");
});
