/**
 * Leadership transfer (thesis §3.10): proposals stop, the target is brought up to date,
 * then told to campaign at once (TimeoutNow); its vote requests carry the transfer flag,
 * which voters honour even inside the leader lease; abandoned after an election timeout.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigChangeError, NotLeaderError } from "../../../src/raft/errors.ts";
import { type Membership, votersOnly } from "../../../src/raft/membership.ts";
import { bytes, clusterWithLeader, ELECTION_TICK, ofType } from "./helpers.ts";

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigChangeError) return error.reason;
    if (error instanceof NotLeaderError) return `not_leader:${error.leader}`;
    throw error;
  }
  return "accepted";
}

const LEASE = { preVote: true, checkQuorum: true } as const;

describe("leadership transfer", () => {
  test("the target becomes leader in the next term, the old one follows it", () => {
    const net = clusterWithLeader(3, LEASE);
    assert.equal(net.node(1).transferLeadership(2), 2);
    net.stabilize();
    assert.deepEqual(net.leaders(), [2]);
    assert.equal(net.node(2).status().term, 2);
    assert.equal(net.node(1).status().leader, 2);
    const votes = ofType(net.sent, "vote").filter((m) => m.from === 2);
    assert.ok(votes.length > 0 && votes.every((m) => m.transfer), "vote requests flagged");
  });

  test("the transfer flag is what gets votes inside the lease", () => {
    const net = clusterWithLeader(3, LEASE);
    // Without the flag, node 2's election is ignored by voters that hear from node 1.
    net.raft(2).campaign("vote");
    net.stabilize();
    assert.deepEqual(net.leaders(), [1]);
    const net2 = clusterWithLeader(3, LEASE);
    net2.node(1).transferLeadership(3);
    net2.stabilize();
    assert.deepEqual(net2.leaders(), [3]);
  });

  test("proposals and changes are refused while a transfer is under way", () => {
    const net = clusterWithLeader(3, LEASE);
    net.isolate(3);
    net.node(1).transferLeadership(3);
    assert.equal(
      reason(() => net.node(1).propose([bytes("x")])),
      "not_leader:3",
    );
    const grow: Membership = votersOnly([1, 2, 3, 4]);
    assert.equal(
      reason(() => net.node(1).proposeMembership(grow)),
      "transferring",
    );
    assert.equal(net.node(1).status().transferee, 3);
  });

  test("TimeoutNow only once the target holds the whole log", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => !(m.type === "append" && m.to === 3);
    net.node(1).propose([bytes("a"), bytes("b")]);
    net.stabilize();
    net.node(1).transferLeadership(3);
    net.stabilize();
    assert.equal(ofType(net.sent, "timeoutNow").length, 0, "3 lags: no TimeoutNow");
    assert.equal(net.node(3).status().lastIndex, 1);
    net.heal();
    net.tick();
    const tn = ofType(net.sent, "timeoutNow");
    assert.equal(tn.length, 1);
    assert.equal(tn[0]?.to, 3);
    assert.deepEqual(net.leaders(), [3]);
    assert.equal(net.node(3).status().lastIndex, 4, "3 had 3 entries + its no-op");
  });

  test("abandoned after an election timeout: proposals resume", () => {
    const net = clusterWithLeader(3);
    net.isolate(3);
    net.node(1).transferLeadership(3);
    net.ticks(ELECTION_TICK - 1, [1]);
    assert.equal(net.node(1).status().transferee, 3);
    net.ticks(1, [1]);
    assert.equal(net.node(1).status().transferee, 0);
    assert.equal(net.node(1).status().role, "leader");
    assert.equal(
      reason(() => net.node(1).propose([bytes("x")])),
      "accepted",
    );
  });

  test("to = 0 picks the most caught-up voter", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => !(m.type === "append" && m.to === 2);
    net.node(1).propose([bytes("a")]);
    net.stabilize();
    assert.equal(net.node(1).transferLeadership(0), 3);
  });

  test("a target that is not another voter is refused with `bad_target`", () => {
    const net = clusterWithLeader(3);
    for (const to of [1, 7])
      assert.equal(
        reason(() => net.node(1).transferLeadership(to)),
        "bad_target",
      );
    assert.equal(
      reason(() => net.node(2).transferLeadership(3)),
      "not_leader:1",
    );
  });

  test("a TimeoutNow from anyone but our leader is ignored", () => {
    const net = clusterWithLeader(3);
    net.deliver([{ type: "timeoutNow", from: 2, to: 3, term: 1, commit: 0 }]);
    assert.deepEqual(net.leaders(), [1]);
    assert.equal(net.node(3).status().term, 1);
  });
});
