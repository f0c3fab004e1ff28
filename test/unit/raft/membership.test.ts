/**
 * Membership changes in the core (thesis ch. 4, one member at a time): a configuration
 * takes effect where it is known committed; learners replicate but never vote, campaign
 * or count; one change at a time, none before the leader's own no-op commits (the 2015
 * single-server bug); removed ids are refused for good; a removed leader hands over; a
 * snapshot and a restart carry the configuration; a follower whose log went backwards is
 * caught up promptly.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigChangeError, NotLeaderError } from "../../../src/raft/errors.ts";
import {
  encodeMembership,
  type Member,
  type Membership,
  votersOnly,
} from "../../../src/raft/membership.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import {
  appendResp,
  bytes,
  clusterWithLeader,
  ELECTION_TICK,
  electLeader,
  heartbeat,
  heartbeatResp,
  newRaft,
  ofType,
  raftConfig,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3] as const;

function member(id: number, learner = false): Member {
  return { id, learner, peerAddr: `p${id}`, clientAddr: `c${id}`, identity: "" };
}

/** `m` plus member `id` (a learner unless `learner` is false). */
function withMember(m: Membership, id: number, learner = true): Membership {
  return { members: [...m.members, member(id, learner)], removed: m.removed };
}

/** `m` with learner `id` made a voter. */
function promoted(m: Membership, id: number): Membership {
  return {
    members: m.members.map((x) => (x.id === id ? { ...x, learner: false } : x)),
    removed: m.removed,
  };
}

/** `m` without member `id`, which joins the removed list. */
function without(m: Membership, id: number): Membership {
  return {
    members: m.members.filter((x) => x.id !== id),
    removed: [...m.removed, id].sort((a, b) => a - b),
  };
}

/** Bootstrap configuration of voters 1..3 (as votersOnly, which is what the core starts from). */
const BASE = votersOnly([...V3]);

function configEntry(index: number, term: number, m: Membership): Entry {
  return { index, term, kind: EntryKind.Config, data: encodeMembership(m) };
}

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigChangeError) return error.reason;
    if (error instanceof NotLeaderError) return "not_leader";
    throw error;
  }
  return "accepted";
}

describe("a configuration takes effect when known committed", () => {
  test("appended is not enough: leader and followers keep the old one until commit", () => {
    const net = clusterWithLeader(3);
    net.addNode(4);
    net.filter = (m) => m.type !== "appendResp" && m.type !== "heartbeatResp";
    const next = withMember(BASE, 4);
    const pos = net.node(1).proposeMembership(next);
    net.stabilize();
    for (const id of V3) {
      assert.equal(net.node(id).entryAt(pos.index)?.kind, EntryKind.Config, `n${id} appended it`);
      assert.equal(net.node(id).status().membership.index, 0, `n${id}: not in force yet`);
    }
    assert.equal(net.node(1).status().pendingConfig, pos.index);
    assert.equal(net.node(4).status().lastIndex, 0, "no replication to a member not yet added");
    net.heal();
    net.ticks(3);
    for (const id of [1, 2, 3, 4]) {
      const active = net.node(id).status().membership;
      assert.equal(active.index, pos.index, `n${id} adopted it once it learned the commit`);
      assert.deepEqual(encodeMembership(active.membership), encodeMembership(next));
    }
    assert.equal(net.node(1).status().pendingConfig, 0);
    assert.equal(net.node(4).status().commit, net.node(1).status().commit, "learner caught up");
  });

  test("Ready.membership reports the change once, when it takes effect", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => m.type !== "appendResp";
    const pos = net.node(1).proposeMembership(withMember(BASE, 4));
    net.stabilize();
    for (const id of V3) assert.equal(net.memberships.get(id), undefined, "appended only");
    net.heal();
    net.ticks(5);
    for (const id of V3) {
      assert.deepEqual(
        net.memberships.get(id)?.map((a) => a.index),
        [pos.index],
        `n${id}: reported once`,
      );
    }
  });

  test("restart: RaftInit.membership, then committed config entries of the log replay", () => {
    const m2 = withMember(BASE, 4);
    const m3 = promoted(m2, 4);
    const entries: Entry[] = [
      { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
      configEntry(2, 1, m2),
      { index: 3, term: 1, kind: EntryKind.Normal, data: bytes("x") },
      configEntry(4, 1, m3),
    ];
    const r = new Raft(raftConfig(2, []), {
      hardState: { term: 1, vote: 0, commit: 3 },
      log: { entries, offset: 0, offsetTerm: 0, committed: 3, applied: 1 },
      membership: BASE,
    });
    assert.equal(r.membership.index, 2, "entry 2 is committed: in force; entry 4 is not");
    assert.deepEqual(encodeMembership(r.membership.membership), encodeMembership(m2));
    assert.deepEqual(encodeMembership(r.membershipAt(1)), encodeMembership(BASE));
    assert.deepEqual(encodeMembership(r.membershipAt(3)), encodeMembership(m2));
    r.step(heartbeat(1, 2, 1, 4));
    assert.equal(r.membership.index, 4);
    assert.deepEqual(encodeMembership(r.membershipAt(4)), encodeMembership(m3));
    assert.deepEqual(encodeMembership(r.membershipAt(3)), encodeMembership(m2));
  });

  test("a node joining with no voters has no configuration and never campaigns", () => {
    const r = newRaft(4, [], { preVote: true });
    assert.equal(r.membership.membership.members.length, 0);
    for (let i = 0; i < 20 * ELECTION_TICK; i++) r.tick();
    assert.equal(r.role, "follower");
    assert.deepEqual(takeMsgs(r), []);
  });
});

