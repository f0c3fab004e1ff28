/**
 * kill -9 at chosen points of compaction and of snapshot install (issue #4: "a crash at
 * any point of snapshotting or compaction leaves a node that starts and holds every
 * acknowledged write"). A node started with DFS_CRASH_AT=<point> SIGKILLs itself when it
 * reaches that point; it is then restarted normally and must catch up and hold, in its
 * own applied state, every write the cluster acknowledged.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ProcessCluster } from "../support/process-cluster.ts";
import { waitFor } from "../support/wait.ts";

const SNAPSHOT_FLAGS = ["--snapshot-entries", "200", "--snapshot-keep", "50"];

type Acked = Map<string, { index: number; value: string }>;

async function writeMany(cluster: ProcessCluster, acked: Acked, tag: string, count: number) {
  const client = cluster.client();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const key = `crash/${i % 80}`;
        const value = `${tag}-${i}`;
        const { index } = await client.put(key, Buffer.from(value));
        if (index > (acked.get(key)?.index ?? 0)) acked.set(key, { index, value });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
  } finally {
    client.close();
  }
}

async function caughtUpAndHolds(cluster: ProcessCluster, id: number, acked: Acked) {
  const leader = cluster.node(await cluster.waitForLeader());
  const target = (await cluster.status(leader))?.commitIndex ?? 0;
  await waitFor(
    `node ${id} to apply ${target}`,
    async () =>
      ((await cluster.status(cluster.node(id)))?.appliedIndex ?? 0) >= target || undefined,
    60_000,
  );
  const client = cluster.client([cluster.node(id).address]);
  try {
    for (const [key, { value }] of acked) {
      const got = await client.get(key, { serializable: true });
      assert.equal(Buffer.from(got.value).toString(), value, `node ${id}: ${key}`);
    }
  } finally {
    client.close();
  }
}

describe("kill -9 inside compaction and snapshot install", { timeout: 600_000 }, () => {
  let cluster: ProcessCluster;
  const acked: Acked = new Map();

  before(async () => {
    cluster = await ProcessCluster.start(3, SNAPSHOT_FLAGS);
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
      const writing = writeMany(cluster, acked, point, 1000);
      assert.equal(await cluster.exited(id), "SIGKILL", `node ${id} never reached ${point}`);
      await writing;
      await cluster.restart(id);
      await caughtUpAndHolds(cluster, id, acked);
    });
  }

  for (const point of ["swap-aside", "swap-done", "snapshot-installed", "reset-rotated"]) {
    it(`snapshot install: a follower killed at ${point} restarts with everything`, async () => {
      const leader = await cluster.waitForLeader();
      const id = cluster.nodes.find((n) => n.id !== leader)?.id ?? 0;
      await cluster.kill(id);
      await writeMany(cluster, acked, point, 600);
      cluster.envForNextStart(id, { DFS_CRASH_AT: point });
      cluster.spawn(cluster.node(id));
      assert.equal(await cluster.exited(id), "SIGKILL", `node ${id} never reached ${point}`);
      await cluster.restart(id);
      await caughtUpAndHolds(cluster, id, acked);
    });
  }
});
