/**
 * The leader's commit, check-quorum and hand-over rules at their edges (found by
 * mutation testing of raft.ts 851-1135, see docs/mutation/raft-core-tail.md): the
 * scenario tests reach them only in their common case.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { votersOnly } from "../../../src/raft/membership.ts";
import {
  appendResp,
  bytes,
  clusterWithLeader,
  ELECTION_TICK,
  electLeader,
  heartbeatResp,
  newRaft,
  ofType,
  removedLeaderHandingOver,
  takeMsgs,
} from "./helpers.ts";

const V3 = [1, 2, 3];
const V5 = [1, 2, 3, 4, 5];

describe("leader commit", () => {
  test("a leader whose own fsync completes a quorum tells its followers the commit at once", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    r.propose([bytes("x")]);
    takeMsgs(r);
    r.step(appendResp(2, 1, r.term, 2)); // 2 holds x; the leader has not fsynced it yet
    assert.equal(r.log.committed, 1);
    r.onStable(2, r.term);
    assert.equal(r.log.committed, 2);
    assert.deepEqual(
      ofType(takeMsgs(r), "append").map((m) => [m.to, m.commit]),
      [
        [2, 2],
        [3, 2],
      ],
    );
  });

  test("an acknowledgement that moves no commit sends the other followers nothing", () => {
    const r = newRaft(1, V5);
    electLeader(r, V5, true);
    r.propose([bytes("x")]);
    r.onStable(2, r.term);
    takeMsgs(r);
    r.step(appendResp(2, 1, r.term, 2)); // 1 + 2 of 5 hold x: no quorum yet
    assert.equal(r.log.committed, 1);
    assert.deepEqual(takeMsgs(r), []);
  });

  test("a removed leader's own log no longer counts toward a commit", () => {
    const { r, removal } = removedLeaderHandingOver(); // the removal commits on 1 + 2
    const pos = { index: removal };
    assert.equal(r.membership.index, pos.index);
    assert.equal(r.role, "leader", "hands over to 2, which lags");
    r.step(appendResp(3, 1, r.term, r.log.lastIndex()));
    assert.equal(r.log.committed, pos.index, "3 alone of voters 2 and 3 holds x and y");
  });
});

describe("hand-over", () => {
  test("a leader that hands over on the commit that removes it sends nothing after its TimeoutNow", () => {
    const r = newRaft(1, V3, { maxMsgBytes: 1 }); // one entry per append
    electLeader(r, V3);
    r.step(appendResp(2, 1, r.term, 1)); // the no-op commits; 3 stays a paused probe
    const without1 = { members: votersOnly(V3).members.filter((m) => m.id !== 1), removed: [1] };
    const pos = r.proposeMembership(without1);
    r.propose([bytes("x"), bytes("y")]);
    r.step(appendResp(2, 1, r.term, r.log.lastIndex())); // 2 holds everything
    takeMsgs(r);
    // 3's answer commits the removal (2 and 3 of the old voters hold it; the leader has
    // not fsynced it) and 2 is caught up: the leader hands over and steps down at once.
    r.step(appendResp(3, 1, r.term, pos.index));
    assert.equal(r.membership.index, pos.index);
    assert.equal(r.role, "follower");
    const sent = takeMsgs(r).map((m) => m.type);
    assert.equal(sent.at(-1), "timeoutNow", `nothing after the TimeoutNow: ${sent.join(", ")}`);
  });
});

describe("hand-over in a cluster of two", () => {
  test("the survivor learns the removal from the TimeoutNow when the commit notice is lost", () => {
    // Leader 1 of voters 1 and 2 removes itself. 2's ack commits the removal; the append
    // telling 2 so is lost, then 1 hands over and is gone for good. With only the old
    // configuration in force, 2 would need 1's vote forever.
    const net = clusterWithLeader(2);
    const without1 = {
      members: votersOnly([1, 2]).members.filter((m) => m.id !== 1),
      removed: [1],
    };
    let gone = false;
    let removal = Number.POSITIVE_INFINITY;
    net.filter = (m) => {
      if (gone && (m.from === 1 || m.to === 1)) return false;
      if (m.from === 1 && (m.type === "append" || m.type === "heartbeat") && m.commit >= removal)
        return false;
      if (m.type === "timeoutNow") gone = true;
      return true;
    };
    removal = net.node(1).proposeMembership(without1).index;
    net.stabilize();
    assert.ok(gone, "1 handed over");
    assert.equal(net.raft(1).role, "follower");
    for (let i = 0; i < 4 && net.raft(2).role !== "leader"; i++) {
      net.ticks(ELECTION_TICK * 2, [2]);
      net.stabilize();
    }
    assert.equal(net.raft(2).role, "leader", "2 leads the cluster of one");
    assert.equal(net.raft(2).membership.index, removal, "the removal is in force on 2");
  });
});

describe("reads on a removed leader", () => {
  /**
   * Leader 1 of voters 1-4 after the removal of 1 committed while no remaining voter holds
   * its whole log: it still leads (handing over), but is no longer one of voters 2, 3, 4.
   */
  function removedLeader() {
    const V4 = [1, 2, 3, 4];
    const r = newRaft(1, V4);
    electLeader(r, V4, true);
    const without1 = { members: votersOnly(V4).members.filter((m) => m.id !== 1), removed: [1] };
    const pos = r.proposeMembership(without1);
    r.propose([bytes("x")]);
    r.onStable(r.log.lastIndex(), r.term);
    r.step(appendResp(2, 1, r.term, pos.index));
    r.step(appendResp(3, 1, r.term, pos.index)); // 1 + 2 + 3 of 4 commit the removal
    assert.equal(r.membership.index, pos.index);
    assert.equal(r.role, "leader");
    takeMsgs(r);
    return { r, commit: pos.index };
  }

  test("a removed leader's read needs a quorum of the remaining voters, not counting itself", () => {
    // 3 and 4 are a quorum of 2, 3, 4 without 2: they may have elected a newer leader
    // already, so the leader's own ack plus 2's proves nothing.
    const { r, commit } = removedLeader();
    r.readIndex(7);
    const round = ofType(takeMsgs(r), "heartbeat").find((m) => m.to === 2)?.context ?? 0;
    assert.ok(round > 0, "a confirmation round is started");
    r.step(heartbeatResp(2, 1, r.term, round));
    assert.deepEqual(r.readStates, [], "2 alone is no quorum of 2, 3, 4");
    r.step(heartbeatResp(3, 1, r.term, round));
    assert.deepEqual(r.readStates, [{ index: commit, context: 7 }]);
  });

  test("a removed leader whose one remaining voter is another node still asks it", () => {
    const V2 = [1, 2];
    const r = newRaft(1, V2);
    electLeader(r, V2, true);
    const without1 = { members: votersOnly(V2).members.filter((m) => m.id !== 1), removed: [1] };
    const pos = r.proposeMembership(without1);
    r.propose([bytes("x")]);
    r.onStable(r.log.lastIndex(), r.term);
    r.step(appendResp(2, 1, r.term, pos.index)); // commits the removal; 2 lacks x
    assert.equal(r.role, "leader");
    takeMsgs(r);
    r.readIndex(7);
    assert.deepEqual(r.readStates, [], "a lone voter, but not this node: no answer at once");
    const round = ofType(takeMsgs(r), "heartbeat").find((m) => m.to === 2)?.context ?? 0;
    r.step(heartbeatResp(2, 1, r.term, round));
    assert.deepEqual(r.readStates, [{ index: pos.index, context: 7 }]);
  });
});

