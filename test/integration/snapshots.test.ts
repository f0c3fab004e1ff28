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
import { ProcessCluster } from "../support/process-cluster.ts";
import { waitFor } from "../support/wait.ts";

/** Small snapshot cadence so a few thousand writes exercise compaction many times. */
const SNAPSHOT_FLAGS = ["--snapshot-entries", "200", "--snapshot-keep", "50", "--debug"];

/** Per key: the acknowledged write with the highest log index, which is what a read must see. */
type Acked = Map<string, { index: number; value: string }>;

/** Writes `count` puts over `keys` keys, 16 in flight; remembers the last acknowledged value. */
async function writeMany(
  cluster: ProcessCluster,
  acked: Acked,
  tag: string,
  count: number,
  keys = 100,
): Promise<void> {
  const client = cluster.client();
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) {
        const key = `snap/${i % keys}`;
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

/** Reads every key from ONE node's own applied state and compares with what was acknowledged. */
async function assertNodeHolds(cluster: ProcessCluster, id: number, acked: Acked) {
  const node = cluster.node(id);
  const client = cluster.client([node.address]);
  try {
    for (const [key, { value }] of acked) {
      const got = await client.get(key, { serializable: true });
      assert.equal(Buffer.from(got.value).toString(), value, `node ${id}: ${key}`);
    }
  } finally {
    client.close();
  }
}

/** Waits until node `id` has applied at least what the leader has committed now. */
async function caughtUp(cluster: ProcessCluster, id: number): Promise<void> {
  const leader = cluster.node(await cluster.waitForLeader());
  const target = (await cluster.status(leader))?.commitIndex ?? 0;
  await waitFor(
    `node ${id} to apply ${target}`,
    async () =>
      ((await cluster.status(cluster.node(id)))?.appliedIndex ?? 0) >= target || undefined,
    60_000,
  );
}

async function walSegments(cluster: ProcessCluster, id: number): Promise<number> {
  return (await readdir(join(cluster.node(id).dataDir, "wal"))).filter((f) => f.endsWith(".wal"))
    .length;
}

describe("snapshots and compaction on real processes", { timeout: 300_000 }, () => {
  let cluster: ProcessCluster;
  const acked: Acked = new Map();

  before(async () => {
    cluster = await ProcessCluster.start(3, SNAPSHOT_FLAGS);
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("compacts: 2,000 writes leave each log a few segments and its first index past 1,500", async () => {
    await writeMany(cluster, acked, "a", 2000);
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
    await writeMany(cluster, acked, "b", 1500);
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
