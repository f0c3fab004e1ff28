/**
 * A full disk (docs/operations.md#disk-full, issue #4): a single-node cluster whose data dir sits
 * on a 3 MiB tmpfs. Writes fill it; the node must keep running, refuse writes (and
 * linearizable reads, which need its log) with a clear "disk is full" error, keep serving
 * serializable reads, and resume by itself once space is freed (the tmpfs grown), with
 * every acknowledged write intact, also across a restart. Needs root (mount); skipped,
 * saying so, otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DfsError } from "../../src/api/errors.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";

function tryMount(dir: string, size: string, remount = false): boolean {
  try {
    const opts = remount ? `remount,size=${size}` : `size=${size}`;
    execFileSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("a full disk refuses writes with a clear error, keeps serving reads, and resumes when space is freed", {
  timeout: 120_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), "dfs-full-"));
  if (process.getuid?.() !== 0 || !tryMount(root, "3m")) {
    t.skip("needs root to mount a small tmpfs");
    await rm(root, { recursive: true, force: true });
    return;
  }
  const cluster = await LocalCluster.create({ size: 1, dataRoot: root });
  const node = cluster.node(1);
  const client = cluster.client(undefined, 3000);
  try {
    await cluster.spawnAll();
    await waitFor("the node to serve", async () =>
      (await client.put("probe", Buffer.from("x"))) ? true : undefined,
    );
    const acked = new Map<string, Buffer>();
    let refusal: unknown;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      const value = Buffer.alloc(64 * 1024, i);
      try {
        await client.put(`fill/${i}`, value);
        acked.set(`fill/${i}`, value);
      } catch (error) {
        refusal = error;
      }
    }
    console.log(`# disk full after ${acked.size} acknowledged 64 KiB writes: ${String(refusal)}`);
    assert.ok(
      acked.size >= 5,
      `some writes were acknowledged before the disk filled (${acked.size})`,
    );
    assert.ok(refusal instanceof DfsError, `a write was refused: ${String(refusal)}`);

    // Still running: writes and linearizable reads are refused with a clear reason...
    await waitFor("writes to be refused as disk full", async () => {
      try {
        await client.put("while-full", Buffer.from("x"));
        return undefined;
      } catch (error) {
        return /disk is full/.test(String(error)) ? true : undefined;
      }
    });
    await assert.rejects(client.get("probe"), /disk is full/);
    // ...while serializable reads of everything acknowledged are served.
    for (const [key, v] of acked)
      assert.deepEqual(Buffer.from((await client.get(key, { serializable: true })).value), v);
    assert.equal(node.state, "up", `the node must keep running: ${node.stderr}`);
    assert.doesNotMatch(node.stderr, /\n\s+at /, "no stack trace");

    // Space freed: the node resumes by itself and takes writes again.
    assert.ok(tryMount(root, "64m", true), "grow the tmpfs");
    await waitFor(
      "writes to be accepted again",
      async () => ((await client.put("after", Buffer.from("space again"))) ? true : undefined),
      20_000,
    );
    for (const [key, v] of acked)
      assert.deepEqual(Buffer.from((await client.get(key)).value), v, `${key} lost`);

    // And everything survives a restart.
    await node.kill("SIGKILL");
    cluster.spawn(node);
    await waitFor(
      "the restarted node to serve",
      async () => ((await client.get("after")) ? true : undefined),
      20_000,
    );
    for (const [key, v] of acked)
      assert.deepEqual(Buffer.from((await client.get(key)).value), v, `${key} lost after restart`);
    await node.kill("SIGTERM");
  } finally {
    client.close();
    await cluster.destroy();
    execFileSync("umount", ["-l", root], { stdio: "ignore" });
    await rm(root, { recursive: true, force: true });
  }
});
