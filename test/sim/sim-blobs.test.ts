/**
 * The simulated blob directory's crash model (sim-blobs.ts): synced bytes always
 * survive, unsynced ones are lost, kept, torn or zeroed, never-synced blobs and unsynced
 * unlinks go either way; over many seeded crashes every outcome shows up.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Rng } from "../support/rng.ts";
import { EventQueue } from "./event-queue.ts";
import { SimBlobs } from "./sim-blobs.ts";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";

/** A blob directory and its BlobIo, with the queue run to completion after each call. */
function setup(seed: number) {
  const queue = new EventQueue();
  const blobs = new SimBlobs(queue, new Rng(seed));
  const io = blobs.io(
    () => true,
    (fn) => fn(),
  );
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    for (let fn = queue.next(); fn !== undefined; fn = queue.next()) fn();
    return p;
  };
  return { blobs, io, settle };
}

describe("simulated blobs", () => {
  test("synced writes survive every crash; reads see unsynced ones before it", async () => {
    for (let seed = 1; seed <= 50; seed++) {
      const { blobs, io, settle } = setup(seed);
      await settle(io.write(A, 0, Buffer.from("hello")));
      await settle(io.sync([A]));
      await settle(io.write(A, 1024 * 1024, Buffer.from("later")));
      assert.equal((await settle(io.read(A, 1024 * 1024, 5))).toString(), "later");
      blobs.crash();
      assert.equal(blobs.peek(A, 0, 5)?.toString(), "hello", `seed ${seed}`);
    }
  });

  test("a crash loses, keeps, tears or zeroes unsynced writes, and never-synced blobs", async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 200; seed++) {
      const { blobs, io, settle } = setup(seed);
      await settle(io.write(A, 0, Buffer.from("base")));
      await settle(io.sync([A]));
      await settle(io.write(A, 4, Buffer.from("0123456789")));
      await settle(io.write(B, 0, Buffer.from("new")));
      blobs.crash();
      const tail = blobs.peek(A, 4, 10);
      const size = (await settle(io.size(A))) ?? 0;
      if (tail?.toString() === "0123456789") seen.add("kept");
      else if (tail?.every((b) => b === 0)) seen.add("zeroed");
      else if (size === 4) seen.add("lost");
      else seen.add("torn");
      seen.add((await settle(io.size(B))) === undefined ? "blob gone" : "blob kept");
      assert.equal(blobs.peek(A, 0, 4)?.toString(), "base", `seed ${seed}`);
    }
    assert.deepEqual([...seen].sort(), [
      "blob gone",
      "blob kept",
      "kept",
      "lost",
      "torn",
      "zeroed",
    ]);
  });

  test("an unlink is durable once it resolved; before, a crash may undo it", async () => {
    const outcomes = new Set<boolean>();
    for (let seed = 1; seed <= 40; seed++) {
      const { blobs, io, settle } = setup(seed);
      await settle(io.write(A, 0, Buffer.from("x")));
      await settle(io.sync([A]));
      void io.unlink(A); // not run to completion
      assert.equal(await io.size(A), undefined, "gone from the listing at once");
      blobs.crash();
      outcomes.add(blobs.names().includes(A));
    }
    assert.deepEqual([...outcomes].sort(), [false, true]);
    const { blobs, io, settle } = setup(7);
    await settle(io.write(A, 0, Buffer.from("x")));
    await settle(io.sync([A]));
    await settle(io.unlink(A));
    blobs.crash();
    assert.deepEqual(blobs.names(), []);
  });

  test("a read past the end throws; names are checked", async () => {
    const { io, settle } = setup(1);
    await settle(io.write(A, 0, Buffer.from("abc")));
    await assert.rejects(settle(io.read(A, 0, 4)), /past its end/);
    assert.throws(() => io.write("../etc", 0, Buffer.from("x")), /invalid blob name/);
  });
});
