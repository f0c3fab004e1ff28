/**
 * releaseBuffer gives back only what a caller owns whole: a buffer spanning its
 * ArrayBuffer (within the caller's slack for framing), never a pooled or shared one.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MIN_RELEASE_BYTES, releaseBuffer } from "../../../src/wire/index.ts";

test("a buffer owning its memory is released, and every view of it then reads empty", () => {
  const whole = Buffer.allocUnsafeSlow(MIN_RELEASE_BYTES + 12);
  const data = whole.subarray(12);
  assert.equal(releaseBuffer(data, 12), MIN_RELEASE_BYTES + 12);
  assert.equal(data.length, 0);
  assert.equal(whole.length, 0);
});

test("a view with more than the slack around it, a small or pooled buffer: left alone", () => {
  const whole = Buffer.allocUnsafeSlow(MIN_RELEASE_BYTES + 40);
  const data = whole.subarray(40);
  assert.equal(releaseBuffer(data, 12), 0); // e.g. a SHA-256 field shares the message
  assert.equal(data.length, MIN_RELEASE_BYTES);
  const pooled = Buffer.from("abc");
  assert.equal(releaseBuffer(pooled, 8192), 0);
  assert.equal(pooled.toString(), "abc");
});
