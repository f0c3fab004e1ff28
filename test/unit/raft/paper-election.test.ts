/**
 * Raft paper §5.1, §5.2 and §5.4.1, one test per claim (after etcd-io/raft's
 * raft_paper_test.go). Pre-vote and check-quorum are off unless a test says otherwise.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Raft } from "../../../src/raft/raft.ts";
import { NONE } from "../../../src/raft/types.ts";
import {
  appendReq,
  appendResp,
  ELECTION_TICK,
  electLeader,
  entriesFromTerms,
  heartbeat,
  heartbeatResp,
  Network,
  newRaft,
  ofType,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3] as const;
const V5 = [1, 2, 3, 4, 5] as const;

/** Ticks until the role changes away from `role`; returns the number of ticks taken. */
function ticksUntilLeaving(r: Raft, role: Raft["role"], limit: number): number {
  for (let i = 1; i <= limit; i++) {
    r.tick();
    if (r.role !== role) return i;
  }
  return -1;
}

describe("§5.1 terms", () => {
  const roles = ["follower", "candidate", "leader"] as const;
  for (const role of roles) {
    test(`§5.1: a ${role} that sees a higher term in AppendEntries adopts it and becomes follower`, () => {
      const r = newRaft(1, V3, { hardState: { term: 1 } });
      if (role === "candidate") r.campaign("vote");
      if (role === "leader") electLeader(r, V3);
      assert.equal(r.role, role);
      const before = r.term;
      r.step(appendReq(2, 1, before + 1, 0, 0, [], 0));
      assert.equal(r.term, before + 1);
      assert.equal(r.role, "follower");
      assert.equal(r.leader, 2, "the sender of a higher-term append is the new leader");
      assert.equal(r.vote, NONE, "a new term starts with no vote cast");
    });
  }

  test("§5.1: a leader that sees a higher term in a response steps down with no known leader", () => {
    for (const msg of [heartbeatResp(2, 1, 5), appendResp(3, 1, 5, 0), voteResp(2, 1, 5, true)]) {
      const r = newRaft(1, V3, { hardState: { term: 1 } });
      electLeader(r, V3);
      r.step(msg);
      assert.equal(r.role, "follower", msg.type);
      assert.equal(r.term, 5, msg.type);
      assert.equal(r.leader, NONE, msg.type);
    }
  });

  test("§5.1: a message with a stale term is ignored", () => {
    const r = newRaft(1, V3, { hardState: { term: 3, vote: 2 }, logTerms: [1] });
    // Stale AppendEntries: must not touch the log, term or leader, and must not be acked.
    r.step(appendReq(3, 1, 2, 1, 1, entriesFromTerms([2], 2), 2));
    assert.equal(r.term, 3);
    assert.equal(r.log.lastIndex(), 1, "stale append must not add entries");
    assert.equal(r.log.committed, 0, "stale append must not advance commit");
    assert.equal(r.leader, NONE);
    assert.deepEqual(takeMsgs(r), [], "with pre-vote and check-quorum off nothing is answered");
    // Stale vote request: no grant, vote unchanged.
    r.step(voteReq(3, 1, 2, 10, 2));
    assert.equal(r.vote, 2);
    assert.ok(ofType(takeMsgs(r), "voteResp").every((m) => m.reject));
    // A stale pre-vote is refused with the current term, so the asker learns it is behind.
    r.step(voteReq(3, 1, 2, 10, 2, "preVote"));
    assert.deepEqual(
      ofType(takeMsgs(r), "preVoteResp").map((m) => [m.to, m.term, m.reject]),
      [[3, 3, true]],
    );
    assert.equal(r.vote, 2);
    // Stale responses do not move a leader.
    const l = newRaft(1, V3, { hardState: { term: 3 } });
    electLeader(l, V3);
    l.propose([new Uint8Array([1])]);
    l.onStable(l.log.lastIndex(), l.term);
    l.step(appendResp(2, 1, 2, l.log.lastIndex()));
    assert.equal(l.role, "leader");
    assert.equal(l.log.committed, 0, "a stale ack must not count toward commit");
  });
});