describe("learners", () => {
  const M4 = withMember(BASE, 4);

  test("a learner never campaigns (nor pre-campaigns)", () => {
    for (const preVote of [false, true]) {
      const r = newRaft(4, [], { preVote, membership: M4 });
      for (let i = 0; i < 20 * ELECTION_TICK; i++) r.tick();
      assert.equal(r.role, "follower");
      assert.deepEqual(takeMsgs(r), [], `preVote=${preVote}`);
    }
  });

  test("a learner's leader lease ends when it hears no leader for a timeout", () => {
    // Found by the simulator (seed 96): the leader committed a learner's promotion alone
    // and crashed; the promoted node, not knowing it, kept refusing the restarted leader's
    // pre-votes as long as its lease seemed to hold, because its election timer restarted
    // at every timeout without forgetting the leader.
    const r = newRaft(5, [], { preVote: true, checkQuorum: true, membership: withMember(BASE, 5) });
    r.step(heartbeat(1, 5, 1, 0));
    r.step(voteReq(3, 5, 2, 10, 1, "preVote"));
    assert.equal(ofType(takeMsgs(r), "preVoteResp").length, 0, "in the lease: ignored");
    for (let i = 0; i < 2 * ELECTION_TICK; i++) r.tick();
    assert.equal(r.leader, 0);
    for (let i = 0; i < 3; i++) r.tick();
    r.step(voteReq(3, 5, 2, 10, 1, "preVote"));
    assert.deepEqual(
      ofType(takeMsgs(r), "preVoteResp").map((m) => m.reject),
      [false],
    );
  });

  test("a TimeoutNow does not make a learner campaign", () => {
    const r = newRaft(4, [], { membership: M4 });
    r.step({ type: "timeoutNow", from: 1, to: 4, term: 1, commit: 0 });
    assert.equal(r.role, "follower");
    assert.equal(ofType(takeMsgs(r), "vote").length, 0);
  });

  test("a candidate asks only voters, and a learner's grant does not count", () => {
    const r = newRaft(1, V3, { membership: M4 });
    r.campaign("vote");
    assert.deepEqual(
      ofType(takeMsgs(r), "vote")
        .map((m) => m.to)
        .sort(),
      [2, 3],
    );
    r.step(voteResp(4, 1, 1, false));
    assert.equal(r.role, "candidate", "1 voter + 1 learner is no majority of 3");
    r.step(voteResp(2, 1, 1, false));
    assert.equal(r.role, "leader");
  });

  test("a learner's match never counts toward commit", () => {
    const r = newRaft(1, V3, { membership: M4 });
    electLeader(r, V3);
    r.step(appendResp(4, 1, 1, 1));
    assert.equal(r.log.committed, 0, "leader + learner: no quorum");
    r.step(appendResp(2, 1, 1, 1));
    assert.equal(r.log.committed, 1);
  });

  test("a learner's heartbeat reply never confirms a ReadIndex round", () => {
    const r = newRaft(1, V3, { membership: M4 });
    electLeader(r, V3, true);
    r.readIndex(7);
    const round = ofType(r.msgs, "heartbeat").at(-1)?.context ?? 0; // the core's round
    r.step(heartbeatResp(4, 1, 1, round));
    assert.equal(r.readStates.length, 0);
    r.step(heartbeatResp(2, 1, 1, round));
    assert.deepEqual(r.readStates, [{ index: 1, context: 7 }]);
  });

  test("check-quorum: a leader hearing only from a learner steps down", () => {
    for (const from of [4, 2]) {
      const r = newRaft(1, V3, { membership: M4, checkQuorum: true });
      electLeader(r, V3, true);
      for (let i = 0; i < 2 * ELECTION_TICK; i++) {
        r.tick();
        r.step(heartbeatResp(from, 1, 1));
      }
      assert.equal(r.role, from === 4 ? "follower" : "leader", `hearing from n${from}`);
    }
  });

  test("a learner receives the log, and promoted, votes and counts", () => {
    const net = clusterWithLeader(3);
    net.addNode(4);
    net.node(1).proposeMembership(M4);
    net.stabilize();
    net.node(1).propose([bytes("a")]);
    net.stabilize();
    assert.equal(net.node(4).status().commit, net.node(1).status().commit);
    net.node(1).proposeMembership(promoted(M4, 4));
    net.stabilize();
    net.ticks(2);
    assert.equal(net.node(4).status().membership.index, net.node(1).status().membership.index);
    // Now 3 of 4 are needed: with 2 and 3 cut off, 1 and 4 cannot commit.
    net.isolate(2);
    net.isolate(3);
    const [pos] = net.node(1).propose([bytes("b")]);
    net.stabilize();
    assert.ok(net.node(1).status().commit < (pos?.index ?? 0), "1 + 4 are no majority of 4");
    net.heal();
    net.isolate(3);
    net.ticks(2);
    assert.equal(net.node(1).status().commit, pos?.index, "1 + 2 + 4 are");
  });
});

