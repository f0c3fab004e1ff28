/**
 * RawNode's queries (etcd's Status()): what the loop and `dfs status` read instead of
 * reaching into the core. They report copies, so holding one changes nothing.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { clusterWithLeader, newRawNode } from "./helpers.ts";

test("status reports term, role, leader and log positions, and progress on a leader", () => {
  const net = clusterWithLeader(3);
  const leader = net.node(1).status();
  assert.equal(leader.role, "leader");
  assert.equal(leader.leader, 1);
  assert.equal(leader.vote, 1);
  assert.equal(leader.commit, 1, "the no-op committed");
  assert.equal(leader.lastIndex, 1);
  assert.equal(leader.stableIndex, 1);
  assert.deepEqual(leader.compacted, { index: 0, term: 0 });
  assert.deepEqual([...leader.progress.keys()].sort(), [2, 3]);
  for (const pr of leader.progress.values()) {
    assert.equal(pr.match, 1);
    assert.equal(pr.state, "replicate");
  }
  const follower = net.node(2).status();
  assert.equal(follower.role, "follower");
  assert.equal(follower.leader, 1);
  assert.equal(follower.term, leader.term);
  assert.equal(follower.progress.size, 0, "only a leader tracks progress");
});

test("status is a copy: holding it does not follow the node", () => {
  const net = clusterWithLeader(3);
  const before = net.node(1).status();
  net.node(1).propose([new Uint8Array([1])]);
  net.stabilize();
  assert.equal(before.lastIndex, 1);
  assert.equal(net.node(1).status().lastIndex, 2);
  assert.equal(before.progress.get(2)?.match, 1);
});

test("termAt and entryAt read the log; campaign starts an election", () => {
  const n = newRawNode(1, [1], { logTerms: [1, 2], hardState: { term: 2 } });
  assert.equal(n.termAt(2), 2);
  assert.equal(n.termAt(3), undefined);
  assert.equal(n.entryAt(1)?.term, 1);
  n.campaign("vote");
  assert.equal(n.status().role, "leader", "a single voter wins at once");
  assert.equal(n.hardState().term, 3);
});
