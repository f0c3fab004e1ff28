/**
 * The core's plain data (src/raft/types.ts): the sentinels and the hard-state comparison
 * that decides whether a Ready asks the driver to persist a hard state again. The cluster
 * tests change term, vote and commit together, so a comparison that ignored one of them
 * went unnoticed; mutation testing (docs/mutation/raft-rest.md) showed it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EMPTY_HARD_STATE, EntryKind, hardStateEqual, NONE } from "../../../src/raft/types.ts";

describe("raft types", () => {
  test("a node that never ran has term 0, no vote and nothing committed", () => {
    assert.equal(NONE, 0);
    assert.deepEqual(EMPTY_HARD_STATE, { term: 0, vote: NONE, commit: 0 });
  });

  test("entry kinds keep their numbers (the WAL and the wire store them)", () => {
    assert.deepEqual([EntryKind.Normal, EntryKind.Noop, EntryKind.Config], [0, 1, 2]);
  });

  test("hard states are equal only when term, vote and commit all are", () => {
    const hs = { term: 3, vote: 2, commit: 7 };
    assert.equal(hardStateEqual(hs, { ...hs }), true);
    assert.equal(hardStateEqual(hs, { ...hs, term: 4 }), false);
    assert.equal(hardStateEqual(hs, { ...hs, vote: 1 }), false);
    assert.equal(hardStateEqual(hs, { ...hs, commit: 8 }), false);
  });
});
