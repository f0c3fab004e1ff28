/**
 * Snapshots, log compaction and InstallSnapshot on three real processes with real disks
 * (issue #4): the WAL stays a few segments long, a follower that missed more than the
 * leader keeps is brought back by a streamed snapshot, and kill -9 at chosen points of
 * compaction and snapshot install leaves nodes that restart with every acknowledged write.
 */
import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { LocalCluster } from "../../src/cluster/index.ts";
import { type Acked, assertNodeHolds, caughtUp, writeAcked } from "../support/acked-writes.ts";

/** Small snapshot cadence so a few thousand writes exercise compaction many times. */
const SNAPSHOT_FLAGS = ["--snapshot-entries", "200", "--snapshot-keep", "50", "--debug"];

async function walSegments(cluster: LocalCluster, id: number): Promise<number> {
  return (await readdir(join(cluster.node(id).dataDir, "wal"))).filter((f) => f.endsWith(".wal"))
    .length;
}

describe("snapshots and compaction on real processes", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  const acked: Acked = new Map();

  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: SNAPSHOT_FLAGS });
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("compacts: 2,000 writes leave each log a few segments and its first index past 1,500", async () => {
    await writeAcked(cluster, acked, "a", 2000, { prefix: "snap" });
    for (const node of cluster.nodes) await caughtUp(cluster, node.id);
    for (const node of cluster.nodes) {
      const status = await cluster.status(node);
      assert.ok(
        (status?.firstIndex ?? 0) > 1500,
        `node ${node.id} first index ${status?.firstIndex}`,
      );
      const segments = await walSegments(cluster, node.id);
      assert.ok(segments <= 3, `node ${node.id} has ${segments} WAL segments`);
    }
  });

  it("a follower that missed more than the leader keeps catches up by a streamed snapshot", async () => {
    const leaderId = await cluster.waitForLeader();
    const follower = cluster.nodes.find((n) => n.id !== leaderId)?.id ?? 0;
    await cluster.kill(follower);
    await writeAcked(cluster, acked, "b", 1500, { prefix: "snap" });
    const leader = cluster.node(leaderId);
    const sentBefore = leader.stderr.split("snapshot sent").length;
    await cluster.restart(follower);
    await caughtUp(cluster, follower);
    assert.ok(
      leader.stderr.split("snapshot sent").length > sentBefore,
      `the leader streamed no snapshot:\n${cluster.logs()}`,
    );
    await assertNodeHolds(cluster, follower, acked);
  });

  it("kill -9 of every node at once: each restarts from its store plus the WAL tail, nothing lost", async () => {
    for (const node of cluster.nodes) await cluster.kill(node.id);
    for (const node of cluster.nodes) await cluster.restart(node.id);
    await cluster.waitForLeader();
    for (const node of cluster.nodes) {
      await caughtUp(cluster, node.id);
      await assertNodeHolds(cluster, node.id, acked);
    }
  });
});
