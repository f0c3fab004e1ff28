/**
 * The core's errors carry what the server maps to client errors: their names (the server
 * and clients match on them), a readable message, the leader hint and the refusal reason.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigChangeError, NotLeaderError } from "../../../src/raft/index.ts";

test("NotLeaderError names itself and carries the leader hint", () => {
  const e = new NotLeaderError(3);
  assert.ok(e instanceof Error);
  assert.equal(e.name, "NotLeaderError");
  assert.equal(e.message, "not the leader");
  assert.equal(e.leader, 3);
});

test("ConfigChangeError names itself and carries its reason and message", () => {
  const e = new ConfigChangeError("no_quorum", "voters 4, 5 not heard from");
  assert.ok(e instanceof Error);
  assert.equal(e.name, "ConfigChangeError");
  assert.equal(e.reason, "no_quorum");
  assert.equal(e.message, "voters 4, 5 not heard from");
});