describe("one change at a time", () => {
  test("a second change while one is pending is refused with `pending`", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => m.type !== "appendResp";
    const n1 = net.node(1);
    n1.proposeMembership(withMember(BASE, 4));
    net.stabilize();
    assert.equal(
      refusal(() => n1.proposeMembership(withMember(withMember(BASE, 4), 5))),
      "pending",
    );
    net.heal();
    net.ticks(2);
    assert.equal(
      refusal(() => n1.proposeMembership(withMember(withMember(BASE, 4), 5))),
      "accepted",
      "accepted once the first committed",
    );
  });

  test("two members changing in one entry are refused with `not_single_change`", () => {
    const net = clusterWithLeader(3);
    const n1 = net.node(1);
    const cases: Membership[] = [
      withMember(withMember(BASE, 4), 5),
      withMember(without(BASE, 3), 4),
      {
        members: BASE.members.map((m) => (m.id === 1 ? m : { ...m, peerAddr: "elsewhere" })),
        removed: [],
      },
    ];
    for (const next of cases)
      assert.equal(
        refusal(() => n1.proposeMembership(next)),
        "not_single_change",
      );
    assert.equal(n1.status().lastIndex, 1, "nothing appended");
  });

  test("a new leader refuses a change until its own no-op commits (the 2015 bug)", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3);
    assert.equal(r.log.committed, 0);
    assert.equal(
      refusal(() => r.proposeMembership(withMember(BASE, 4))),
      "pending",
    );
    r.step(appendResp(2, 1, 1, 1));
    assert.equal(r.log.committed, 1);
    assert.equal(
      refusal(() => r.proposeMembership(withMember(BASE, 4))),
      "accepted",
    );
  });

  test("a new leader whose log holds an earlier leader's uncommitted change waits for it", () => {
    // Node 1 led term 1 and appended a change (index 2) that never committed; node 2 wins
    // term 2 with that entry in its log. Until its no-op commits it cannot know whether
    // the change is in force, so it refuses another.
    const r = new Raft(raftConfig(2, [...V3]), {
      hardState: { term: 1, vote: 1, commit: 1 },
      log: {
        entries: [
          { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
          configEntry(2, 1, withMember(BASE, 4)),
        ],
        offset: 0,
        offsetTerm: 0,
        committed: 1,
        applied: 1,
      },
    });
    electLeader(r, V3);
    const grown = withMember(withMember(BASE, 4), 5);
    assert.equal(
      refusal(() => r.proposeMembership(grown)),
      "pending",
    );
    assert.equal(
      refusal(() => r.proposeMembership(withMember(BASE, 5))),
      "pending",
    );
    r.step(appendResp(3, 2, 2, 3));
    assert.equal(r.membership.index, 2, "committing the no-op put the old change in force");
    assert.equal(
      refusal(() => r.proposeMembership(grown)),
      "accepted",
    );
  });

  test("malformed configurations are refused with `invalid`", () => {
    const net = clusterWithLeader(3);
    const n1 = net.node(1);
    const noVoter: Membership = { members: [member(1, true)], removed: [] };
    const removedNotListed: Membership = { members: without(BASE, 3).members, removed: [] };
    for (const next of [noVoter, removedNotListed]) {
      assert.equal(
        refusal(() => n1.proposeMembership(next)),
        "invalid",
      );
    }
  });

  test("a change whose voters cannot reach a quorum is refused with `no_quorum`", () => {
    const net = clusterWithLeader(3);
    net.isolate(2);
    net.isolate(3);
    net.ticks(ELECTION_TICK + 1, [1]);
    assert.equal(net.node(1).status().role, "leader", "no check-quorum in this suite");
    assert.equal(
      refusal(() => net.node(1).proposeMembership(withMember(BASE, 4))),
      "no_quorum",
    );
    net.heal();
    net.ticks(2);
    assert.equal(
      refusal(() => net.node(1).proposeMembership(withMember(BASE, 4))),
      "accepted",
    );
  });
});