describe("§5.2 leader election", () => {
  test("§5.2: a follower that hears nothing for its election timeout campaigns: term+1, self-vote, RequestVote to all", () => {
    const r = newRaft(1, V5, { hardState: { term: 1 }, logTerms: [1, 1] });
    const took = ticksUntilLeaving(r, "follower", 2 * ELECTION_TICK);
    assert.ok(took >= ELECTION_TICK && took < 2 * ELECTION_TICK, `campaigned after ${took} ticks`);
    assert.equal(r.role, "candidate");
    assert.equal(r.term, 2);
    assert.equal(r.vote, 1);
    const reqs = ofType(takeMsgs(r), "vote");
    assert.deepEqual(
      reqs.map((m) => m.to).sort(),
      [2, 3, 4, 5],
      "one vote request to every other voter",
    );
    for (const m of reqs) {
      assert.equal(m.term, 2);
      assert.equal(m.lastLogIndex, 2);
      assert.equal(m.lastLogTerm, 1);
    }
  });

  test("§5.2: a candidate whose election times out starts a new one in the next term", () => {
    const r = newRaft(1, V3, { hardState: { term: 1 } });
    r.campaign("vote");
    takeMsgs(r);
    let took = 0;
    while (r.term === 2 && took < 3 * ELECTION_TICK) {
      r.tick();
      took++;
    }
    assert.ok(took >= ELECTION_TICK && took < 2 * ELECTION_TICK, `re-campaigned after ${took}`);
    assert.equal(r.role, "candidate");
    assert.equal(r.term, 3, "a second election ran in term 3");
    assert.equal(r.vote, 1);
    assert.deepEqual(
      ofType(takeMsgs(r), "vote")
        .filter((m) => m.term === 3)
        .map((m) => m.to)
        .sort(),
      [2, 3],
    );
  });

  const elections: { size: number; votes: Record<number, boolean>; want: Raft["role"] }[] = [
    { size: 1, votes: {}, want: "leader" },
    { size: 3, votes: { 2: true, 3: true }, want: "leader" },
    { size: 3, votes: { 2: true }, want: "leader" },
    { size: 5, votes: { 2: true, 3: true, 4: true, 5: true }, want: "leader" },
    { size: 5, votes: { 2: true, 3: true }, want: "leader" },
    { size: 5, votes: { 2: false, 3: true, 4: false, 5: true }, want: "leader" },
    { size: 3, votes: { 2: false, 3: false }, want: "follower" },
    { size: 5, votes: { 2: false, 3: false, 4: false, 5: false }, want: "follower" },
    { size: 5, votes: { 2: true, 3: false, 4: false, 5: false }, want: "follower" },
    { size: 4, votes: { 2: false, 3: false }, want: "follower" }, // 3 of 4 now impossible
    { size: 4, votes: { 2: true, 3: false }, want: "candidate" },
    { size: 4, votes: { 2: true, 3: true }, want: "leader" },
    { size: 3, votes: {}, want: "candidate" },
    { size: 5, votes: { 2: true }, want: "candidate" },
    { size: 5, votes: { 2: false, 3: false }, want: "candidate" },
    { size: 5, votes: {}, want: "candidate" },
  ];
  test("§5.2: a candidate wins with a majority of votes, falls back on a majority of rejections, else waits", () => {
    for (const { size, votes, want } of elections) {
      const voters = Array.from({ length: size }, (_, i) => i + 1);
      const r = newRaft(1, voters);
      r.campaign("vote");
      for (const [id, granted] of Object.entries(votes)) {
        r.step(voteResp(Number(id), 1, 1, !granted));
      }
      const name = `size ${size} votes ${JSON.stringify(votes)}`;
      assert.equal(r.role, want, name);
      assert.equal(r.term, 1, name);
      if (want === "leader") {
        // §5.2: the new leader asserts itself with AppendEntries to every peer at once.
        const apps = ofType(takeMsgs(r), "append");
        assert.deepEqual(
          apps.map((m) => m.to).sort(),
          voters.filter((v) => v !== 1),
          name,
        );
        assert.ok(
          apps.every((m) => m.term === 1),
          name,
        );
      }
    }
  });

  test("§5.2: a duplicated vote grant is counted once", () => {
    const r = newRaft(1, V5);
    r.campaign("vote");
    for (let i = 0; i < 3; i++) r.step(voteResp(2, 1, 1, false));
    assert.equal(r.role, "candidate", "2 distinct votes of 5 are not a majority");
    r.step(voteResp(3, 1, 1, false));
    assert.equal(r.role, "leader");
  });

  test("§5.2: a candidate that receives AppendEntries or a heartbeat from a leader of its term becomes follower", () => {
    for (const msg of [appendReq(2, 1, 1, 0, 0, [], 0), heartbeat(3, 1, 1, 0)]) {
      const r = newRaft(1, V3);
      r.campaign("vote");
      assert.equal(r.role, "candidate");
      r.step(msg);
      assert.equal(r.role, "follower", msg.type);
      assert.equal(r.term, 1, msg.type);
      assert.equal(r.leader, msg.from, msg.type);
      assert.equal(r.vote, 1, "the vote already cast in this term is kept");
    }
  });

  test("§5.2: election timeouts are randomized in [electionTick, 2*electionTick)", () => {
    const seen = new Set<number>();
    const redrawn = new Set<number>();
    for (let seed = 1; seed <= 100; seed++) {
      const r = newRaft(1, V3, { seed });
      const took = ticksUntilLeaving(r, "follower", 3 * ELECTION_TICK);
      assert.ok(took >= ELECTION_TICK && took < 2 * ELECTION_TICK, `seed ${seed}: ${took}`);
      seen.add(took);
      // The timeout is redrawn on every reset: the candidate's next election too.
      let again = 0;
      while (r.term === 1 && again < 3 * ELECTION_TICK) {
        r.tick();
        again++;
      }
      assert.ok(again >= ELECTION_TICK && again < 2 * ELECTION_TICK, `seed ${seed}: ${again}`);
      redrawn.add(again);
    }
    assert.ok(seen.size >= ELECTION_TICK / 2, `only ${seen.size} distinct timeouts`);
    assert.ok(redrawn.size >= ELECTION_TICK / 2, `only ${redrawn.size} distinct re-elections`);
  });

  test("§5.2: a follower grants at most one vote per term, first come first served", () => {
    const cases: { vote: number; from: number; reject: boolean }[] = [
      { vote: NONE, from: 2, reject: false },
      { vote: NONE, from: 3, reject: false },
      { vote: 2, from: 2, reject: false }, // a repeated request from the same candidate
      { vote: 3, from: 3, reject: false },
      { vote: 2, from: 3, reject: true },
      { vote: 3, from: 2, reject: true },
    ];
    for (const { vote, from, reject } of cases) {
      const r = newRaft(1, V3, { hardState: { term: 1, vote } });
      r.step(voteReq(from, 1, 1, 0, 0));
      const resp = ofType(takeMsgs(r), "voteResp");
      assert.equal(resp.length, 1);
      assert.equal(resp[0]?.reject, reject, `vote ${vote} asked by ${from}`);
      assert.equal(resp[0]?.to, from);
      assert.equal(r.vote, reject ? vote : from);
    }
    // The same thing as a race: 2 then 3 ask in term 2; only 2 gets the vote.
    const r = newRaft(1, V3, { hardState: { term: 1 } });
    r.step(voteReq(2, 1, 2, 0, 0));
    r.step(voteReq(3, 1, 2, 0, 0));
    const resps = ofType(takeMsgs(r), "voteResp");
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        [2, false],
        [3, true],
      ],
    );
    assert.equal(r.vote, 2);
  });

  test("§5.2: a leader sends heartbeats to every follower every heartbeatTick", () => {
    const r = newRaft(1, V3, { heartbeatTick: 3 });
    electLeader(r, V3, true);
    for (let period = 0; period < 3; period++) {
      r.tick();
      r.tick();
      assert.deepEqual(ofType(takeMsgs(r), "heartbeat"), [], "no heartbeat before heartbeatTick");
      r.tick();
      const hbs = ofType(takeMsgs(r), "heartbeat");
      assert.deepEqual(hbs.map((m) => m.to).sort(), [2, 3], `period ${period}`);
      assert.ok(hbs.every((m) => m.term === r.term && m.commit === 1));
    }
  });

  test("§5.2: a split vote resolves: randomized timeouts elect exactly one leader in a later term", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = new Network([1, 2, 3], { seed });
      for (const id of [1, 2, 3]) net.raft(id).campaign("vote");
      net.stabilize();
      assert.deepEqual(net.leaders(), [], `seed ${seed}: everyone voted for itself`);
      for (const id of [1, 2, 3]) assert.equal(net.raft(id).term, 1);
      let ticks = 0;
      while (net.leaders().length === 0 && ticks < 10 * ELECTION_TICK) {
        net.tick();
        ticks++;
      }
      const leaders = net.leaders();
      assert.equal(leaders.length, 1, `seed ${seed}: one leader after ${ticks} ticks`);
      const leader = net.raft(leaders[0] as number);
      assert.ok(leader.term >= 2);
      for (const id of [1, 2, 3]) {
        assert.equal(net.raft(id).leader, leader.id, `seed ${seed}: node ${id} follows`);
        assert.equal(net.raft(id).term, leader.term);
      }
    }
  });
});

