/**
 * Snapshot scenarios (docs/testing.md#directed-scenarios; MIT 6.5840 3D): frequent
 * snapshots with compaction keep the log bounded; a follower that was down while the
 * leader compacted catches up through InstallSnapshot; every node crashing right after
 * snapshots restarts from snapshot plus log tail with nothing acknowledged lost.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { leaderWithin, putAt, quietCluster, startPut, valueAt } from "./scenario-helpers.ts";

describe("snapshots (MIT 3D)", () => {
  it("snapshot every 10 entries: logs stay bounded; a follower down meanwhile catches up by InstallSnapshot", async () => {
    const sim = quietCluster(3, 301, {
      snapshotEvery: 10,
      snapshotKeep: 5,
      maxMsgBytes: 1024 * 1024,
    });
    const leader = await leaderWithin(sim, 5000);
    const down = [1, 2, 3].find((i) => i !== leader) as number;
    sim.crashNow(down);
    for (let i = 0; i < 300; i++)
      assert.equal(await putAt(sim, leader, `s/${i % 40}`, `v${i}`), "ok");
    const disk = sim.node(leader).disk;
    assert.ok(
      disk.entries.length <= 30,
      `leader's durable log bounded (${disk.entries.length} entries)`,
    );
    assert.ok((disk.snapshot?.meta.index ?? 0) >= 290, "and covered by a recent snapshot");
    const sentBefore = sim.network.sent.get("snapshot") ?? 0;
    sim.restartNow(down);
    await sim.waitFor("the restarted follower to converge", 10_000, () => sim.converged());
    assert.ok((sim.network.sent.get("snapshot") ?? 0) > sentBefore, "it needed InstallSnapshot");
    for (let i = 260; i < 300; i++) assert.equal(valueAt(sim, down, `s/${i % 40}`), `v${i}`);
    sim.checker.checkExpensive();
  });

  it("every node crashes right after snapshotting, repeatedly: restarts from snapshot + log, nothing acknowledged lost", async () => {
    const sim = quietCluster(3, 302, { snapshotEvery: 7, snapshotKeep: 0 });
    const acked = new Map<string, string>();
    for (let round = 0; round < 8; round++) {
      const leader = await leaderWithin(sim, 8000);
      const puts = Array.from({ length: 30 }, (_, i) => {
        const key = `r${round}/${i}`;
        const value = `v${round}.${i}`;
        return { key, value, p: startPut(sim, leader, key, value) };
      });
      await sim.waitFor("the round's writes to settle", 5000, () =>
        puts.every(({ p }) => p.state !== "pending"),
      );
      await sim.runUntil(sim.queue.now + 300);
      const snaps = sim.nodes.map((n) => n.disk.snapshot?.meta.index ?? 0);
      assert.ok(Math.min(...snaps) > 0, `every node has snapshotted (${snaps.join(", ")})`);
      for (const { key, value, p } of puts) if (p.state === "ok") acked.set(key, value);
      for (const n of sim.nodes) sim.crashNow(n.id, 1);
      for (const n of sim.nodes) sim.restartNow(n.id);
    }
    const leader = await leaderWithin(sim, 8000);
    assert.equal(await putAt(sim, leader, "final", "f"), "ok");
    await sim.waitFor("convergence", 10_000, () => sim.converged());
    assert.ok(acked.size >= 100, `enough acknowledged writes (${acked.size})`);
    for (const [key, value] of acked)
      for (const id of [1, 2, 3]) assert.equal(valueAt(sim, id, key), value, `${key} on n${id}`);
    sim.checker.checkExpensive();
  });
});
