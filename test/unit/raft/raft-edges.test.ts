/**
 * Rules of the consensus core that the scenario tests reach only in their common case,
 * each pinned at its edge (found by mutation testing, see docs/mutation/raft-core.md).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_TERM_STEP } from "../../../src/raft/limits.ts";
import { encodeMembership, votersOnly } from "../../../src/raft/membership.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { EntryKind } from "../../../src/raft/types.ts";
import {
  appendReq,
  appendResp,
  bytes,
  clusterWithLeader,
  ELECTION_TICK,
  electLeader,
  entriesFromTerms,
  heartbeat,
  heartbeatResp,
  Network,
  newRaft,
  ofType,
  raftConfig,
  removedLeaderHandingOver,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3];

describe("stale terms", () => {
  test("with check-quorum a stale append, like a stale heartbeat, is answered in our term", () => {
    const r = newRaft(2, V3, { checkQuorum: true, hardState: { term: 3 } });
    r.step(appendReq(1, 2, 2, 0, 0, [], 0));
    const acks = ofType(takeMsgs(r), "appendResp");
    assert.deepEqual(
      acks.map((m) => [m.to, m.term, m.reject]),
      [[1, 3, false]],
    );
    assert.equal(r.term, 3);
  });

  test("with pre-vote a stale pre-vote gets a rejection, and other stale messages nothing", () => {
    const r = newRaft(2, V3, { preVote: true, checkQuorum: true, hardState: { term: 3 } });
    r.step(voteReq(1, 2, 2, 0, 0, "preVote"));
    const answers = takeMsgs(r);
    assert.deepEqual(
      answers.map((m) => [m.type, m.term, "reject" in m ? m.reject : undefined]),
      [["preVoteResp", 3, true]],
    );
    r.step(voteReq(1, 2, 2, 0, 0, "vote"));
    r.step(voteResp(1, 2, 2, false));
    r.step(appendResp(1, 2, 2, 0));
    assert.deepEqual(takeMsgs(r), []);
  });
});

describe("higher terms", () => {
  test("a pre-vote rejection from a later term moves a pre-candidate to that term", () => {
    const r = newRaft(1, V3, { preVote: true, hardState: { term: 4 } });
    r.campaign("preVote");
    assert.equal(r.role, "pre-candidate");
    r.step(voteResp(2, 1, 6, true, "preVoteResp"));
    assert.equal(r.role, "follower");
    assert.equal(r.term, 6);
  });

  test("a pre-vote far ahead is dropped without stepping our term", () => {
    const r = newRaft(2, V3, { hardState: { term: 4 } });
    r.step(voteReq(3, 2, 4 + MAX_TERM_STEP + 1, 0, 0, "preVote"));
    assert.equal(r.drops.get("term_jump"), 1);
    assert.equal(r.term, 4, "a pre-vote never moves a term, even a step");
    assert.deepEqual(takeMsgs(r), []);
  });
});

describe("transfer", () => {
  test("a follower that knows no leader yet obeys a TimeoutNow of its term", () => {
    const r = newRaft(2, V3, { hardState: { term: 1 } });
    r.step({ type: "timeoutNow", from: 1, to: 2, term: 1, commit: 0 });
    assert.equal(r.role, "candidate");
    assert.equal(r.term, 2);
    const votes = ofType(takeMsgs(r), "vote");
    assert.deepEqual(
      votes.map((m) => m.transfer),
      [true, true],
      "asks with the transfer flag",
    );
  });
});

describe("transfer target", () => {
  test("to = 0 picks a voter even before any follower acknowledged an entry", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3); // no acks: every match is 0
    assert.equal(r.transferLeadership(0), 2);
  });

  test("to = 0 never picks a learner, however caught up", () => {
    const withLearner = {
      members: [
        ...votersOnly(V3).members,
        { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
      ],
      removed: [],
    };
    const r = newRaft(1, V3, { membership: withLearner });
    electLeader(r, V3);
    r.step(appendResp(4, 1, r.term, 1)); // only the learner holds the no-op
    assert.equal(r.transferLeadership(0), 2);
  });
});

describe("configuration", () => {
  test("a committed configuration entry that does not decode is skipped at restart", () => {
    const r = new Raft(raftConfig(1, []), {
      hardState: { term: 1, vote: 0, commit: 2 },
      log: {
        entries: [
          { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
          { index: 2, term: 1, kind: EntryKind.Config, data: bytes("not json") },
        ],
        offset: 0,
        offsetTerm: 0,
        committed: 2,
        applied: 1,
      },
      membership: votersOnly(V3),
    });
    assert.equal(r.membership.index, 1, "the configuration at applied stays in force");
    assert.deepEqual(r.membership.membership, votersOnly(V3));
  });
});

describe("configuration entries", () => {
  test("a normal entry whose bytes look like a configuration changes nothing", () => {
    const r = new Raft(raftConfig(1, []), {
      hardState: { term: 1, vote: 0, commit: 2 },
      log: {
        entries: [
          { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
          { index: 2, term: 1, kind: EntryKind.Normal, data: encodeMembership(votersOnly([1, 2])) },
        ],
        offset: 0,
        offsetTerm: 0,
        committed: 2,
        applied: 1,
      },
      membership: votersOnly(V3),
    });
    assert.equal(r.membership.index, 1);
    assert.deepEqual(r.membership.membership, votersOnly(V3));
  });

  test("a learner that learns a configuration commit keeps following its leader", () => {
    const net = clusterWithLeader(3);
    net.addNode(4);
    const grow = {
      members: [
        ...votersOnly(V3).members,
        { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
      ],
      removed: [],
    };
    const pos = net.node(1).proposeMembership(grow);
    net.stabilize();
    assert.equal(net.node(4).status().membership.index, pos.index);
    assert.equal(net.node(4).status().leader, 1);
  });
});

describe("removed leader", () => {
  test("a removed leader gives up its hand-over an election timeout after it began, whatever commits meanwhile", () => {
    const { r, removal } = removedLeaderHandingOver(); // the removal commits on 1 + 2 (old config)
    const pos = { index: removal };
    assert.equal(r.membership.index, pos.index);
    assert.equal(r.transferee, 2);
    for (let i = 0; i < ELECTION_TICK / 2; i++) r.tick();
    r.step(appendResp(2, 1, r.term, pos.index + 1));
    r.step(appendResp(3, 1, r.term, pos.index + 1));
    assert.equal(r.log.committed, pos.index + 1, "x committed on 2 + 3; nobody holds y");
    for (let i = 0; i < ELECTION_TICK / 2; i++) r.tick();
    assert.equal(r.role, "follower", "abandoned and stepped down");
    assert.equal(ofType(takeMsgs(r), "timeoutNow").length, 0);
  });
});

describe("removed ids", () => {
  const WITHOUT1 = { members: votersOnly(V3).members.filter((m) => m.id !== 1), removed: [1] };

  /** Node 2, following `leader` in term 2, after a committed configuration removed node 1. */
  function followerAfterRemoval(leader: number): Raft {
    if (leader !== 1) {
      const r = newRaft(2, V3, { hardState: { term: 2 }, membership: WITHOUT1 });
      r.step(heartbeat(leader, 2, 2, 0));
      takeMsgs(r);
      return r;
    }
    // Leader 1's own append carries (and commits) the configuration that removes it.
    const r = newRaft(2, V3, { hardState: { term: 2 } });
    const entry = { index: 1, term: 2, kind: EntryKind.Config, data: encodeMembership(WITHOUT1) };
    r.step(appendReq(1, 2, 2, 0, 0, [entry], 1));
    takeMsgs(r);
    assert.deepEqual(r.membership.membership.removed, [1]);
    assert.equal(r.leader, 1);
    return r;
  }

  test("of a removed id only the hand-over TimeoutNow of our leader, in our term, passes", () => {
    const r = followerAfterRemoval(1);
    r.step(heartbeat(1, 2, 2, 1));
    r.step({ type: "timeoutNow", from: 1, to: 2, term: 3, commit: 0 });
    assert.equal(r.drops.get("not_member"), 2, "a heartbeat, and a TimeoutNow of another term");
    assert.equal(r.term, 2);
    r.step({ type: "timeoutNow", from: 1, to: 2, term: 2, commit: 0 });
    assert.equal(r.role, "candidate", "the hand-over is obeyed");
    assert.equal(r.term, 3);
  });

  test("a removed id's TimeoutNow is refused when we follow another leader", () => {
    const r = followerAfterRemoval(3);
    r.step({ type: "timeoutNow", from: 1, to: 2, term: 2, commit: 0 });
    assert.equal(r.drops.get("not_member"), 1);
    assert.equal(r.role, "follower");
  });
});