describe("removal", () => {
  test("a removed id is refused for good (`not_member`) and never reused", () => {
    const net = clusterWithLeader(3);
    const next = without(BASE, 3);
    net.node(1).proposeMembership(next);
    net.stabilize();
    net.ticks(2);
    const n2 = net.raft(2);
    assert.deepEqual(n2.membership.membership.removed, [3]);
    const term = n2.term;
    n2.step(voteReq(3, 2, term + 5, 100, term + 4));
    n2.step(voteReq(3, 2, term + 5, 100, term + 4, "preVote"));
    assert.equal(n2.term, term, "the removed node's higher term was not adopted");
    assert.equal(n2.drops.get("not_member"), 2);
    assert.equal(ofType(takeMsgs(n2), "voteResp").length, 0);
    assert.equal(
      refusal(() => net.node(1).proposeMembership(withMember(next, 3, true))),
      "invalid",
    );
  });

  test("a removed node's vote is not counted by a candidate of the new configuration", () => {
    const r = newRaft(1, V3, { membership: without(BASE, 3) });
    r.campaign("vote");
    r.step(voteResp(3, 1, 1, false));
    assert.equal(r.role, "candidate", "refused as not_member");
    assert.equal(r.drops.get("not_member"), 1);
    r.step(voteResp(2, 1, 1, false));
    assert.equal(r.role, "leader", "1 and 2 are the 2 voters");
  });

  test("a removed leader hands over with TimeoutNow to a caught-up voter and steps down", () => {
    const net = clusterWithLeader(3);
    net.node(1).proposeMembership(without(BASE, 1));
    net.stabilize();
    const timeoutNows = ofType(net.sent, "timeoutNow");
    assert.equal(timeoutNows.length, 1);
    assert.equal(timeoutNows[0]?.from, 1);
    const target = timeoutNows[0]?.to as number;
    assert.equal(net.node(1).status().role, "follower");
    assert.deepEqual(net.leaders(), [target], "the target won at once, no election timeout");
    assert.equal(net.node(target).status().term, 2);
    net.ticks(20 * ELECTION_TICK);
    assert.deepEqual(net.leaders(), [target], "the removed node never campaigns again");
    assert.equal(net.node(1).status().role, "follower");
  });

  test("a removed leader whose voters lag keeps leading (no proposals) until one catches up", () => {
    for (const outcome of ["caught-up", "abandoned"] as const) {
      const r = newRaft(1, V3);
      electLeader(r, V3, true);
      const pos = r.proposeMembership(without(BASE, 1));
      r.propose([bytes("x")]);
      r.onStable(r.log.lastIndex(), 1);
      r.step(appendResp(2, 1, 1, pos.index));
      assert.equal(r.membership.index, pos.index, "the removal committed");
      assert.equal(ofType(takeMsgs(r), "timeoutNow").length, 0, "nobody holds the whole log");
      assert.equal(r.role, "leader", "it manages the hand-over");
      assert.equal(r.transferee, 2);
      assert.equal(
        refusal(() => r.propose([bytes("y")])),
        "not_leader",
      );
      if (outcome === "caught-up") {
        r.step(appendResp(2, 1, 1, pos.index + 1));
        assert.deepEqual(
          ofType(takeMsgs(r), "timeoutNow").map((m) => m.to),
          [2],
        );
      } else {
        for (let i = 0; i < ELECTION_TICK; i++) r.tick();
        assert.equal(ofType(takeMsgs(r), "timeoutNow").length, 0);
      }
      assert.equal(r.role, "follower", outcome);
    }
  });

  test("a removed leader hands over to the voter that holds its whole log, not a lagging one", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => !(m.type === "append" && m.to !== 2 && m.entries.length > 0);
    net.node(1).propose([bytes("x")]);
    net.stabilize();
    net.filter = (m) => !(m.type === "append" && m.to === 3);
    // 2 holds everything; with 3 cut off from appends the change commits on 1 + 2, and
    // 2 (caught up) gets the TimeoutNow.
    net.node(1).proposeMembership(without(BASE, 1));
    net.stabilize();
    const tn = ofType(net.sent, "timeoutNow");
    assert.deepEqual(
      tn.map((m) => m.to),
      [2],
    );
    assert.equal(net.node(1).status().role, "follower");
  });
});

