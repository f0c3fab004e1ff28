/**
 * A full disk (TESTING.md item 17): a single-node cluster whose data dir sits on a 3 MiB
 * tmpfs. Writes fill it; the node must stop with one clear line on stderr and the
 * documented exit code 6, and after space is freed (the tmpfs grown) it restarts with
 * every acknowledged write intact. Needs root (mount); skipped, saying so, otherwise.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DfsClient } from "../../src/client/index.ts";
import { freePorts } from "../support/free-port.ts";
import { REPO_ROOT } from "../support/process-cluster.ts";
import { waitFor } from "../support/wait.ts";

function tryMount(dir: string, size: string, remount = false): boolean {
  try {
    const opts = remount ? `remount,size=${size}` : `size=${size}`;
    execFileSync("mount", ["-t", "tmpfs", "-o", opts, "tmpfs", dir], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function startNode(port: number, dataDir: string) {
  const args = [
    "--import",
    "tsx",
    "src/cli/main.ts",
    "server",
    "--id",
    "1",
    "--port",
    String(port),
    "--peers",
    `1@127.0.0.1:${port}`,
    "--data-dir",
    dataDir,
  ];
  const proc = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return { proc, exited, stderr: () => stderr };
}

test("a full disk stops the node with exit 6 and one clear line; nothing acknowledged is lost", {
  timeout: 120_000,
}, async (t) => {
  const root = await mkdtemp(join(tmpdir(), "dfs-full-"));
  if (process.getuid?.() !== 0 || !tryMount(root, "3m")) {
    t.skip("needs root to mount a small tmpfs");
    await rm(root, { recursive: true, force: true });
    return;
  }
  const [port] = await freePorts(1);
  const dataDir = join(root, "node1");
  const client = new DfsClient({ endpoints: [`127.0.0.1:${port}`], timeoutMs: 3000 });
  try {
    const first = startNode(port as number, dataDir);
    await waitFor("the node to serve", async () =>
      (await client.put("probe", Buffer.from("x"))) ? true : undefined,
    );
    const acked = new Map<string, Buffer>();
    const value = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 200; i++) {
      try {
        await client.put(`fill/${i}`, value);
        acked.set(`fill/${i}`, value);
      } catch {
        break;
      }
    }
    const code = await Promise.race([
      first.exited,
      new Promise<string>((r) => setTimeout(() => r("still running"), 15_000)),
    ]);
    assert.equal(code, 6, `exit code; stderr: ${first.stderr()}`);
    const lines = first
      .stderr()
      .split("\n")
      .filter((l) => l.startsWith("dfs: error:"));
    assert.equal(lines.length, 1, first.stderr());
    console.log(`# full disk after ${acked.size} acknowledged 64 KiB writes: ${lines[0]}`);
    assert.match(lines[0] ?? "", /cannot write its log .*ENOSPC|no space/i);
    assert.doesNotMatch(first.stderr(), /\n\s+at /, "no stack trace");
    assert.ok(
      acked.size >= 5,
      `some writes were acknowledged before the disk filled (${acked.size})`,
    );

    assert.ok(tryMount(root, "64m", true), "grow the tmpfs");
    const second = startNode(port as number, dataDir);
    t.after(() => second.proc.kill("SIGKILL"));
    await waitFor(
      "the restarted node to serve",
      async () => ((await client.get("probe")) ? true : undefined),
      20_000,
    );
    for (const [key, v] of acked)
      assert.deepEqual(Buffer.from((await client.get(key)).value), v, `${key} lost`);
    await client.put("after", Buffer.from("space again"));
    second.proc.kill("SIGTERM");
    await second.exited;
  } finally {
    client.close();
    execFileSync("umount", ["-l", root], { stdio: "ignore" });
    await rm(root, { recursive: true, force: true });
  }
});
