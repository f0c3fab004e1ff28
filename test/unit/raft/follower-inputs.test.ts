/**
 * How a follower takes its leader's snapshots and appends, at the edges the scenario
 * tests do not reach (found by mutation testing of raft.ts 851-1135, see
 * docs/mutation/raft-core-tail.md).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { newRaft } from "./helpers.ts";

const V3 = [1, 2, 3];

describe("snapshots", () => {
  const snapshot = (index: number, term: number) =>
    ({ type: "snapshot", from: 1, to: 2, term: 2, snapshot: { index, term } }) as const;

  test("a candidate that gets a snapshot of its term follows the sender", () => {
    const r = newRaft(2, V3, { hardState: { term: 1 } });
    r.campaign("vote");
    assert.equal(r.role, "candidate");
    r.step(snapshot(5, 2));
    assert.equal(r.role, "follower");
    assert.equal(r.leader, 1);
  });

  test("an installed snapshot is one the log may be compacted to", () => {
    const r = newRaft(2, V3, { hardState: { term: 2 } });
    r.step(snapshot(5, 2));
    assert.equal(r.snapshotToInstall?.index, 5);
    r.compact(5);
    assert.deepEqual(r.log.compactedTo(), { index: 5, term: 2 });
  });
});

describe("ReadIndex answers", () => {
  test("only a follower takes one: a candidate ignores it, even from id 0, its unknown leader", () => {
    const r = newRaft(2, V3, { hardState: { term: 1 } });
    r.campaign("vote");
    r.step({ type: "readIndexResp", from: 0, to: 2, term: 2, index: 0, context: 1 });
    assert.deepEqual(r.readStates, []);
  });
});
