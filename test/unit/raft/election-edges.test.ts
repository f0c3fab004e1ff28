/**
 * Election rules of the consensus core pinned at their edges (found by mutation testing,
 * see docs/mutation/raft-core.md): where a leader's lease ends, what a node that may not
 * campaign does when its election timeout passes, who may start a campaign, and that a
 * grant restarts the election timer.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_TERM } from "../../../src/raft/limits.ts";
import { votersOnly } from "../../../src/raft/membership.ts";
import type { Raft } from "../../../src/raft/raft.ts";
import {
  ELECTION_TICK,
  electLeader,
  heartbeat,
  newRaft,
  ofType,
  type RaftOpts,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3];

/**
 * Follower 2 of leader 1 in term 1 with check-quorum, whose randomized election timeout
 * is longer than the election tick (the seed is chosen for that), after `ticks` ticks
 * without hearing from its leader.
 */
function followerAfter(ticks: number): Raft {
  const r = newRaft(2, V3, { checkQuorum: true, seed: 3, hardState: { term: 1 } });
  r.step(heartbeat(1, 2, 1, 0));
  takeMsgs(r);
  for (let i = 0; i < ticks; i++) r.tick();
  assert.equal(r.role, "follower", "the seed must give a timeout above the election tick");
  assert.equal(r.leader, 1);
  return r;
}

describe("leader lease", () => {
  test("with check-quorum a vote is refused until an election tick passes without the leader", () => {
    const r = followerAfter(ELECTION_TICK - 1);
    r.step(voteReq(3, 2, 2, 0, 0));
    assert.deepEqual(takeMsgs(r), [], "still in the lease: ignored");
    assert.equal(r.term, 1);
  });

  test("with check-quorum the lease ends exactly an election tick after the leader was heard", () => {
    const r = followerAfter(ELECTION_TICK);
    r.step(voteReq(3, 2, 2, 0, 0));
    assert.deepEqual(
      ofType(takeMsgs(r), "voteResp").map((m) => [m.to, m.term, m.reject]),
      [[3, 2, false]],
    );
  });
});

describe("nodes that may not campaign", () => {
  test("a learner whose election timeout passes forgets its leader, and then grants a vote", () => {
    const withLearner = {
      members: [
        ...votersOnly(V3).members,
        { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
      ],
      removed: [],
    };
    const r = newRaft(4, [], {
      checkQuorum: true,
      membership: withLearner,
      hardState: { term: 1 },
    });
    r.step(heartbeat(1, 4, 1, 0));
    takeMsgs(r);
    for (let i = 0; i < 2 * ELECTION_TICK; i++) r.tick();
    assert.equal(r.role, "follower", "a learner never campaigns");
    assert.deepEqual(takeMsgs(r), []);
    assert.equal(r.leader, 0, "no leader heard within a timeout");
    r.step(voteReq(2, 4, 2, 0, 0));
    assert.deepEqual(
      ofType(takeMsgs(r), "voteResp").map((m) => m.reject),
      [false],
      "the lease is over here too",
    );
  });
});

describe("campaigns", () => {
  test("a leader asked to campaign keeps leading in its term", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    const term = r.term;
    r.campaign("vote");
    r.campaign("preVote");
    assert.equal(r.role, "leader");
    assert.equal(r.term, term);
    assert.deepEqual(takeMsgs(r), []);
  });

  test("a node at MAX_TERM never campaigns, as a term past it could not be sent", () => {
    const r = newRaft(1, V3, { hardState: { term: MAX_TERM } });
    for (let i = 0; i < 2 * ELECTION_TICK; i++) r.tick();
    r.campaign("vote");
    assert.equal(r.role, "follower");
    assert.equal(r.term, MAX_TERM);
    assert.deepEqual(takeMsgs(r), []);
  });

  test("granting a vote in our term restarts the election timer", () => {
    const opts: RaftOpts = { seed: 5, hardState: { term: 2 } };
    // A twin with the same seed shows when this node's election timeout fires.
    const twin = newRaft(2, V3, opts);
    let timeout = 0;
    while (twin.role === "follower") {
      twin.tick();
      timeout++;
    }
    const r = newRaft(2, V3, opts);
    for (let i = 0; i < timeout - 1; i++) r.tick();
    r.step(voteReq(3, 2, 2, 0, 0));
    assert.deepEqual(
      ofType(takeMsgs(r), "voteResp").map((m) => m.reject),
      [false],
    );
    for (let i = 0; i < timeout - 1; i++) r.tick();
    assert.equal(r.role, "follower", "a timeout has not passed since the grant");
    r.tick();
    assert.equal(r.role, "candidate");
  });
});

describe("vote counting", () => {
  test("a pre-vote grant that arrives after the pre-vote was won does not count as a vote", () => {
    const V5 = [1, 2, 3, 4, 5];
    const r = newRaft(1, V5, { preVote: true, hardState: { term: 1 } });
    r.campaign("preVote");
    r.step(voteResp(2, 1, 2, false, "preVoteResp"));
    r.step(voteResp(3, 1, 2, false, "preVoteResp"));
    assert.equal(r.role, "candidate");
    assert.equal(r.term, 2);
    r.step(voteResp(4, 1, 2, false, "preVoteResp"));
    r.step(voteResp(5, 1, 2, false, "preVoteResp"));
    assert.equal(r.role, "candidate", "no real vote was granted yet");
    assert.equal(r.term, 2, "nor was a second pre-vote won");
  });

  test("a campaign of the election timeout asks without the transfer flag", () => {
    const r = newRaft(1, V3, { hardState: { term: 1 } });
    for (let i = 0; i < 2 * ELECTION_TICK && r.role === "follower"; i++) r.tick();
    const asks = ofType(takeMsgs(r), "vote");
    assert.deepEqual(
      asks.map((m) => [m.to, m.transfer]),
      [
        [2, false],
        [3, false],
      ],
    );
  });
});
