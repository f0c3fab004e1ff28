/**
 * `dfs server --http-port/--http-host/--log-level/--log-format` reach the node's
 * configuration, and bad values are usage errors (exit 2, one line) before anything
 * starts (docs/observability.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { serverConfig } from "../../../src/cli/server-command.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";
const base = { id: 1, port: 7001, peers: PEERS, dataDir: "/tmp/x" };
const server = ["server", "--id", "1", "--port", "7001", "--peers", PEERS];
const noDir = ["--data-dir", "/nonexistent/never-created"];

test("--http-port and --http-host become the node's http setting; absent: no listener", () => {
  assert.equal(serverConfig(base).http, undefined);
  assert.deepEqual(serverConfig({ ...base, httpPort: 8001 }).http, { port: 8001 });
  assert.deepEqual(serverConfig({ ...base, httpPort: 0, httpHost: "0.0.0.0" }).http, {
    port: 0,
    host: "0.0.0.0",
  });
});

test("--http-host without --http-port, or a port already used, is a usage error", () => {
  assert.throws(() => serverConfig({ ...base, httpHost: "::1" }), UsageError);
  assert.throws(() => serverConfig({ ...base, httpPort: 7001 }), /also the client or peer port/);
  assert.throws(() => serverConfig({ ...base, httpPort: 17001 }), /also the client or peer port/);
});

test("--log-level and --log-format reach the node", () => {
  const config = serverConfig({ ...base, logLevel: "warn", logFormat: "json" });
  assert.deepEqual([config.logLevel, config.logFormat], ["warn", "json"]);
});

test("an unknown log level or format is exit 2 with one line", async () => {
  assertOneLineError(
    await runDfs([...server, ...noDir, "--log-level", "loud"]),
    2,
    /^dfs: error: --log-level 'loud' is not one of trace, debug, info, warn, error, fatal, silent$/,
  );
  assertOneLineError(
    await runDfs([...server, ...noDir, "--log-format", "xml"]),
    2,
    /^dfs: error: --log-format 'xml' is not one of auto, pretty, json$/,
  );
});
