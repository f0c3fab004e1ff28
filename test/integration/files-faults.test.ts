/**
 * Files under faults on real processes (issue #7): a leader killed in the middle of an
 * upload never leaves a partial file visible, and a chunk damaged on one node's disk is
 * detected there instead of being served.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { downloadAll, findInBlobs, sha256Hex as sha } from "../support/file-data.ts";

const MiB = 1024 * 1024;

/** A one-shot source of `total` bytes in 1 MiB pieces that calls `at(bytes)` as it goes. */
async function* pieces(data: Buffer, at: (sent: number) => Promise<void>): AsyncGenerator<Buffer> {
  for (let p = 0; p < data.length; p += MiB) {
    await at(p);
    yield data.subarray(p, p + MiB);
  }
}

describe("files under faults", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let client: DfsClient;

  before(async () => {
    cluster = await LocalCluster.start();
    client = cluster.client(cluster.endpoints(), 20_000);
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  it("leader killed mid-upload: the stream fails cleanly and the old file stays whole", async () => {
    const old = randomBytes(3 * MiB);
    await client.upload("faults/doc", old);
    const leader = await cluster.waitForLeader();
    const next = randomBytes(40 * MiB);
    let killed = false;
    const attempt = client.upload(
      "faults/doc",
      pieces(next, async (sent) => {
        if (sent >= 12 * MiB && !killed) {
          killed = true;
          await cluster.kill(leader);
        }
      }),
    );
    const outcome = await attempt.then(
      (r) => ({ ok: true as const, r }),
      (e: unknown) => ({ ok: false as const, e }),
    );
    assert.ok(killed, "the leader was killed during the upload");
    await cluster.waitForLeader();
    const now = await downloadAll(client, "faults/doc");
    if (outcome.ok) assert.equal(sha(now), sha(next), "a completed upload is whole");
    else {
      assert.match(String(outcome.e), /not retried|unavailable|leader/i);
      assert.equal(sha(now), sha(old), "a failed upload leaves the old file, whole");
    }
    await cluster.restart(leader);
  });

  it("leader killed mid-upload of a re-readable source: the client starts over and completes", async () => {
    const leader = await cluster.waitForLeader();
    const data = randomBytes(40 * MiB);
    let killed = false;
    const result = await client.upload("faults/retried", () =>
      pieces(data, async (sent) => {
        if (sent >= 12 * MiB && !killed) {
          killed = true;
          await cluster.kill(leader);
        }
      }),
    );
    assert.ok(killed);
    assert.equal(result.sha256, sha(data));
    assert.equal(sha(await downloadAll(client, "faults/retried")), sha(data));
    await cluster.restart(leader);
  });

  it("a chunk damaged on one node's disk is an error there, never wrong bytes", async () => {
    const data = randomBytes(3 * MiB);
    await client.upload("faults/damaged", data);
    const leader = await cluster.waitForLeader();
    const victim = cluster.nodes.find((n) => n.id !== leader) as (typeof cluster.nodes)[number];
    await waitFor("the follower to apply the upload", async () => {
      const s = await cluster.status(victim);
      const l = await cluster.status(cluster.node(leader));
      return s && l && s.appliedIndex >= l.commitIndex ? true : undefined;
    });
    // A clean stop; the chunk's bytes are in the upload's blob (synced before its entry).
    await cluster.kill(victim.id, "SIGTERM");
    const probe = data.subarray(MiB + 1000, MiB + 1064); // inside the second chunk
    const found = await findInBlobs(victim.dataDir, probe);
    assert.ok(found !== null, "the chunk is in a blob file");
    const { file, at, bytes } = found;
    bytes[at + 10] = (bytes[at + 10] as number) ^ 0x20;
    await writeFile(file, bytes);
    await cluster.restart(victim.id);
    const local = cluster.client([victim.address]);
    try {
      await assert.rejects(
        downloadAll(local, "faults/damaged", true),
        /corrupt|checksum|CRC mismatch/i,
      );
    } finally {
      local.close();
    }
    assert.equal(
      sha(await downloadAll(client, "faults/damaged")),
      sha(data),
      "the leader's copy is intact",
    );
  });
});
