/**
 * How `dfs server --http-port` points its console at the cluster: this node first, then
 * the other members (IPv6 bracketed, `--join` addresses kept), and TLS that matches the
 * client port (a CA to verify it, the node's own certificate where one is required).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { consoleEndpoints, consoleTls } from "../../../src/cli/web-console.ts";
import type { NodeConfig } from "../../../src/server/index.ts";

const base: NodeConfig = {
  id: 2,
  dataDir: "/tmp/d",
  peers: [
    { id: 1, host: "a.example", port: 50051 },
    { id: 2, host: "::1", port: 50052 },
    { id: 3, host: "c.example", port: 50053 },
  ],
};
const pem = (text: string) => Buffer.from(text);

describe("the console of a node", () => {
  test("asks this node first, then the other members, then any --join address", () => {
    assert.deepEqual(consoleEndpoints(base), ["[::1]:50052", "a.example:50051", "c.example:50053"]);
    assert.deepEqual(consoleEndpoints({ ...base, join: ["a.example:50051", "d.example:1"] }), [
      "[::1]:50052",
      "a.example:50051",
      "c.example:50053",
      "d.example:1",
    ]);
  });

  test("plain text to a plain-text client port", () => {
    assert.deepEqual(consoleTls(base), {});
    assert.deepEqual(
      consoleTls({ ...base, tls: { peer: { cert: pem("c"), key: pem("k"), ca: pem("ca") } } }),
      {},
    );
  });

  test("TLS verified by the client CA, else the peer CA; the node's certificate when required", () => {
    const client = { cert: pem("node-cert"), key: pem("node-key") };
    const peer = { cert: pem("c"), key: pem("k"), ca: pem("peer-ca") };
    assert.deepEqual(consoleTls({ ...base, tls: { client, peer } }), {
      tls: { ca: pem("peer-ca") },
    });
    assert.deepEqual(consoleTls({ ...base, tls: { client } }), { tls: {} });
    assert.deepEqual(
      consoleTls({ ...base, tls: { client: { ...client, clientCa: pem("client-ca") }, peer } }),
      { tls: { ca: pem("client-ca"), cert: pem("node-cert"), key: pem("node-key") } },
    );
  });
});
