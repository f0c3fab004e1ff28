/**
 * The chaos cluster really routes every peer link through its proxy: each directed link
 * carries Raft traffic, and cutting the leader's links (and only those) makes the other
 * nodes elect a new leader, which the cut-off node follows once healed.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { waitFor } from "../support/wait.ts";
import { ChaosCluster } from "./cluster.ts";

describe("chaos cluster", () => {
  let cluster: ChaosCluster;

  before(async () => {
    cluster = await ChaosCluster.start(3);
  });
  after(async () => {
    await cluster?.destroy();
  });

  test("peer traffic goes through the proxies, both ways between leader and followers", async () => {
    const leader = await cluster.waitForLeader();
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
    const old = await cluster.waitForLeader();
    for (const other of cluster.ids().filter((id) => id !== old)) {
      cluster.link(old, other).set({ kind: "blackhole" });
      cluster.link(other, old).set({ kind: "blackhole" });
    }
    const fresh = await waitFor("a new leader", async () => {
      const statuses = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
      const leader = statuses.find((s) => s?.role === "leader" && s.id !== old);
      return leader?.id;
    });
    assert.notEqual(fresh, old);
    cluster.healNetwork();
    await waitFor(`node ${old} to follow ${fresh}`, async () => {
      const s = await cluster.status(cluster.node(old));
      return s?.role === "follower" && s.leaderId !== 0 ? true : undefined;
    });
  });

  test("SIGSTOP, SIGCONT, SIGKILL and restart on the same data dir", async () => {
    const leader = await cluster.waitForLeader();
    const follower = cluster.ids().find((id) => id !== leader) as number;
    cluster.pause(follower);
    assert.equal(await cluster.status(cluster.node(follower)), undefined);
    cluster.resume(follower);
    await waitFor("the resumed node to answer", () => cluster.status(cluster.node(follower)));
    await cluster.kill(follower);
    assert.equal(cluster.node(follower).state, "killed");
    await cluster.restart(follower);
    const s = await cluster.status(cluster.node(follower));
    assert.ok(s !== undefined && s.commitIndex > 0, "restarted node lost its log");
    assert.deepEqual(cluster.crashes, []);
  });
});