describe("snapshots carry the configuration", () => {
  test("snapshotTaken fills the configuration at its index; a follower installing it adopts it", () => {
    const net = clusterWithLeader(3);
    const next = withMember(BASE, 4);
    const pos = net.node(1).proposeMembership(next);
    net.stabilize();
    net.node(1).propose([bytes("a"), bytes("b")]);
    net.stabilize();
    const leader = net.raft(1);
    leader.snapshotTaken({ index: pos.index, term: 1 });
    leader.compact(pos.index);
    // A fresh node 4 (no configuration) gets the snapshot, since the log starts after it.
    net.addNode(4);
    net.filter = (m) => m.type !== "snapshot";
    net.ticks(2);
    const snaps = ofType(net.dropped, "snapshot");
    assert.ok(snaps.length > 0, "the leader sent node 4 a snapshot");
    const meta = snaps[0]?.snapshot;
    assert.deepEqual(encodeMembership(meta?.membership as Membership), encodeMembership(next));
    const r = newRaft(4, []);
    r.step(snaps[0] as (typeof snaps)[number]);
    assert.equal(r.membership.index, pos.index);
    assert.deepEqual(encodeMembership(r.membership.membership), encodeMembership(next));
    assert.deepEqual(
      encodeMembership(r.takeSnapshotToInstall()?.membership as Membership),
      encodeMembership(next),
    );
  });

  test("a snapshot's configuration replaces a stale one on a follower that lagged", () => {
    const later = withMember(without(BASE, 3), 4);
    const r = newRaft(2, [...V3]);
    r.step({
      type: "snapshot",
      from: 1,
      to: 2,
      term: 3,
      snapshot: { index: 40, term: 3, membership: later },
    });
    assert.equal(r.membership.index, 40);
    assert.deepEqual(r.membership.membership.removed, [3]);
    r.step(voteReq(3, 2, 9, 100, 9));
    assert.equal(r.drops.get("not_member"), 1, "now refuses the id the snapshot removed");
  });
});

describe("a follower whose log went backwards", () => {
  test("a wiped follower is caught up at once, not probed at its old match forever", () => {
    const net = clusterWithLeader(3);
    for (let i = 0; i < 5; i++) {
      net.node(1).propose([bytes(`v${i}`)]);
      net.stabilize();
    }
    const last = net.node(1).status().lastIndex;
    assert.equal(net.raft(1).progressOf().get(3)?.state, "replicate");
    // Node 3's disk is wiped (same id: the case the issue reported).
    net.addNode(3, {}, [...V3]);
    net.node(1).propose([bytes("after")]);
    net.stabilize();
    net.ticks(3);
    assert.equal(net.node(3).status().commit, last + 1, "caught up within a few ticks");
    assert.equal(net.raft(1).progressOf().get(3)?.match, last + 1);
  });

  test("the same while idle: heartbeats alone bring it back", () => {
    const net = clusterWithLeader(3);
    net.node(1).propose([bytes("a"), bytes("b")]);
    net.stabilize();
    net.addNode(3, {}, [...V3]);
    net.ticks(3);
    assert.equal(net.node(3).status().commit, net.node(1).status().commit);
    assert.equal(net.node(3).status().lastIndex, 3);
  });

  test("appends to the wiped follower restart from its real end", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    r.propose([bytes("a"), bytes("b")]);
    r.step(appendResp(3, 1, 1, 3));
    takeMsgs(r);
    r.propose([bytes("c")]);
    takeMsgs(r);
    // Rejected at prevIndex 3 == match, follower's log is empty (hint 0).
    r.step({
      type: "appendResp",
      from: 3,
      to: 1,
      term: 1,
      index: 3,
      reject: true,
      rejectHint: 0,
      hintTerm: 0,
    });
    const apps = ofType(takeMsgs(r), "append").filter((m) => m.to === 3);
    assert.equal(apps[0]?.prevIndex, 0, "resent from the start of the log");
    assert.equal(r.progressOf().get(3)?.match, 0);
    r.step(appendResp(3, 1, 1, 4));
    assert.equal(r.progressOf().get(3)?.match, 4);
  });
});
