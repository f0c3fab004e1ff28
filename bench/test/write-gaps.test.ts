/** The planned-restart figure: longest pause between acknowledged writes in a window. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { longestGap } from "../lib/write-gaps.ts";

describe("longestGap", () => {
  test("counts the pause that began before the event at `from`", () => {
    // Steady 1 ms writes, a stop at 10.5, the next ack at 900.
    const acks = [8, 9, 10, 900, 901, 902];
    assert.deepEqual(longestGap(acks, 10.5, 1000), { ms: 890, from: 10 });
  });

  test("takes the longest of several pauses, not the first or the last", () => {
    const acks = [0, 5, 50, 51, 300, 301, 320];
    assert.deepEqual(longestGap(acks, 1, 400), { ms: 249, from: 51 });
  });

  test("windows that meet at `from` do not share an interval", () => {
    const acks = [0, 1, 3, 500, 501];
    const before = longestGap(acks, -1, 3);
    const after = longestGap(acks, 3, 600);
    assert.deepEqual(before, { ms: 2, from: 1 });
    assert.deepEqual(after, { ms: 497, from: 3 });
    // The long interval ends exactly at `from`: it is the earlier window's.
    assert.deepEqual(longestGap([0, 100, 101, 103], 100, 200), { ms: 2, from: 101 });
  });

  test("ignores intervals that end after `to`", () => {
    const acks = [0, 1, 2, 3, 1000];
    assert.deepEqual(longestGap(acks, 0, 3), { ms: 1, from: 0 });
  });

  test("a window with no interval ending in it has no gap", () => {
    assert.ok(Number.isNaN(longestGap([0, 1, 2], 5, 10).ms));
    assert.ok(Number.isNaN(longestGap([7], 0, 10).ms));
    assert.ok(Number.isNaN(longestGap([], 0, 10).ms));
  });
});
