/**
 * The aligned slots' sizes at their edges (src/storage/aligned-slots.ts): at least one
 * slot, of a whole number of 64 KiB WebAssembly pages and at least one, each refusal
 * named; every slot its own page-aligned span of one memory. direct-io.test.ts covers
 * lending and the direct writes (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { AlignedSlots, DIRECT_ALIGN } from "../../../src/storage/aligned-slots.ts";

const PAGE = 64 * 1024;

test("one slot of one 64 KiB page is the least; fewer, smaller or a partial page is refused", () => {
  const least = new AlignedSlots(1, PAGE);
  assert.equal(least.idle, 1);
  assert.equal(least.count, 1);
  assert.equal(least.slotBytes, PAGE);
  for (const [count, bytes] of [
    [0, PAGE],
    [1, 0],
    [1, PAGE - DIRECT_ALIGN],
    [1, PAGE + DIRECT_ALIGN],
    [2, 3 * PAGE + 1],
  ] as const) {
    assert.throws(() => new AlignedSlots(count, bytes), {
      name: "RangeError",
      message: `aligned slots: ${count} of ${bytes} bytes`,
    });
  }
});

test("each slot is its own span of the memory, at a multiple of its size", async () => {
  const slots = new AlignedSlots(3, 2 * PAGE);
  assert.equal(slots.idle, 3);
  const lent = [await slots.acquire(), await slots.acquire(), await slots.acquire()];
  assert.equal(slots.idle, 0);
  const offsets = lent.map((s) => s.byteOffset).sort((x, y) => x - y);
  assert.deepEqual(offsets, [0, 2 * PAGE, 4 * PAGE]);
  for (const slot of lent) {
    assert.equal(slot.byteLength, 2 * PAGE);
    assert.equal(slot.buffer.byteLength, 6 * PAGE, "one memory, exactly the slots' size");
  }
  slots.release(lent[0] as Buffer);
  assert.equal(slots.idle, 1);
  assert.equal(await slots.acquire(), lent[0], "a released slot is lent again");
});
