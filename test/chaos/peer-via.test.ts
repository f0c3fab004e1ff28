/**
 * `dfs server --peer-via ID=HOST:PORT,...`: parsed into `NodeConfig.peerDialAddresses`,
 * never this node's own id (ids of members added later are fine), and bad syntax is a
 * usage error (exit 2, one line).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { serverConfig } from "../../src/cli/server-command.ts";
import { parsePeerVia } from "../../src/cli/server-peer-proxy.ts";
import { UsageError } from "../../src/cli/usage-error.ts";
import { assertOneLineError, runDfs } from "../unit/cli/run-dfs.ts";

const PEERS = "1@127.0.0.1:7001,2@127.0.0.1:7002,3@127.0.0.1:7003";
const peers = [
  { id: 1, host: "127.0.0.1", port: 7001, peerHost: "127.0.0.1", peerPort: 17001 },
  { id: 2, host: "127.0.0.1", port: 7002, peerHost: "127.0.0.1", peerPort: 17002 },
  { id: 3, host: "127.0.0.1", port: 7003, peerHost: "127.0.0.1", peerPort: 17003 },
];

describe("--peer-via", () => {
  test("maps peer ids to dial addresses; membership is unchanged", () => {
    const config = serverConfig({
      id: 1,
      port: 7001,
      peers: PEERS,
      dataDir: "/tmp/x",
      peerVia: "2=127.0.0.1:9002, 3=localhost:9003",
    });
    assert.deepEqual(config.peerDialAddresses, { 2: "127.0.0.1:9002", 3: "localhost:9003" });
    assert.deepEqual(config.peers, peers);
    const plain = serverConfig({ id: 1, port: 7001, peers: PEERS, dataDir: "/tmp/x" });
    assert.equal(plain.peerDialAddresses, undefined);
  });

  test("takes ids not in --peers: members added later are dialled through it too", () => {
    assert.deepEqual(parsePeerVia("4=127.0.0.1:9004,2=127.0.0.1:9002", 1), {
      2: "127.0.0.1:9002",
      4: "127.0.0.1:9004",
    });
  });

  test("rejects this node, repeats and malformed entries", () => {
    const cases: [string, RegExp][] = [
      ["1=127.0.0.1:9001", /1 is this node/],
      ["2=127.0.0.1:9002,2=127.0.0.1:9003", /id 2 is given more than once/],
      ["2@127.0.0.1:9002", /missing '='/],
      ["x=127.0.0.1:9002", /id 'x' is not a positive integer/],
      ["2=127.0.0.1", /address/],
      ["2=127.0.0.1:9002,", /empty entry/],
      ["", /--peer-via is empty/],
    ];
    for (const [spec, message] of cases) {
      assert.throws(
        () => parsePeerVia(spec, 1),
        (err: unknown) => {
          assert.ok(err instanceof UsageError, `${spec}: ${String(err)}`);
          assert.match(err.message, message, spec);
          return true;
        },
      );
    }
  });

  test("bad --peer-via is a usage error before anything starts (exit 2)", async () => {
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
      "--peer-via",
      "1=127.0.0.1:9009",
    ]);
    assertOneLineError(run, 2, /^dfs: error: --peer-via entry '1=127.0.0.1:9009'/);
  });
});
