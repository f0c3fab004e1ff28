/**
 * RawNode's Ready/advance bookkeeping, each rule on its own: `hasReady` must see every
 * kind of pending work even when it is the only kind, a Ready hands over committed
 * entries up to the apply budget at once, `advance` copes with a snapshot that arrived
 * while the driver held a Ready, and the inputs RawNode forwards reach the core.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { votersOnly } from "../../../src/raft/membership.ts";
import type { SnapshotRequest } from "../../../src/raft/messages.ts";
import {
  appendReq,
  bytes,
  clusterWithLeader,
  entriesFromTerms,
  newRawNode,
  ofType,
} from "./helpers.ts";

const V3 = [1, 2, 3];

/** A single-voter leader whose no-op is durable and applied: nothing is pending. */
function quietSingleLeader(): ReturnType<typeof newRawNode> {
  const n = newRawNode(1, [1]);
  n.campaign("vote");
  n.advance(n.ready()); // the no-op is durable, so it commits
  n.advance(n.ready()); // and is applied
  assert.equal(n.hasReady(), false);
  return n;
}

test("hasReady: unpersisted entries alone are work", () => {
  const n = quietSingleLeader();
  n.propose([bytes("x")]); // no peers: no message; commit and vote unchanged
  assert.equal(n.hasReady(), true);
  assert.deepEqual(
    n.ready().entries.map((e) => e.index),
    [2],
  );
});

test("hasReady: committed entries that became durable after their Ready are work", () => {
  // A follower learns entries and their commit in one append: the commit is reported at
  // once, but the entries are applied only once durable, i.e. after advance.
  const n = newRawNode(2, V3, { hardState: { term: 1, vote: 1 } });
  n.step(appendReq(1, 2, 1, 0, 0, entriesFromTerms([1, 1]), 2));
  const rd = n.ready();
  assert.equal(rd.hardState?.commit, 2);
  assert.deepEqual(rd.committedEntries, [], "not durable yet");
  n.advance(rd);
  assert.equal(n.hasReady(), true, "the entries are now durable and committed");
  const rd2 = n.ready();
  assert.equal(rd2.hardState, null);
  assert.deepEqual(rd2.messages, []);
  assert.deepEqual(
    rd2.committedEntries.map((e) => e.index),
    [1, 2],
  );
  n.advance(rd2);
  assert.equal(n.hasReady(), false);
  assert.equal(n.status().applied, 2);
});

test("hasReady: a confirmed read alone is work", () => {
  const n = quietSingleLeader();
  n.readIndex(7); // a single voter confirms its own reads at once
  assert.equal(n.hasReady(), true);
  assert.deepEqual(n.ready().readStates, [{ index: 1, context: 7 }]);
});

test("Ready: every committed entry within the apply budget comes in one Ready", () => {
  const n = quietSingleLeader();
  const kib = new Uint8Array(1024);
  n.propose([kib, kib, kib]);
  n.advance(n.ready());
  assert.deepEqual(
    n.ready().committedEntries.map((e) => e.index),
    [2, 3, 4],
  );
});

test("Ready: entries past the 64 MiB apply budget wait for the next Ready", () => {
  const n = quietSingleLeader();
  const big = new Uint8Array(40 * 1024 * 1024); // two of them pass the budget
  n.propose([big, big]);
  n.advance(n.ready());
  const rd = n.ready();
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [2],
  );
  n.advance(rd);
  assert.equal(n.hasReady(), true, "the second entry is still to apply");
  assert.deepEqual(
    n.ready().committedEntries.map((e) => e.index),
    [3],
  );
});

test("advance: a snapshot installed while the driver held a Ready keeps applied at the snapshot", () => {
  const n = newRawNode(2, V3, { hardState: { term: 1, vote: 1 } });
  n.step(appendReq(1, 2, 1, 0, 0, entriesFromTerms([1, 1, 1]), 3));
  n.advance(n.ready()); // durable
  const rd = n.ready(); // committed entries 1..3 handed to the state machine
  assert.deepEqual(
    rd.committedEntries.map((e) => e.index),
    [1, 2, 3],
  );
  const snap: SnapshotRequest = {
    type: "snapshot",
    from: 1,
    to: 2,
    term: 1,
    snapshot: { index: 10, term: 1, membership: votersOnly(V3) },
  };
  n.step(snap);
  assert.equal(n.status().applied, 10);
  n.advance(rd); // the driver finishes the older Ready
  assert.equal(n.status().applied, 10, "applied never goes back");
  assert.deepEqual(n.ready().snapshot, { index: 10, term: 1, membership: votersOnly(V3) });
});

test("softState reports role, leader and term", () => {
  const n = newRawNode(1, [1], { hardState: { term: 2 } });
  assert.deepEqual(n.softState(), { role: "follower", leader: 0, term: 2 });
  n.campaign("vote");
  assert.deepEqual(n.softState(), { role: "leader", leader: 1, term: 3 });
  assert.deepEqual(n.ready().softState, { role: "leader", leader: 1, term: 3 });
});

test("campaign without a kind starts a pre-vote", () => {
  const n = newRawNode(1, V3, { preVote: true, hardState: { term: 4 } });
  n.campaign();
  assert.equal(n.status().role, "pre-candidate");
  assert.equal(n.status().term, 4, "a pre-vote leaves the term alone");
  assert.equal(ofType(n.ready().messages, "preVote").length, 2);
});

test("snapshotTaken and compact reach the core", () => {
  const n = quietSingleLeader();
  n.propose([bytes("a"), bytes("b")]);
  n.advance(n.ready());
  n.advance(n.ready());
  assert.equal(n.status().applied, 3);
  n.snapshotTaken({ index: 3, term: 1 });
  n.compact(3);
  assert.deepEqual(n.status().compacted, { index: 3, term: 1 });
  assert.equal(n.status().firstIndex, 4);
  assert.deepEqual(n.membershipAt(3), votersOnly([1]));
});

test("reportSnapshot: a failed snapshot send puts the follower back to probing", () => {
  const net = clusterWithLeader(3);
  net.isolate(3);
  net.node(1).propose([bytes("a"), bytes("b")]);
  net.stabilize();
  const leader = net.node(1);
  assert.equal(leader.status().applied, 3);
  leader.snapshotTaken({ index: 3, term: 1 });
  leader.compact(3);
  net.heal();
  net.filter = (m) => m.type !== "snapshot"; // the send fails
  for (let i = 0; i < 5 && leader.status().progress.get(3)?.state !== "snapshot"; i++) net.tick();
  assert.equal(leader.status().progress.get(3)?.state, "snapshot");
  leader.reportSnapshot(3, false);
  assert.equal(leader.status().progress.get(3)?.state, "probe");
});
