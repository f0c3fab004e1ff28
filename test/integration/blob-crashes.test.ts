/**
 * kill -9 at each crash point of the blob write path (issue 22, docs/architecture.md
 * "The blob store"): after a chunk's bytes reached its blob but before their fdatasync,
 * and after the fdatasync but before the WAL record naming them. A node started with
 * DFS_CRASH_AT=<point> SIGKILLs itself there while files are uploaded; it is restarted
 * normally and must start (no missing or short blob named by its store or its log),
 * catch up, and serve every acknowledged file whole from its own applied state, while
 * an upload the crash cut short never shows. Both a follower and the leader are killed
 * at each point: the leader writes its blob before it sends, a follower when it appends.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { LocalCluster } from "../../src/cluster/index.ts";
import { caughtUp } from "../support/acked-writes.ts";
import { downloadAll, sha256Hex } from "../support/file-data.ts";

/** The crash points of the blob write path, in the order a chunk passes them. */
const POINTS = ["blob-written", "blob-synced"] as const;
const MiB = 1024 * 1024;

/** Per key: the SHA-256 of the acknowledged upload with the highest index. */
type AckedFiles = Map<string, { index: number; sha256: string }>;

/**
 * Uploads files of 1-3.5 MiB (so chunks are both full and partial) under `prefix/`, 3
 * at a time, until `stop()` says so or `max` are done; remembers the acknowledged ones.
 */
async function uploadUntil(
  cluster: LocalCluster,
  acked: AckedFiles,
  prefix: string,
  stop: () => boolean,
  max = 40,
): Promise<number> {
  const client = cluster.client(cluster.endpoints(), 60_000);
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < max && !stop(); i = next++) {
      const bytes = randomBytes(MiB + ((i * 797_321) % (5 * (MiB / 2))));
      const key = `${prefix}/${i % 12}`;
      try {
        const { index } = await client.upload(key, bytes);
        if (index > (acked.get(key)?.index ?? 0))
          acked.set(key, { index, sha256: sha256Hex(bytes) });
      } catch {
        failed++; // the node that died led: an upload cut short is refused, never half stored
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: 3 }, worker));
  } finally {
    client.close();
  }
  return failed;
}

/** Node `id` serves every acknowledged file whole from its own applied state. */
async function assertNodeHoldsFiles(cluster: LocalCluster, id: number, acked: AckedFiles) {
  const client = cluster.client([cluster.node(id).address], 60_000);
  try {
    for (const [key, { sha256 }] of acked) {
      const got = await downloadAll(client, key, true);
      assert.equal(sha256Hex(got), sha256, `node ${id}: ${key}`);
    }
  } finally {
    client.close();
  }
}

/** Makes `id` the leader (after it caught up). */
async function handOver(cluster: LocalCluster, id: number): Promise<void> {
  await caughtUp(cluster, id);
  const client = cluster.client();
  try {
    await client.leaderTransfer(id);
  } finally {
    client.close();
  }
  assert.equal(await cluster.waitForLeader(), id, `node ${id} did not take over`);
}

describe("kill -9 inside the blob write path", { timeout: 900_000 }, () => {
  let cluster: LocalCluster;
  const acked: AckedFiles = new Map();

  before(async () => {
    cluster = await LocalCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });

  for (const point of POINTS) {
    for (const role of ["follower", "leader"] as const) {
      it(`a ${role} killed at ${point} restarts and serves every acknowledged file`, async () => {
        const leader = await cluster.waitForLeader();
        const id =
          role === "leader" ? leader : (cluster.nodes.find((n) => n.id !== leader)?.id ?? 0);
        await cluster.kill(id);
        cluster.envForNextStart(id, { DFS_CRASH_AT: point });
        await cluster.restart(id);
        // No writes while it was down, so its catch-up holds no chunk: it dies at its point
        // only once uploads start, as a leader (after the hand-over) or a follower.
        if (role === "leader") await handOver(cluster, id);
        let died = false;
        const exit = cluster.exited(id).finally(() => {
          died = true;
        });
        await uploadUntil(cluster, acked, `${point}-${role}`, () => died);
        assert.equal(await exit, "SIGKILL", `node ${id} never reached ${point}`);
        await cluster.restart(id);
        await caughtUp(cluster, id);
        await assertNodeHoldsFiles(cluster, id, acked);
        // The others too: a leader that died mid-write left its followers whole.
        for (const n of cluster.nodes) if (n.id !== id) await caughtUp(cluster, n.id);
        for (const n of cluster.nodes) await assertNodeHoldsFiles(cluster, n.id, acked);
      });
    }
  }
});