describe("§5.4.1 election restriction", () => {
  // Voter log, candidate's (lastLogTerm, lastLogIndex), expected rejection.
  const cases: { log: number[]; lastTerm: number; lastIndex: number; reject: boolean }[] = [
    // same last term: the longer (or equal) log wins
    { log: [1], lastTerm: 1, lastIndex: 1, reject: false },
    { log: [1], lastTerm: 1, lastIndex: 2, reject: false },
    { log: [1, 1], lastTerm: 1, lastIndex: 1, reject: true },
    // candidate's last term higher: granted whatever the length
    { log: [1], lastTerm: 2, lastIndex: 1, reject: false },
    { log: [1, 1, 1], lastTerm: 2, lastIndex: 1, reject: false },
    // voter's last term higher: refused whatever the length
    { log: [2], lastTerm: 1, lastIndex: 1, reject: true },
    { log: [2], lastTerm: 1, lastIndex: 5, reject: true },
    { log: [1, 2], lastTerm: 1, lastIndex: 3, reject: true },
    // empty logs
    { log: [], lastTerm: 0, lastIndex: 0, reject: false },
    { log: [1], lastTerm: 0, lastIndex: 0, reject: true },
  ];
  for (const type of ["vote", "preVote"] as const) {
    test(`§5.4.1: a voter refuses a ${type} from a candidate whose log is less up to date, grants otherwise`, () => {
      for (const { log, lastTerm, lastIndex, reject } of cases) {
        const r = newRaft(1, V3, { logTerms: log, hardState: { term: 2 } });
        r.step(voteReq(2, 1, 3, lastIndex, lastTerm, type));
        const name = `${type} voter ${JSON.stringify(log)} candidate (t${lastTerm}, i${lastIndex})`;
        const resp = ofType(takeMsgs(r), type === "vote" ? "voteResp" : "preVoteResp");
        assert.equal(resp.length, 1, name);
        assert.equal(resp[0]?.reject, reject, name);
        if (type === "vote") assert.equal(r.vote, reject ? NONE : 2, name);
        else assert.equal(r.term, 2, `${name}: a pre-vote never changes the voter's term`);
      }
    });
  }
});
