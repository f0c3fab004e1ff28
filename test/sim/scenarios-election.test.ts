/**
 * Directed election scenarios on the simulator (docs/testing.md#directed-scenarios; MIT
 * 6.5840 3A): elections with 3 and 7 nodes, leader loss and rejoin, a disconnected
 * majority, stability when healthy, and the partial-partition livelock that pre-vote and
 * check-quorum cure.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  disconnect,
  ELECTION_MS,
  leaders,
  leaderWithin,
  putAt,
  quietCluster,
  termOf,
} from "./scenario-helpers.ts";

describe("elections (MIT 3A)", () => {
  for (const size of [3, 7]) {
    it(`${size} nodes: elect, lose the leader, rejoin, lose a majority, recover`, async () => {
      const sim = quietCluster(size, 42 + size);
      const first = await leaderWithin(sim, 5000);
      const term = termOf(sim, first);
      await sim.runUntil(sim.queue.now + 10 * ELECTION_MS);
      assert.equal(
        sim.stableLeader(),
        first,
        "a healthy cluster keeps its leader for 10 election timeouts",
      );
      assert.equal(termOf(sim, first), term, "and its term");

      disconnect(sim, first);
      await sim.waitFor("a new leader without the old one", 5000, () => {
        const l = sim.stableLeader();
        return l !== undefined && l !== first;
      });
      const second = sim.stableLeader() as number;

      sim.network.healLinks();
      await sim.waitFor(
        "the old leader to follow",
        5000,
        () =>
          sim.node(first).current?.node.status().role === "follower" && leaders(sim).length === 1,
      );
      assert.ok(termOf(sim, first) >= termOf(sim, second));

      const majority = sim.nodes.map((n) => n.id).slice(0, Math.floor(size / 2) + 1);
      for (const id of majority) disconnect(sim, id);
      await sim.runUntil(sim.queue.now + 2 * ELECTION_MS);
      await sim.runUntil(sim.queue.now + 2 * ELECTION_MS);
      assert.deepEqual(
        leaders(sim),
        [],
        "no leader may exist without a connected majority (check-quorum deposes the old one)",
      );

      sim.network.healLinks();
      await leaderWithin(sim, 5000);
      sim.checker.checkExpensive();
    });
  }
});

describe("partial partition", () => {
  /** {1,2,3} fully connected; 4 reaches only 2; 5 reaches only 3. */
  function partialPartition(preVote: boolean, checkQuorum: boolean) {
    const sim = quietCluster(5, 7, { preVote, checkQuorum });
    for (const [a, b] of [
      [4, 1],
      [4, 3],
      [4, 5],
      [5, 1],
      [5, 2],
    ] as const) {
      sim.network.cutLink(a, b);
      sim.network.cutLink(b, a);
    }
    return sim;
  }

  async function observe(preVote: boolean, checkQuorum: boolean) {
    const sim = partialPartition(preVote, checkQuorum);
    await sim.runUntil(5000);
    const startTerm = Math.max(...sim.nodes.map((n) => termOf(sim, n.id)));
    let committed = 0;
    let attempts = 0;
    const end = sim.queue.now + 30_000;
    while (sim.queue.now < end) {
      attempts++;
      const leader = sim.stableLeader();
      if (leader !== undefined && (await putAt(sim, leader, `pp/${attempts}`, "v", 500)) === "ok")
        committed++;
      else await sim.runUntil(sim.queue.now + 100);
    }
    const endTerm = Math.max(...sim.nodes.map((n) => termOf(sim, n.id)));
    return { termsBurned: endTerm - startTerm, committed, attempts, leader: sim.stableLeader() };
  }

  it("with pre-vote and check-quorum: a stable leader in {1,2,3} and steady progress", async () => {
    const on = await observe(true, true);
    console.log(
      `# partial partition, pre-vote+check-quorum ON: terms burned in 30 s = ${on.termsBurned}, writes committed = ${on.committed}/${on.attempts}`,
    );
    assert.equal(on.termsBurned, 0, "no elections once the leader is established");
    assert.ok(on.leader !== undefined && [1, 2, 3].includes(on.leader));
    assert.ok(on.committed >= on.attempts * 0.9, "nearly every write commits");
  });

  it("with both off the same partition churns: repeated disruptive elections depose the leader (the cure is needed)", async () => {
    const off = await observe(false, false);
    console.log(
      `# partial partition, pre-vote+check-quorum OFF: terms burned in 30 s = ${off.termsBurned}, writes committed = ${off.committed}/${off.attempts}`,
    );
    assert.ok(
      off.termsBurned >= 5,
      `expected repeated disruptive elections, saw ${off.termsBurned}`,
    );
  });
});
