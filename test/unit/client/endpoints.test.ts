/**
 * The client's endpoint memory: spread reads walk every endpoint in turn whatever the
 * leader is, while leader-bound calls keep going to the leader it learned.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { EndpointSet } from "../../../src/client/endpoints.ts";

test("spread reads go round-robin over every endpoint; writes stay on the known leader", () => {
  const set = new EndpointSet(["a:1", "b:1", "c:1"]);
  set.redirect("b:1");
  assert.deepEqual(
    Array.from({ length: 6 }, () => set.spread()),
    ["a:1", "b:1", "c:1", "a:1", "b:1", "c:1"],
  );
  assert.equal(set.next(), "b:1", "the leader is still where writes go");
  set.redirect("d:1"); // a leader learned from a hint joins the rotation
  assert.deepEqual(
    Array.from({ length: 4 }, () => set.spread()),
    ["a:1", "b:1", "c:1", "d:1"],
  );
});
