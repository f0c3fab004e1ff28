/**
 * The fault phase's liveness judge (steady-leader.ts): silent on a partial partition that
 * pre-vote and the leader lease keep from disturbing the leader, and firing when a node
 * cut off from the leader moves the term past it anyway (pre-vote off here; the planted
 * `prevote-ignores-lease` does it with pre-vote on, docs/testing.md#planted-bugs).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ELECTION_MS, leaderWithin, quietCluster } from "./scenario-helpers.ts";

/** 5 nodes; once a leader leads, node `cut` loses its links to it (and only those). */
async function cutFromLeader(preVote: boolean) {
  const sim = quietCluster(5, 11, { preVote, checkQuorum: true });
  const judge = sim.judgeSteadyLeader();
  const leader = await leaderWithin(sim, 5000);
  await sim.runUntil(sim.queue.now + 3 * ELECTION_MS);
  const cut = leader === 5 ? 4 : 5;
  sim.network.cutLink(leader, cut);
  sim.network.cutLink(cut, leader);
  return { sim, judge, leader, cut };
}

describe("steady-leader judge", () => {
  it("a node cut off from a healthy leader cannot disturb it with pre-vote on: no alarm", async () => {
    const { sim, judge, leader } = await cutFromLeader(true);
    await sim.runUntil(sim.queue.now + 20 * ELECTION_MS);
    assert.ok(judge.windows >= 1, "the judge watched a window");
    assert.equal(sim.stableLeader(), leader);
  });

  it("with pre-vote off the cut-off node bumps the term: the judge fails the run", async () => {
    const { sim, cut } = await cutFromLeader(false);
    await assert.rejects(
      sim.runUntil(sim.queue.now + 20 * ELECTION_MS),
      new RegExp(`liveness \\(fault phase\\): n${cut} moved to term`),
    );
  });
});
