/**
 * kill -9 at chosen points of compaction and of snapshot install (issue #4: "a crash at
 * any point of snapshotting or compaction leaves a node that starts and holds every
 * acknowledged write"). A node started with DFS_CRASH_AT=<point> SIGKILLs itself when it
 * reaches that point; it is then restarted normally and must catch up and hold, in its
 * own applied state, every write the cluster acknowledged.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalCluster } from "../../src/cluster/index.ts";
import { type Acked, assertNodeHolds, caughtUp, writeAcked } from "../support/acked-writes.ts";

const SNAPSHOT_FLAGS = ["--snapshot-entries", "200", "--snapshot-keep", "50"];

async function caughtUpAndHolds(cluster: LocalCluster, id: number, acked: Acked) {
  await caughtUp(cluster, id);
  await assertNodeHolds(cluster, id, acked);
}

describe("kill -9 inside compaction and snapshot install", { timeout: 600_000 }, () => {
  let cluster: LocalCluster;
  const acked: Acked = new Map();

  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: SNAPSHOT_FLAGS });
  });
  after(async () => {
    await cluster?.destroy();
  });

  for (const point of ["snapshot-flushed", "compact-rotated", "segment-deleted"]) {
    it(`compaction: a node killed at ${point} restarts with everything`, async () => {
      const id = 3;
      await cluster.kill(id);
      cluster.envForNextStart(id, { DFS_CRASH_AT: point });
      await cluster.restart(id);
      // Write until the node dies at its point. A fixed count raced the node's catch-up:
      // when the writes outran its reconnection, it caught up through a snapshot install
      // near the end and never applied the 200 entries that start its own snapshot.
      let died = false;
      const exit = cluster.exited(id).finally(() => {
        died = true;
      });
      for (let round = 0; !died && round < 30; round++) {
        await writeAcked(cluster, acked, `${point}-${round}`, 200, { prefix: "crash", keys: 80 });
      }
      assert.equal(await exit, "SIGKILL", `node ${id} never reached ${point}`);
      await cluster.restart(id);
      await caughtUpAndHolds(cluster, id, acked);
    });
  }

  for (const point of ["swap-aside", "swap-done", "snapshot-installed", "reset-rotated"]) {
    it(`snapshot install: a follower killed at ${point} restarts with everything`, async () => {
      const leader = await cluster.waitForLeader();
      const id = cluster.nodes.find((n) => n.id !== leader)?.id ?? 0;
      await cluster.kill(id);
      await writeAcked(cluster, acked, point, 600, { prefix: "crash", keys: 80 });
      cluster.envForNextStart(id, { DFS_CRASH_AT: point });
      cluster.spawn(cluster.node(id));
      assert.equal(await cluster.exited(id), "SIGKILL", `node ${id} never reached ${point}`);
      await cluster.restart(id);
      await caughtUpAndHolds(cluster, id, acked);
    });
  }
});
