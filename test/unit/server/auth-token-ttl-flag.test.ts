/**
 * `dfs server --auth-token-ttl SECONDS` reaches the node's configuration, an out-of-range
 * value is a usage error before anything starts, and an embedder's bad value is refused
 * by the node's own config check.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { serverConfig } from "../../../src/cli/server-command.ts";
import { validateNodeConfig } from "../../../src/server/validate-config.ts";
import { assertOneLineError, runDfs } from "../cli/run-dfs.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";
const base = { id: 1, port: 7001, peers: PEERS, dataDir: "/tmp/x" };

test("--auth-token-ttl becomes the node's token lifetime; absent keeps the default", () => {
  assert.equal(serverConfig(base).authTokenTtlS, undefined);
  assert.equal(serverConfig({ ...base, authTokenTtl: 2 }).authTokenTtlS, 2);
});

test("a zero TTL is a usage error (exit 2, one line)", async () => {
  const run = await runDfs([
    "server",
    ...["--id", "1", "--port", "7001", "--peers", PEERS],
    ...["--data-dir", "/nonexistent/never-created", "--auth-token-ttl", "0"],
  ]);
  assertOneLineError(run, 2, /^dfs: error: --auth-token-ttl '0' is not an integer in 1\.\.604800$/);
});

test("the node refuses a TTL out of range from an embedder", () => {
  const config = { ...serverConfig(base), authTokenTtlS: 0.5 };
  assert.throws(() => validateNodeConfig(config), StartupError);
});
