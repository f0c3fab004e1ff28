/**
 * The upload bookkeeping behind `--max-uploads` and `--max-uploads-per-connection`: a
 * connection and the node each get their cap and not one more, a release frees exactly
 * one slot (twice is once), and one connection's uploads never use another's allowance.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/errors.ts";
import { UploadSlots } from "../../../src/server/upload-slots.ts";

const refused = (pattern: RegExp) => (error: unknown) =>
  error instanceof DfsError && error.code === "resource_exhausted" && pattern.test(error.message);

test("caps per connection and per node; releases are idempotent", () => {
  const slots = new UploadSlots({ uploadsPerConnection: 2, uploadsPerNode: 3 });
  const a1 = slots.acquire("a");
  slots.acquire("a");
  assert.throws(() => slots.acquire("a"), refused(/on this connection \(limit 2\)/));
  slots.acquire("b");
  assert.equal(slots.inProgress, 3);
  assert.throws(() => slots.acquire("c"), refused(/on this node \(limit 3\)/));
  a1();
  a1();
  assert.equal(slots.inProgress, 2, "a second release frees nothing more");
  slots.acquire("c");
  assert.throws(() => slots.acquire("a"), refused(/on this node/));
});
