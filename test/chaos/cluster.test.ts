/**
 * The chaos cluster really routes every peer link through its proxy: each directed link
 * carries Raft traffic, and cutting the leader's links (and only those) makes the other
 * nodes elect a new leader, which the cut-off node follows once healed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../../src/cluster/index.ts";
import { ChaosCluster } from "./proxied-cluster.ts";

describe("chaos cluster", () => {
  let cluster: ChaosCluster;

  before(async () => {
    cluster = await ChaosCluster.start(3);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test("peer traffic goes through the proxies, both ways between leader and followers", async () => {
    const leader = await cluster.processes.waitForLeader();
    const followers = cluster.ids().filter((id) => id !== leader);
    await waitFor("traffic on every link of the leader", () =>
      followers.every(
        (f) =>
          cluster.link(leader, f).stats.bytesForward > 0 &&
          cluster.link(f, leader).stats.bytesForward > 0,
      )
        ? true
        : undefined,
    );
  });

  test("blackholing the leader's links elects another leader; healing rejoins it", async () => {
    const old = await cluster.processes.waitForLeader();
    for (const other of cluster.ids().filter((id) => id !== old)) {
      cluster.link(old, other).set({ kind: "blackhole" });
      cluster.link(other, old).set({ kind: "blackhole" });
    }
    const fresh = await waitFor("a new leader", async () => {
      const statuses = await Promise.all(cluster.nodes.map((n) => cluster.processes.status(n)));
      const leader = statuses.find((s) => s?.role === "leader" && s.id !== old);
      return leader?.id;
    });
    assert.notEqual(fresh, old);
    cluster.healNetwork();
    await waitFor(`node ${old} to follow ${fresh}`, async () => {
      const s = await cluster.processes.status(cluster.processes.node(old));
      return s?.role === "follower" && s.leaderId !== 0 ? true : undefined;
    });
  });

  test("SIGSTOP, SIGCONT, SIGKILL and restart on the same data dir", async () => {
    const leader = await cluster.processes.waitForLeader();
    const follower = cluster.ids().find((id) => id !== leader) as number;
    cluster.processes.pause(follower);
    assert.equal(await cluster.processes.status(cluster.processes.node(follower)), undefined);
    cluster.processes.resume(follower);
    await waitFor("the resumed node to answer", () =>
      cluster.processes.status(cluster.processes.node(follower)),
    );
    await cluster.processes.kill(follower);
    assert.equal(cluster.processes.node(follower).state, "stopped");
    await cluster.processes.restart(follower);
    const s = await cluster.processes.status(cluster.processes.node(follower));
    assert.ok(s !== undefined && s.commitIndex > 0, "restarted node lost its log");
    assert.deepEqual(cluster.crashes, []);
  });
});
