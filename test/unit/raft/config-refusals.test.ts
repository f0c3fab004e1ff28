/**
 * What a refused configuration change or leadership transfer tells the operator (the
 * message reaches `dfs` as the error text), and the edges of the refusals that the
 * membership and transfer tests reach only in their common case (found by mutation
 * testing, see docs/mutation/raft-core.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigChangeError } from "../../../src/raft/errors.ts";
import { type Member, type Membership, votersOnly } from "../../../src/raft/membership.ts";
import { clusterWithLeader, ELECTION_TICK } from "./helpers.ts";

const BASE = votersOnly([1, 2, 3]);

function member(id: number, learner = false): Member {
  return { id, learner, peerAddr: `p${id}`, clientAddr: `c${id}`, identity: "" };
}

/** The ConfigChangeError `fn` throws (fails if it throws nothing or something else). */
function refusalOf(fn: () => unknown): ConfigChangeError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigChangeError) return error;
    throw error;
  }
  assert.fail("accepted");
}

test("each configuration refusal says in its message what is wrong", () => {
  const net = clusterWithLeader(3);
  const n1 = net.node(1);
  const two: Membership = {
    members: [...BASE.members, member(4, true), member(5, true)],
    removed: [],
  };
  assert.match(
    refusalOf(() => n1.proposeMembership(two)).message,
    /members 4, 5 would change at once/,
  );
  const noVoter: Membership = { members: [member(1, true)], removed: [] };
  assert.match(refusalOf(() => n1.proposeMembership(noVoter)).message, /^invalid configuration: /);
  const unlisted: Membership = { members: BASE.members.filter((m) => m.id !== 3), removed: [] };
  assert.match(
    refusalOf(() => n1.proposeMembership(unlisted)).message,
    /the removed list must grow by exactly the members removed/,
  );

  net.filter = (m) => m.type !== "appendResp";
  const pos = n1.proposeMembership({ members: [...BASE.members, member(4, true)], removed: [] });
  const pending = refusalOf(() => n1.proposeMembership(two));
  assert.equal(pending.reason, "pending");
  assert.match(pending.message, new RegExp(`at index ${pos.index} is not committed yet`));
});

test("a removed list that names another id than the one removed is refused", () => {
  const net = clusterWithLeader(3);
  const wrongId: Membership = { members: BASE.members.filter((m) => m.id !== 3), removed: [4] };
  assert.equal(refusalOf(() => net.node(1).proposeMembership(wrongId)).reason, "invalid");
  const extra: Membership = { members: BASE.members.filter((m) => m.id !== 3), removed: [3, 4] };
  assert.equal(refusalOf(() => net.node(1).proposeMembership(extra)).reason, "invalid");
});

test("a change is accepted when exactly a quorum of its voters is reachable", () => {
  const net = clusterWithLeader(3);
  net.isolate(3);
  net.ticks(ELECTION_TICK + 1, [1, 2]);
  const grow: Membership = { members: [...BASE.members, member(4, true)], removed: [] };
  const pos = net.node(1).proposeMembership(grow); // 1 and 2 of 3 voters: a quorum
  assert.equal(net.node(1).status().pendingConfig, pos.index);
});

test("a no-quorum refusal counts reachable voters against the quorum", () => {
  const net = clusterWithLeader(3);
  net.isolate(2);
  net.isolate(3);
  net.ticks(ELECTION_TICK + 1, [1]);
  const grow: Membership = { members: [...BASE.members, member(4, true)], removed: [] };
  const e = refusalOf(() => net.node(1).proposeMembership(grow));
  assert.equal(e.reason, "no_quorum");
  assert.match(
    e.message,
    /only 1 of the 3 voters of the new configuration are reachable; a quorum needs 2/,
  );
});

test("a bad transfer target's refusal names it, or says none was found", () => {
  const net = clusterWithLeader(3);
  assert.match(
    refusalOf(() => net.node(1).transferLeadership(7)).message,
    /node 7 is not another voter/,
  );
  const single = clusterWithLeader(1);
  const e = refusalOf(() => single.node(1).transferLeadership(0));
  assert.equal(e.reason, "bad_target");
  assert.match(e.message, /node \(none\) is not another voter/);
});
