/**
 * The resource-bound flags of `dfs server` (docs/security.md "Resource limits") reach the
 * node's configuration, and an out-of-range value is a usage error before anything starts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serverConfig } from "../../../src/cli/server-command.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";

test("upload bounds from flags become the node's limits; absent ones keep the defaults", () => {
  const base = { id: 1, port: 7001, peers: PEERS, dataDir: "/tmp/x" };
  assert.deepEqual(serverConfig(base).limits, {});
  assert.deepEqual(
    serverConfig({ ...base, uploadIdleMs: 500, maxUploads: 3, maxUploadsPerConnection: 2 }).limits,
    { uploadIdleMs: 500, uploadsPerNode: 3, uploadsPerConnection: 2 },
  );
});

test("a zero upload cap is a usage error (exit 2, one line)", async () => {
  const run = await runDfs([
    "server",
    "--id",
    "1",
    "--port",
    "7001",
    "--peers",
    PEERS,
    "--data-dir",
    "/nonexistent/never-created",
    "--max-uploads",
    "0",
  ]);
  assertOneLineError(run, 2, /^dfs: error: --max-uploads '0' is not an integer in 1\.\.1000000$/);
});
