/**
 * Library mode: the package entry point starts a node in-process and talks to it with the
 * client, as docs/operations.md#the-client-library shows; stop() releases the data dir.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePorts } from "../../src/cluster/index.ts";
import { DfsClient, StartupError, startNode } from "../../src/index.ts";

test("startNode + DfsClient from the package entry point; the data dir is released on stop", async () => {
  const dir = await mkdtemp(join(tmpdir(), "dfs-lib-"));
  const [port, peerPort] = (await freePorts(2)) as [number, number];
  const config = {
    id: 1,
    peers: [{ id: 1, host: "127.0.0.1", port, peerPort }],
    dataDir: join(dir, "n1"),
  };
  const node = await startNode(config);
  const client = new DfsClient({ endpoints: [node.address] });
  try {
    await assert.rejects(
      startNode(config),
      (e: unknown) => e instanceof StartupError && e.kind === "data_dir_locked",
    );
    const put = await client.put("a/b.txt", Buffer.from("hi"));
    assert.equal(put.version, 1);
    assert.equal(Buffer.from((await client.get("a/b.txt")).value).toString(), "hi");
  } finally {
    client.close();
    await node.stop();
  }
  const again = await startNode(config);
  const reader = new DfsClient({ endpoints: [again.address] });
  try {
    assert.equal(
      Buffer.from((await reader.get("a/b.txt")).value).toString(),
      "hi",
      "durable across an in-process restart",
    );
  } finally {
    reader.close();
    await again.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