describe("one leader per term", () => {
  test("every message only a leader sends is refused from a second leader of our term", () => {
    const r = newRaft(2, V3, { hardState: { term: 2 } });
    r.step(heartbeat(1, 2, 2, 0));
    takeMsgs(r);
    const fromThree = [
      appendReq(3, 2, 2, 0, 0, [], 0),
      heartbeat(3, 2, 2, 0),
      { type: "snapshot", from: 3, to: 2, term: 2, snapshot: { index: 5, term: 2 } } as const,
      { type: "timeoutNow", from: 3, to: 2, term: 2, commit: 0 } as const,
      { type: "readIndexResp", from: 3, to: 2, term: 2, index: 0, context: 1 } as const,
    ];
    for (const m of fromThree) r.step(m);
    assert.equal(r.drops.get("second_leader"), fromThree.length);
    assert.equal(r.leader, 1);
    assert.equal(r.snapshotToInstall, null);
    assert.deepEqual(r.readStates, []);
  });
});

describe("leader upkeep", () => {
  test("with check-quorum a leader that hears from exactly a quorum keeps leading", () => {
    const net = clusterWithLeader(3, { checkQuorum: true });
    net.isolate(3);
    net.ticks(4 * ELECTION_TICK, [1, 2]);
    assert.equal(net.raft(1).role, "leader");
  });
});

