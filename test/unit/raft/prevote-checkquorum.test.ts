/**
 * Pre-vote (Raft thesis §9.6) and check-quorum / leader lease (thesis §6.2, §4.2.3): what
 * each buys, shown against the same scenario with the feature off.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NONE } from "../../../src/raft/types.ts";
import {
  bytes,
  clusterWithLeader,
  ELECTION_TICK,
  heartbeat,
  Network,
  newRaft,
  newRawNode,
  ofType,
  type RaftOpts,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3] as const;

/** Ticks every node until some node other than `not` leads; returns the tick count. */
function tickUntilNewLeader(net: Network, ids: readonly number[], limit: number): number {
  for (let i = 1; i <= limit; i++) {
    net.tick(ids);
    if (ids.some((id) => net.raft(id).role === "leader")) return i;
  }
  return -1;
}

describe("thesis §9.6 pre-vote", () => {
  test("§9.6: with pre-vote a timed-out follower becomes pre-candidate without touching its term or vote", () => {
    const n = newRawNode(1, V3, { preVote: true, hardState: { term: 4, vote: 2 }, logTerms: [3] });
    n.advance(n.ready());
    for (let i = 0; i < 2 * ELECTION_TICK && n.status().role === "follower"; i++) n.tick();
    assert.equal(n.status().role, "pre-candidate");
    assert.equal(n.status().term, 4);
    assert.equal(n.status().vote, 2);
    const rd = n.ready();
    assert.equal(rd.hardState, null, "a pre-vote leaves nothing to persist");
    const reqs = ofType(rd.messages, "preVote");
    assert.deepEqual(reqs.map((m) => m.to).sort(), [2, 3]);
    for (const m of reqs) {
      assert.equal(m.term, 5, "asks for the term it would campaign in");
      assert.deepEqual([m.lastLogIndex, m.lastLogTerm], [1, 3]);
    }
    assert.deepEqual(ofType(rd.messages, "vote"), []);
  });

  test("§9.6: a pre-candidate refused by a majority returns to follower in its old term", () => {
    const r = newRaft(1, V3, { preVote: true, hardState: { term: 4 } });
    r.campaign("preVote");
    r.step(voteResp(2, 1, 4, true, "preVoteResp"));
    r.step(voteResp(3, 1, 4, true, "preVoteResp"));
    assert.equal(r.role, "follower");
    assert.equal(r.term, 4);
  });

  test("§9.6: a pre-candidate granted by a majority runs the real election in term+1 and wins", () => {
    const r = newRaft(1, V3, { preVote: true, hardState: { term: 4 } });
    r.campaign("preVote");
    takeMsgs(r);
    r.step(voteResp(2, 1, 5, false, "preVoteResp"));
    assert.equal(r.role, "candidate");
    assert.equal(r.term, 5);
    assert.equal(r.vote, 1);
    assert.deepEqual(
      ofType(takeMsgs(r), "vote").map((m) => [m.to, m.term]),
      [
        [2, 5],
        [3, 5],
      ],
    );
    r.step(voteResp(3, 1, 5, false));
    assert.equal(r.role, "leader");
    assert.equal(r.term, 5);
  });

  test("§9.6: a cluster with pre-vote elects its first leader in term 1 (pre-votes precede votes)", () => {
    const net = new Network([1, 2, 3], { preVote: true, seed: 3 });
    const took = tickUntilNewLeader(net, V3, 4 * ELECTION_TICK);
    assert.ok(took > 0, "a leader was elected");
    const [leader] = net.leaders();
    assert.equal(net.raft(leader as number).term, 1);
    const first = net.sent.findIndex((m) => m.from === leader && m.type === "preVote");
    const vote = net.sent.findIndex((m) => m.from === leader && m.type === "vote");
    assert.ok(first >= 0 && vote > first, "the winner pre-voted before it voted");
  });

  test("§9.6: a single node with pre-vote elects itself on timeout in term 1", () => {
    const n = newRawNode(1, [1], { preVote: true, hardState: { term: 0 } });
    for (let i = 0; i < 2 * ELECTION_TICK && n.status().role !== "leader"; i++) n.tick();
    assert.equal(n.status().role, "leader");
    assert.equal(n.status().term, 1);
  });

  /**
   * Partitions node 3 away from a 3-node cluster led by node 1 for `isolatedTicks`, with
   * a write committed by {1, 2} meanwhile, then heals and runs `afterTicks`.
   */
  function partitionFollower(opts: RaftOpts, isolatedTicks: number, afterTicks: number) {
    const net = clusterWithLeader(3, opts);
    net.ticks(3);
    const term0 = net.raft(1).term;
    net.isolate(3);
    net.node(1).propose([bytes("written while 3 was away")]);
    net.stabilize();
    net.ticks(isolatedTicks);
    const isolatedTerm = net.raft(3).term;
    const leaderDuring = net.raft(1).role;
    net.heal();
    const termsAfterHeal: number[] = [];
    for (let i = 0; i < afterTicks; i++) {
      net.tick();
      termsAfterHeal.push(net.raft(1).term);
    }
    return { net, term0, isolatedTerm, leaderDuring, termsAfterHeal };
  }

  test("§9.6: with pre-vote a partitioned follower keeps its term and does not disrupt the leader on rejoin", () => {
    const { net, term0, isolatedTerm, leaderDuring, termsAfterHeal } = partitionFollower(
      { preVote: true },
      10 * ELECTION_TICK,
      5 * ELECTION_TICK,
    );
    const preVotes = net.sent.filter((m) => m.from === 3 && m.type === "preVote").length;
    assert.ok(preVotes >= 2 * 5, `node 3 timed out repeatedly (${preVotes / 2} pre-campaigns)`);
    assert.equal(
      net.sent.filter((m) => m.from === 3 && m.type === "vote").length,
      0,
      "never got past pre-vote",
    );
    assert.equal(isolatedTerm, term0, "the isolated node's term did not grow");
    assert.equal(leaderDuring, "leader");
    assert.ok(
      termsAfterHeal.every((t) => t === term0),
      `leader's term stayed ${term0}: ${termsAfterHeal}`,
    );
    assert.equal(net.raft(1).role, "leader");
    assert.equal(net.raft(3).leader, 1);
    assert.equal(net.raft(3).term, term0);
    // The next write brings node 3 up to date (an idle leader does not: see flow-control).
    net.node(1).propose([bytes("after heal")]);
    net.stabilize();
    assert.equal(net.raft(3).log.committed, net.raft(1).log.committed, "node 3 caught up");
    assert.equal(net.raft(1).term, term0);
  });

  test("§9.6 (contrast): without pre-vote the same partition inflates terms and deposes the leader on rejoin", () => {
    const { net, term0, isolatedTerm, leaderDuring, termsAfterHeal } = partitionFollower(
      { preVote: false },
      10 * ELECTION_TICK,
      5 * ELECTION_TICK,
    );
    assert.equal(leaderDuring, "leader");
    assert.ok(isolatedTerm >= term0 + 5, `isolated node reached term ${isolatedTerm}`);
    assert.ok(
      termsAfterHeal.some((t) => t > term0),
      "the rejoining node forced the leader into a higher term",
    );
    // Safety still holds: a leader emerges again and node 3 (behind) was not it.
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    assert.notEqual(leaders[0], 3, "node 3 missed a committed write, so it cannot win");
  });
});

