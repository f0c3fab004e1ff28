/**
 * `/health` on a full disk (docs/observability.md#health-endpoints): a single node whose
 * data dir sits on a 3 MiB tmpfs is filled until it refuses writes; then `/health` and
 * `/readyz` answer 503 saying the disk is full, `/livez` stays 200 (a restart would free
 * nothing), `dfs status` reports the same reason, and everything turns 200 again once the
 * tmpfs is grown. Needs root (mount); skipped, saying so, otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePorts, LocalCluster, waitFor } from "../../src/cluster/index.ts";

function tryMount(dir: string, size: string, remount = false): boolean {
  try {
    const opts = remount ? `remount,size=${size}` : `size=${size}`;
    execFileSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

test("a full disk fails /health and /readyz with its reason, never /livez", {
  timeout: 120_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), "dfs-health-full-"));
  if (process.getuid?.() !== 0 || !tryMount(root, "3m")) {
    t.skip("needs root to mount a small tmpfs");
    await rm(root, { recursive: true, force: true });
    return;
  }
  const [http] = (await freePorts(1)) as [number];
  const cluster = await LocalCluster.create({
    size: 1,
    dataRoot: root,
    serverArgs: ["--http-port", String(http)],
  });
  const client = cluster.client(undefined, 3000);
  const probe = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${http}${path}`);
    return { status: res.status, body: (await res.json()) as { ok: boolean; reason?: string } };
  };
  try {
    await cluster.spawnAll();
    await waitFor("the node to be healthy", async () =>
      (await probe("/health")).status === 200 ? true : undefined,
    );
    for (let i = 0; i < 200; i++) {
      try {
        await client.put(`fill/${i}`, Buffer.alloc(64 * 1024, i));
      } catch {
        break;
      }
    }
    const full = await waitFor("/health to fail on the full disk", async () => {
      const h = await probe("/health");
      return h.status === 503 ? h : undefined;
    });
    assert.match(full.body.reason ?? "", /^disk full: writes are refused/);
    assert.equal((await probe("/readyz")).status, 503);
    assert.deepEqual(await probe("/livez"), { status: 200, body: { ok: true } });
    const status = await client.status(cluster.endpoints()[0] as string);
    assert.match(status.health, /^disk full/);

    assert.ok(tryMount(root, "64m", true), "grow the tmpfs");
    await waitFor(
      "/health to pass once space is freed",
      async () => ((await probe("/health")).status === 200 ? true : undefined),
      20_000,
    );
    assert.equal((await probe("/readyz")).status, 200);
    assert.equal((await client.status(cluster.endpoints()[0] as string)).health, "ok");
  } finally {
    client.close();
    await cluster.destroy();
    execFileSync("umount", ["-l", root], { stdio: "ignore" });
    await rm(root, { recursive: true, force: true });
  }
});