describe("reads", () => {
  const WITH_LEARNER = {
    members: [
      ...votersOnly(V3).members,
      { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
    ],
    removed: [],
  };

  test("a learner's heartbeat answer does not confirm a read", () => {
    const r = newRaft(1, V3, { membership: WITH_LEARNER });
    electLeader(r, V3, true);
    assert.equal(r.log.committed, 1);
    r.readIndex(7);
    const round = ofType(takeMsgs(r), "heartbeat").find((m) => m.to === 4)?.context ?? 0;
    assert.ok(round > 0, "the learner is asked too");
    r.step(heartbeatResp(4, 1, r.term, round));
    assert.deepEqual(r.readStates, [], "leader + learner is no quorum");
    r.step(heartbeatResp(2, 1, r.term, round));
    assert.deepEqual(r.readStates, [{ index: 1, context: 7 }]);
  });

  test("a follower that knows no leader ignores a ReadIndex answer", () => {
    const r = newRaft(2, V3, { hardState: { term: 2 } });
    r.step({ type: "readIndexResp", from: 1, to: 2, term: 2, index: 0, context: 1 });
    assert.deepEqual(r.readStates, []);
  });

  test("a node that is not the leader answers no ReadIndex request", () => {
    // A lone voter that has not campaigned yet, with its log committed in its term.
    const r = newRaft(1, [1], { logTerms: [1], hardState: { term: 1, commit: 1 } });
    r.step({ type: "readIndex", from: 2, to: 1, term: 1, context: 5 });
    assert.deepEqual(takeMsgs(r), []);
    assert.deepEqual(r.readStates, []);
  });
});

describe("removed list", () => {
  test("the removed list is compared as a set of ids, sorted numerically", () => {
    const member = (id: number) => ({
      id,
      learner: false,
      peerAddr: "",
      clientAddr: "",
      identity: "",
    });
    const start = { members: [member(1), member(2), member(9)], removed: [10] };
    const net = new Network([1, 2, 9], { membership: start });
    net.campaign(1);
    net.ticks(2);
    const next = { members: [member(1), member(2)], removed: [10, 9] }; // any order
    const pos = net.node(1).proposeMembership(next);
    assert.equal(net.node(1).status().pendingConfig, pos.index);
  });
});

describe("votes", () => {
  test("a node that voted in a term refuses a pre-vote for that same term", () => {
    const r = newRaft(1, V3, { hardState: { term: 5, vote: 2 } });
    r.step(voteReq(3, 1, 5, 9, 5, "preVote"));
    assert.deepEqual(
      ofType(takeMsgs(r), "preVoteResp").map((m) => m.reject),
      [true],
    );
  });

  test("granting a pre-vote records no vote", () => {
    const r = newRaft(1, V3, { hardState: { term: 5 } });
    r.step(voteReq(3, 1, 6, 9, 5, "preVote"));
    assert.deepEqual(
      ofType(takeMsgs(r), "preVoteResp").map((m) => m.reject),
      [false],
    );
    assert.equal(r.vote, 0);
    assert.equal(r.term, 5);
  });

  test("a voter's first answer counts; a later contrary one is ignored", () => {
    const r = newRaft(1, [1, 2, 3, 4, 5], { hardState: { term: 1 } });
    r.campaign("vote");
    r.step(voteResp(2, 1, 2, false));
    r.step(voteResp(2, 1, 2, true));
    assert.equal(r.role, "candidate");
    r.step(voteResp(3, 1, 2, false));
    assert.equal(r.role, "leader", "1, 2 and 3 of 5");
  });
});

describe("snapshots on a follower", () => {
  /** Follower 2 of leader 1 (term 2) holding entries 1..4, of which 1..3 committed. */
  function follower(): Raft {
    const r = newRaft(2, V3, { hardState: { term: 2 } });
    r.step(appendReq(1, 2, 2, 0, 0, entriesFromTerms([1, 1, 2, 2]), 3));
    r.onStable(4, 2);
    takeMsgs(r);
    return r;
  }
  const snap = (index: number, term: number) =>
    ({ type: "snapshot", from: 1, to: 2, term: 2, snapshot: { index, term } }) as const;

  test("a snapshot behind the commit is acknowledged at the commit", () => {
    const r = follower();
    r.step(snap(2, 1));
    assert.deepEqual(
      ofType(takeMsgs(r), "appendResp").map((m) => [m.index, m.reject]),
      [[3, false]],
    );
    assert.equal(r.snapshotToInstall, null);
  });

  test("a snapshot ending at an entry we hold only commits it, keeping the entries after", () => {
    const r = follower();
    r.step(snap(4, 2));
    assert.equal(r.snapshotToInstall, null, "nothing to install");
    assert.equal(r.log.committed, 4);
    assert.equal(r.log.firstIndex(), 1, "the log is kept");
  });
});

describe("transfer messages", () => {
  test("a caught-up transferee gets one TimeoutNow, not one per acknowledgement", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    r.propose([bytes("x")]);
    r.onStable(2, r.term);
    r.step(appendResp(2, 1, r.term, 2)); // 2 holds everything, 3 lags
    takeMsgs(r);
    r.transferLeadership(2);
    assert.equal(ofType(takeMsgs(r), "timeoutNow").length, 1);
    r.step(appendResp(3, 1, r.term, 2));
    assert.deepEqual(ofType(takeMsgs(r), "timeoutNow"), []);
  });
});

describe("read rounds", () => {
  test("a commit with no read waiting starts no confirmation round", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    assert.equal(r.log.committed, 1);
    r.propose([bytes("x")]);
    r.onStable(2, r.term);
    takeMsgs(r);
    r.step(appendResp(2, 1, r.term, 2));
    const rounds = ofType(takeMsgs(r), "heartbeat").filter((m) => m.context !== 0);
    assert.deepEqual(rounds, []);
  });
});

describe("restart", () => {
  test("with no stored configuration a restart replays every committed configuration entry, applied ones too", () => {
    const grown = {
      members: [
        ...votersOnly(V3).members,
        { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
      ],
      removed: [],
    };
    const r = new Raft(raftConfig(1, V3), {
      hardState: { term: 1, vote: 1, commit: 2 },
      log: {
        entries: [
          { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
          { index: 2, term: 1, kind: EntryKind.Config, data: encodeMembership(grown) },
        ],
        offset: 0,
        offsetTerm: 0,
        committed: 2,
        applied: 2,
      },
    });
    assert.equal(r.membership.index, 2);
    assert.deepEqual(encodeMembership(r.membership.membership), encodeMembership(grown));
  });
});
