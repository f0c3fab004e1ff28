/**
 * The blob store on three real processes (issue 22, docs/architecture.md#the-blob-store):
 * files' bytes live in `<data-dir>/blobs/`, one file per upload; deleting every file gives
 * the disk back within the bound (the dead blobs make a snapshot and compaction due, then
 * they are unlinked); a restart removes an orphan blob planted in the directory; a node
 * whose store names a blob that is gone refuses to start with exit 7, naming it.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { downloadAll } from "../support/file-data.ts";

const MiB = 1024 * 1024;

/** Names and total bytes of a node's blobs. */
function blobsOf(dataDir: string): { names: string[]; bytes: number } {
  const dir = join(dataDir, "blobs");
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return { names: [], bytes: 0 };
  }
  const bytes = names.reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
  return { names, bytes };
}

async function until(what: string, check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return Date.now() - started;
}

describe("the blob store on real processes", { timeout: 300_000 }, () => {
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

  it("keeps each file's bytes once per node in its blob, and reads ranges from it", async () => {
    const data = randomBytes(5 * MiB + 123);
    await client.upload("blob/one", data);
    for (const node of cluster.nodes) {
      await until(
        `node ${node.id} to hold the blob`,
        () => blobsOf(node.dataDir).bytes >= data.length,
        20_000,
      );
      const { bytes } = blobsOf(node.dataDir);
      assert.ok(bytes < data.length + MiB, `node ${node.id}: ${bytes} bytes of blobs`);
    }
    assert.ok((await downloadAll(client, "blob/one")).equals(data));
    const { chunks } = await client.download("blob/one", {
      offset: 2 * MiB - 10,
      length: MiB + 20,
    });
    const parts: Buffer[] = [];
    for await (const c of chunks) parts.push(c);
    const range = Buffer.concat(parts);
    assert.ok(range.equals(data.subarray(2 * MiB - 10, 3 * MiB + 10)), "a range across chunks");
  });

  it("deleting every file frees the disk: blobs gone within the bound", async () => {
    for (let i = 0; i < 4; i++) await client.upload(`blob/many/${i}`, randomBytes(3 * MiB + i));
    const peak = Math.max(...cluster.nodes.map((n) => blobsOf(n.dataDir).bytes));
    assert.ok(peak >= 12 * MiB, `peak ${peak}`);
    await client.deletePrefix("blob");
    const took = await until(
      "every node's blobs to go",
      () => cluster.nodes.every((n) => blobsOf(n.dataDir).bytes < peak / 10),
      60_000,
    );
    process.stdout.write(
      `# blobs of ${peak} bytes per node freed within ${took} ms of the delete\n`,
    );
  });

  it("a restart removes a planted orphan blob and keeps the files", async () => {
    const data = randomBytes(2 * MiB + 7);
    await client.upload("blob/kept", data);
    const node = cluster.nodes[2] as (typeof cluster.nodes)[number];
    await until("the blob on node 3", () => blobsOf(node.dataDir).bytes >= data.length, 20_000);
    await cluster.kill(node.id);
    const orphan = "0123456789abcdef0123456789abcdef";
    await writeFile(join(node.dataDir, "blobs", orphan), randomBytes(1000));
    await cluster.restart(node.id);
    assert.ok(!blobsOf(node.dataDir).names.includes(orphan), "the orphan is gone");
    assert.match(node.stderr, /orphan blob/);
    const local = cluster.client([node.address], 20_000);
    try {
      // The restarted node applies its log again before it serves the file.
      let back: Buffer | null = null;
      for (let i = 0; i < 100 && back === null; i++) {
        back = await downloadAll(local, "blob/kept", true).catch(() => null);
        if (back === null) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(back !== null, "the restarted node serves the file");
      assert.ok(back.equals(data), "the file still reads on the restarted node");
    } finally {
      local.close();
    }
  });

  it("a store naming a missing blob refuses to start: exit 7, naming the blob", async () => {
    const data = randomBytes(MiB + 1);
    await client.upload("blob/victim", data);
    const node = cluster.nodes[1] as (typeof cluster.nodes)[number];
    await until("the blob on node 2", () => blobsOf(node.dataDir).bytes >= data.length, 20_000);
    const info = await client.stat("blob/victim");
    assert.equal(info.size, data.length);
    await cluster.kill(node.id);
    const before = blobsOf(node.dataDir).names;
    for (const name of before) await rm(join(node.dataDir, "blobs", name));
    await assert.rejects(cluster.restart(node.id), /exited while restarting/);
    assert.equal(node.unexpectedExit, "exit 7", node.stderr.slice(-2000));
    const named = before.some((name) => node.stderr.includes(`blobs/${name}`));
    assert.ok(named, `the error names the blob: ${node.stderr.slice(-1000)}`);
  });
});
