/**
 * Large puts through the blob store, on three real processes (src/server/blob-put.ts,
 * docs/architecture.md "Large puts"): a value over 64 KiB becomes a blob on every node
 * (not a second copy in LMDB), and a put answers, reads, compares-and-sets and applies
 * exactly once as it did; a value of 64 KiB or less stays a plain put with no blob.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub, type PutRequest, type PutResponse } from "../../src/gen/dfs.ts";

const KiB = 1024;

/** A node's blobs: name → size in bytes. */
function blobsOf(dataDir: string): Map<string, number> {
  const dir = join(dataDir, "blobs");
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return new Map();
  }
  return new Map(names.map((n) => [n, statSync(join(dir, n)).size]));
}

describe("large puts through the blob store", { timeout: 300_000 }, () => {
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

  /** Blobs of exactly `size` bytes on every node, waiting for followers to catch up. */
  async function blobsSized(size: number, count: number): Promise<void> {
    for (const node of cluster.nodes) {
      await waitFor(`node ${node.id}: ${count} blob(s) of ${size} bytes`, () => {
        const sizes = [...blobsOf(node.dataDir).values()];
        return sizes.filter((s) => s === size).length === count ? true : undefined;
      });
    }
  }

  it("a 200 KiB put (BatchStream) and a 700 KiB put (unary) land in blobs and read back", async () => {
    const small = randomBytes(200 * KiB + 3);
    const large = randomBytes(700 * KiB + 5);
    const first = await client.put("bp/small", small, { metadata: { m: "1" } });
    const second = await client.put("bp/large", large);
    assert.equal(first.version, 1);
    assert.equal(second.version, 1);
    await blobsSized(small.length, 1);
    await blobsSized(large.length, 1);
    const got = await client.get("bp/small");
    assert.ok(Buffer.from(got.value).equals(small), "get returns the bytes");
    assert.deepEqual(got.metadata, { m: "1" }, "metadata kept");
    assert.equal(got.version, 1);
    assert.ok(Buffer.from((await client.get("bp/large")).value).equals(large));
    const range = await client.get("bp/large", { offset: 1000, length: 5000 });
    assert.ok(Buffer.from(range.value).equals(large.subarray(1000, 6000)), "a range of it");
    assert.equal((await client.stat("bp/large")).size, large.length);
  });

  it("a value of 64 KiB stays a plain put: no blob", async () => {
    const before = new Set(blobsOf(cluster.nodes[0]?.dataDir as string).keys());
    const value = randomBytes(64 * KiB);
    await client.put("bp/plain", value);
    assert.ok(Buffer.from((await client.get("bp/plain")).value).equals(value));
    const now = [...blobsOf(cluster.nodes[0]?.dataDir as string).keys()];
    assert.deepEqual(
      now.filter((n) => !before.has(n)),
      [],
      "no new blob",
    );
  });

  it("compare-and-set: a stale version is refused, the current one applies", async () => {
    const v1 = randomBytes(300 * KiB);
    const v2 = randomBytes(300 * KiB);
    const first = await client.put("bp/cas", v1);
    await assert.rejects(client.put("bp/cas", v2, { ifVersion: first.version + 5 }), {
      code: "precondition_failed",
    });
    assert.ok(Buffer.from((await client.get("bp/cas")).value).equals(v1), "unchanged");
    const next = await client.put("bp/cas", v2, { ifVersion: first.version });
    assert.equal(next.version, first.version + 1);
    assert.ok(Buffer.from((await client.get("bp/cas")).value).equals(v2));
  });

  it("exactly-once: the same session put sent twice applies once", async () => {
    const leader = cluster.node(await cluster.waitForLeader());
    const stub = new DfsStub(leader.address, credentials.createInsecure());
    const send = (request: PutRequest) =>
      new Promise<PutResponse>((resolve, reject) =>
        stub.put(request, (e, r) => (e ? reject(e) : resolve(r))),
      );
    try {
      const session = {
        clientId: `bp-${randomBytes(4).toString("hex")}`,
        sequence: 1,
        firstIncomplete: 1,
      };
      const value = randomBytes(256 * KiB);
      const request = { key: "bp/once", value, ifVersion: undefined, session, metadata: {} };
      const first = await send(request);
      const retry = await send({ ...request, value: randomBytes(256 * KiB) });
      assert.deepEqual(retry, first, "the retry is answered with the original result");
      const got = await client.get("bp/once");
      assert.equal(got.version, 1, "applied once");
      assert.ok(Buffer.from(got.value).equals(value), "the first try's bytes");
    } finally {
      stub.close();
    }
  });
});
