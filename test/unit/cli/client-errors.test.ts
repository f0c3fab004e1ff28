/**
 * Client-side failures of the key-value commands: bad requests are refused before
 * anything is sent (the endpoint below has nothing listening, so a request that did go
 * out would end in exit 3 instead), and an unreachable cluster is exit 3 within the
 * deadline.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { MAX_VALUE_BYTES } from "../../../src/api/limits.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

/** Port 1 (tcpmux) is privileged and unused: connections are refused at once. */
const NOWHERE = ["--endpoints", "127.0.0.1:1", "--timeout", "500"];

describe("dfs client errors", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "dfs-cli-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("invalid key on put is exit 2", async () => {
    const run = await runDfs(["put", "a//b", "v", ...NOWHERE]);
    assertOneLineError(run, 2, /^dfs: error: invalid key 'a\/\/b': .*empty path segment/);
  });

  test("invalid key on put is refused before stdin is read", async () => {
    // stdin stays open: a CLI that read it first would hang until killed (exit code null).
    const run = await runDfs(["put", "/leading", ...NOWHERE], {
      keepStdinOpen: true,
      killAfterMs: 10_000,
    });
    assertOneLineError(run, 2, /^dfs: error: invalid key '\/leading'/);
  });

  test("invalid key on get and delete is exit 2", async () => {
    assertOneLineError(await runDfs(["get", "a/../b", ...NOWHERE]), 2, /invalid key/);
    assertOneLineError(await runDfs(["delete", "a/", ...NOWHERE]), 2, /invalid key/);
  });

  test("a file larger than one value streams as an upload (exit 3 only because nothing listens)", async () => {
    const path = join(dir, "big.bin");
    await writeFile(path, Buffer.alloc(MAX_VALUE_BYTES + 1, 7));
    const run = await runDfs(["put", "big", "--file", path, ...NOWHERE]);
    assertOneLineError(run, 3, /^dfs: error: upload: no leader answered within 500 ms/);
  });

  test("stdin larger than one value streams as an upload too", async () => {
    const run = await runDfs(["put", "big", "-", ...NOWHERE], {
      stdin: Buffer.alloc(MAX_VALUE_BYTES + 10, 1),
    });
    assertOneLineError(run, 3, /^dfs: error: upload: no leader answered within 500 ms/);
  });

  test("missing --file is exit 2", async () => {
    const run = await runDfs(["put", "k", "--file", join(dir, "absent"), ...NOWHERE]);
    assertOneLineError(run, 2, /^dfs: error: cannot read --file .*absent/);
  });

  test("get with nothing listening is exit 3 within the deadline", async () => {
    const started = Date.now();
    const run = await runDfs(["get", "k", ...NOWHERE]);
    assertOneLineError(
      run,
      3,
      /^dfs: error: download: no leader answered within 500 ms; tried 127\.0\.0\.1:1 \(/,
    );
    assert.match(run.stderr, /ECONNREFUSED/);
    // 500 ms of retries plus process start-up; a client that ignored its deadline takes 10 s+.
    assert.ok(Date.now() - started < 8_000, `took ${Date.now() - started} ms`);
    assert.equal(run.stdout.length, 0);
  });

  test("DFS_ENDPOINTS is used when --endpoints is absent", async () => {
    const run = await runDfs(["get", "k", "--timeout", "300"], {
      env: { DFS_ENDPOINTS: "127.0.0.1:1" },
    });
    assertOneLineError(run, 3, /tried 127\.0\.0\.1:1 /);
  });

  test("status with nothing reachable is exit 3 and still prints a row per node", async () => {
    const run = await runDfs(["status", "--endpoints", "127.0.0.1:1,127.0.0.1:2"]);
    assertOneLineError(run, 3, /^dfs: error: no node answered/);
    const rows = run.stdout.toString().trim().split("\n");
    assert.equal(rows.length, 3);
    assert.match(rows[1] ?? "", /^-\s+127\.0\.0\.1:1\s+unreachable: /);
    assert.match(rows[2] ?? "", /^-\s+127\.0\.0\.1:2\s+unreachable: /);
  });
});
