/** `dfs dev` planning: default peer ports, room for them, and `--tls` flags per node. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { banner, planDevCluster } from "../../../src/cli/dev-cluster.ts";
import { parsePeers, peerAddressText } from "../../../src/cli/peers.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";

describe("dfs dev", () => {
  test("plain: the seed's ports, peers on port + 10000, no TLS flags", () => {
    const plan = planDevCluster({ nodes: 3, basePort: 50051, data: "/tmp/d" });
    assert.deepEqual(
      plan.map((n) => n.port),
      [50051, 50052, 50053],
    );
    const peers = plan[0]?.args[plan[0].args.indexOf("--peers") + 1] as string;
    assert.deepEqual(parsePeers(peers).map(peerAddressText), [
      "localhost:60051",
      "localhost:60052",
      "localhost:60053",
    ]);
    assert.ok(plan.every((n) => !n.args.some((a) => a.startsWith("--peer-cert"))));
  });

  test("--tls: each node's own certificate on both ports, client certificates required", () => {
    const plan = planDevCluster({ nodes: 2, basePort: 50051, data: "/tmp/d", tls: true });
    const flag = (args: readonly string[], name: string) => args[args.indexOf(name) + 1];
    for (const node of plan) {
      assert.equal(flag(node.args, "--peer-cert"), `/tmp/d/certs/node${node.id}.crt`);
      assert.equal(flag(node.args, "--peer-key"), `/tmp/d/certs/node${node.id}.key`);
      assert.equal(flag(node.args, "--peer-ca"), "/tmp/d/certs/ca.crt");
      assert.equal(flag(node.args, "--cert"), `/tmp/d/certs/node${node.id}.crt`);
      assert.equal(flag(node.args, "--client-ca"), "/tmp/d/certs/ca.crt");
    }
    assert.match(
      banner(plan, "/tmp/d", "/tmp/d/certs"),
      /npx dfs get greeting --cacert \/tmp\/d\/certs\/ca\.crt --cert \/tmp\/d\/certs\/client\.crt --key \/tmp\/d\/certs\/client\.key/,
    );
  });

  test("a base port that leaves no room for the peer ports is a usage error", () => {
    assert.throws(
      () => planDevCluster({ nodes: 3, basePort: 55534, data: "/tmp/d" }),
      (e: unknown) => e instanceof UsageError && /peer ports \(port \+ 10000\)/.test(e.message),
    );
    assert.equal(planDevCluster({ nodes: 3, basePort: 55533, data: "/tmp/d" }).length, 3);
  });
});
