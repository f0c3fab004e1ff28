/**
 * The membership nemesis (sim-membership.ts) on the simulator: directed changes on a quiet
 * cluster (replace a node on a fresh disk, remove the leader, grow with a learner that
 * catches up by snapshot), then random seeds with the nemesis forced on, mixed with every
 * other fault of the swarm. Each seed prints its replay command.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { voterIds } from "../../src/raft/index.ts";
import type { SwarmFault } from "./nemesis.ts";
import { ELECTION_MS, leaderWithin, putAt, quietCluster } from "./scenario-helpers.ts";
import { Simulation } from "./simulation.ts";

type MembershipFault = Extract<SwarmFault, { kind: "membership" }>;

function fault(action: MembershipFault["action"]): MembershipFault {
  return {
    kind: "membership",
    action,
    to: "best",
    followUp: "none",
    afterMs: 0,
    nextLeaderAsap: false,
    zombieMs: 0,
  };
}

describe("membership nemesis, directed", () => {
  it("replaces a voter by a new id on an empty disk; the cluster converges", async () => {
    const sim = quietCluster(3, 17, { snapshotEvery: 10, snapshotKeep: 0 });
    const leader = await leaderWithin(sim, 3000);
    for (let i = 0; i < 30; i++) assert.equal(await putAt(sim, leader, `k${i}`, `v${i}`), "ok");
    const nemesis = sim.enableMembership();
    await nemesis.inject(fault("replace"), sim.rng.fork(), sim.queue.now + 20_000);
    const config = sim.checker.latestConfig().membership;
    assert.equal(config.removed.length, 1, nemesis.summary());
    assert.deepEqual(
      voterIds(config).filter((id) => id > 3),
      [4],
      "n4 replaced the removed voter",
    );
    assert.equal(voterIds(config).length, 3);
    await sim.runUntil(sim.queue.now + 2000);
    assert.ok(sim.gone.has(config.removed[0] as number), "the removed node stopped");
    const now = sim.stableLeader() as number;
    assert.equal(await putAt(sim, now, "after", "x"), "ok");
    await sim.waitFor("convergence", 5000, () => sim.converged());
    assert.ok((sim.node(4).current?.fsm.appliedIndex ?? 0) > 30, "n4 holds the data");
    await sim.dispose();
  });

  it("removing the leader hands over without waiting out an election timeout", async () => {
    const sim = quietCluster(3, 5);
    const leader = await leaderWithin(sim, 3000);
    assert.equal(await putAt(sim, leader, "a", "1"), "ok");
    const inc = sim.node(leader).current;
    const config = inc?.node.status().membership.membership;
    assert.ok(inc && config);
    const before = sim.queue.now;
    inc.node.proposeMembership({
      members: config.members.filter((m) => m.id !== leader),
      removed: [leader],
    });
    inc.loop.deliver([]);
    await sim.waitFor(
      "a new leader",
      ELECTION_MS,
      () => sim.stableLeader() !== undefined && sim.stableLeader() !== leader,
    );
    const took = sim.queue.now - before;
    assert.ok(took < ELECTION_MS / 4, `hand-over took ${took} ms`);
    await sim.dispose();
  });
});

describe("membership nemesis, random seeds", () => {
  const seeds = [1, 3, 4, 16];
  for (const seed of seeds) {
    const nodes = seed % 2 === 0 ? 3 : 5;
    // Aimed kinds off: these seeds were picked, before those kinds existed, for the
    // membership changes they make (with them on, seed 1 draws none).
    const replay = `npm run sim -- --membership on --aimed off --seed ${seed} --nodes ${nodes} --fault-ms 20000 --clients 8 --verbose`;
    it(`seed ${seed} (${nodes} nodes) with membership changes under faults`, async () => {
      const report = await new Simulation({
        seed,
        nodes,
        faultMs: 20_000,
        clients: 8,
        membership: "on",
        aimed: false,
      }).run();
      console.log(
        `# seed ${seed}: ${report.ok ? "ok" : "FAIL"} definite=${report.definite} members: ${report.membership} | replay: ${replay}`,
      );
      if (!report.ok) console.log(report.trace.map((l) => `# ${l}`).join("\n"));
      assert.ok(report.ok, `${report.failure}\nreplay: ${replay}`);
      assert.match(report.membership ?? "", /proposed:/, "the nemesis changed the membership");
    });
  }
});