describe("reads across a configuration change", () => {
  test("an ack from a voter removed since the round began no longer counts", () => {
    // Voters 1-5; the read round has acks from 1 (itself) and 4, one short of 3 of 5.
    // Then 4's removal commits: of 1, 2, 3, 5, an ack from 2 makes 1 and 2, no majority;
    // counting 4's old ack would make three.
    const r = newRaft(1, V5);
    electLeader(r, V5, true);
    takeMsgs(r);
    r.readIndex(7);
    const round = ofType(takeMsgs(r), "heartbeat").find((m) => m.to === 4)?.context ?? 0;
    assert.ok(round > 0, "a confirmation round is started");
    r.step(heartbeatResp(4, 1, r.term, round));
    const without4 = { members: votersOnly(V5).members.filter((m) => m.id !== 4), removed: [4] };
    const pos = r.proposeMembership(without4);
    r.onStable(r.log.lastIndex(), r.term);
    for (const id of [2, 3]) r.step(appendResp(id, 1, r.term, pos.index));
    assert.equal(r.membership.index, pos.index, "the removal of 4 is in force");
    takeMsgs(r);
    r.step(heartbeatResp(2, 1, r.term, round));
    assert.equal(r.readStates.length, 0, "1 and 2 are no majority of 1, 2, 3, 5");
    r.step(heartbeatResp(3, 1, r.term, round));
    assert.deepEqual(
      r.readStates.map((s) => s.context),
      [7],
      "1, 2 and 3 are",
    );
  });
});

describe("check-quorum", () => {
  test("a leader checks once per election timeout: heard from in the first, it steps down at the end of the second", () => {
    const r = newRaft(1, V3, { checkQuorum: true });
    electLeader(r, V3, true); // both followers answered: active for the first check
    for (let t = 1; t <= 2 * ELECTION_TICK; t++) {
      r.tick();
      const want = t < 2 * ELECTION_TICK ? "leader" : "follower";
      assert.equal(r.role, want, `tick ${t}`);
    }
  });
});

describe("snapshots the driver took", () => {
  test("a newer snapshot replaces the one held, so compaction may follow it", () => {
    const r = newRaft(1, [1]);
    electLeader(r, [1]);
    r.propose([bytes("a"), bytes("b"), bytes("c")]);
    r.onStable(4, r.term);
    r.appliedTo(4);
    r.snapshotTaken({ index: 2, term: r.term });
    r.snapshotTaken({ index: 3, term: r.term });
    r.compact(3);
    assert.deepEqual(r.log.compactedTo(), { index: 3, term: r.term });
  });
});