describe("check-quorum and leader lease", () => {
  test("§6.2 check-quorum: a leader cut off from the majority steps down within (1, 2] election timeouts", () => {
    for (let seed = 1; seed <= 5; seed++) {
      const net = clusterWithLeader(3, { checkQuorum: true, seed });
      net.ticks(3 + seed); // vary the phase of the leader's check
      const term = net.raft(1).term;
      net.isolate(1);
      net.ticks(ELECTION_TICK);
      assert.equal(net.raft(1).role, "leader", `seed ${seed}: too early to give up`);
      net.ticks(ELECTION_TICK);
      assert.equal(net.raft(1).role, "follower", `seed ${seed}: stepped down`);
      assert.equal(net.raft(1).leader, NONE);
      assert.equal(net.raft(1).term, term, "stepping down does not need a new term");
    }
  });

  test("§6.2 check-quorum (contrast): without it an isolated leader keeps leading forever", () => {
    const net = clusterWithLeader(3, { checkQuorum: false });
    net.isolate(1);
    net.ticks(10 * ELECTION_TICK);
    assert.equal(net.raft(1).role, "leader");
  });

  test("§4.2.3 leader lease: with check-quorum a follower that recently heard from its leader ignores a higher-term vote request", () => {
    const r = newRaft(2, V3, { checkQuorum: true, hardState: { term: 1 } });
    r.step(heartbeat(1, 2, 1, 0));
    takeMsgs(r);
    for (let i = 0; i < ELECTION_TICK - 1; i++) {
      r.step(voteReq(3, 2, 2, 5, 1));
      assert.equal(r.term, 1, `tick ${i}: term unchanged`);
      assert.equal(r.leader, 1);
      assert.deepEqual(takeMsgs(r), [], `tick ${i}: no vote, no reply`);
      r.tick();
    }
    // Pre-votes are ignored the same way.
    r.step(voteReq(3, 2, 2, 5, 1, "preVote"));
    assert.deepEqual(takeMsgs(r), []);
  });

  test("§4.2.3 leader lease: the lease ends one election timeout after the last contact (and never exists without check-quorum)", () => {
    // Find a seed whose first timeout is long enough to observe the expired lease before
    // the follower campaigns itself.
    let seed = 1;
    for (; seed < 200; seed++) {
      const probe = newRaft(2, V3, { seed, hardState: { term: 1 } });
      let t = 0;
      while (probe.role === "follower") {
        probe.tick();
        t++;
      }
      if (t >= ELECTION_TICK + 2) break;
    }
    const r = newRaft(2, V3, { checkQuorum: true, seed, hardState: { term: 1 } });
    r.step(heartbeat(1, 2, 1, 0));
    for (let i = 0; i < ELECTION_TICK; i++) r.tick();
    assert.equal(r.role, "follower");
    r.step(voteReq(3, 2, 2, 5, 1));
    assert.equal(r.term, 2, "lease expired: the higher term is adopted");
    assert.equal(r.vote, 3);

    const noCq = newRaft(2, V3, { checkQuorum: false, hardState: { term: 1 } });
    noCq.step(heartbeat(1, 2, 1, 0));
    noCq.step(voteReq(3, 2, 2, 5, 1));
    assert.equal(noCq.term, 2, "without check-quorum the vote is granted at once");
    assert.equal(noCq.vote, 3);
  });

  test("check-quorum: a deposed leader learns the new term from the reply to its stale heartbeat", () => {
    for (const opts of [{ checkQuorum: true }, { preVote: true }]) {
      const net = clusterWithLeader(3, opts);
      net.isolate(1);
      const took = tickUntilNewLeader(net, [2, 3], 10 * ELECTION_TICK);
      assert.ok(took > 0, "the majority elected a new leader");
      const newTerm = Math.max(net.raft(2).term, net.raft(3).term);
      assert.equal(net.raft(1).role, "leader", "the old leader (not ticked) does not know yet");
      net.heal();
      net.tick([1]); // one heartbeat round from the stale leader
      assert.equal(net.raft(1).role, "follower", JSON.stringify(opts));
      assert.equal(net.raft(1).term, newTerm);
      assert.equal(
        Math.max(net.raft(2).term, net.raft(3).term),
        newTerm,
        "the stale leader disrupted nobody",
      );
    }
    // Without either feature the stale heartbeat is silently dropped.
    const net = clusterWithLeader(3);
    net.isolate(1);
    tickUntilNewLeader(net, [2, 3], 10 * ELECTION_TICK);
    net.heal();
    net.tick([1]);
    assert.equal(net.raft(1).role, "leader");
  });

  test("check-quorum: a rejoining candidate with a higher term is not stuck; the cluster converges on one leader", () => {
    const net = clusterWithLeader(3, { checkQuorum: true });
    net.ticks(3);
    net.isolate(3);
    net.ticks(6 * ELECTION_TICK);
    const stuckTerm = net.raft(3).term;
    assert.ok(stuckTerm > net.raft(1).term, "the isolated node campaigned in higher terms");
    assert.equal(net.raft(1).role, "leader", "its votes cannot reach anyone");
    net.heal();
    net.ticks(6 * ELECTION_TICK);
    const leaders = net.leaders();
    assert.equal(leaders.length, 1);
    const term = net.raft(leaders[0] as number).term;
    assert.ok(term > stuckTerm, `re-elected in term ${term} > ${stuckTerm}`);
    for (const id of V3) assert.equal(net.raft(id).term, term, `node ${id}`);
  });
});
