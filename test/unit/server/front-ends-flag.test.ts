/**
 * `dfs server --front-ends N` reaches the node's configuration (0 means in-process, as
 * absent), and the node refuses what front ends cannot serve yet: client TLS, and a count
 * out of range from an embedder.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { serverConfig } from "../../../src/cli/server-command.ts";
import { validateNodeConfig } from "../../../src/server/validate-config.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";
const base = { id: 1, port: 7001, peers: PEERS, dataDir: "/tmp/x" };

test("--front-ends N becomes the node's front ends; 0 and absent are in-process", () => {
  assert.equal(serverConfig(base).frontEnds, undefined);
  assert.equal(serverConfig({ ...base, frontEnds: 0 }).frontEnds, undefined);
  assert.equal(serverConfig({ ...base, frontEnds: 2 }).frontEnds, 2);
  validateNodeConfig(serverConfig({ ...base, frontEnds: 2 }));
});

test("the node refuses front ends with client TLS, or a count out of range", () => {
  const config = serverConfig({ ...base, frontEnds: 2 });
  const pem = Buffer.from("x");
  const tls = { client: { cert: pem, key: pem } };
  assert.throws(
    () => validateNodeConfig({ ...config, tls }),
    (e: unknown) => e instanceof StartupError && /plain text only/.test(e.message),
  );
  assert.throws(() => validateNodeConfig({ ...config, frontEnds: 65 }), StartupError);
  assert.throws(() => validateNodeConfig({ ...config, frontEnds: 1.5 }), StartupError);
});
