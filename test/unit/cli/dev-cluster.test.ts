/** `dfs dev` planning: default peer ports, room for them, and `--tls` flags per node. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { banner, DEV_S3_ACCESS_KEY, devS3, planDevCluster } from "../../../src/cli/dev-cluster.ts";
import { parsePeers, peerAddressText } from "../../../src/cli/peers.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";
import { LocalCluster, type ServerEntry } from "../../../src/cluster/index.ts";

/** What a compiled `dfs dev` would pass on to its nodes. */
const COMPILED: ServerEntry = {
  command: "/usr/bin/node",
  args: ["--initial-old-space-size=256", "/opt/dfs/dist/cli/main.js"],
  cwd: "/",
};

describe("dfs dev", () => {
  test("plain: the seed's ports, peers on port + 10000, no TLS flags", async () => {
    const cluster = await LocalCluster.create(
      planDevCluster({ nodes: 3, basePort: 50051, data: "/tmp/d" }, COMPILED),
    );
    assert.deepEqual(
      cluster.nodes.map((n) => n.port),
      [50051, 50052, 50053],
    );
    const args = cluster.nodes.map((n) => cluster.commandLine(n).args);
    const first = args[0] ?? [];
    const peers = first[first.indexOf("--peers") + 1] as string;
    assert.deepEqual(parsePeers(peers).map(peerAddressText), [
      "localhost:60051",
      "localhost:60052",
      "localhost:60053",
    ]);
    assert.ok(args.every((a) => !a.some((arg) => arg.startsWith("--peer-cert"))));
    assert.match(banner(cluster, "/tmp/d", null), /peers on localhost:60051,localhost:60052/);
  });

  test("nodes run the entry this process runs (a compiled CLI starts compiled nodes)", async () => {
    const cluster = await LocalCluster.create(
      planDevCluster({ nodes: 1, basePort: 50051, data: "/tmp/d" }, COMPILED),
    );
    const line = cluster.commandLine(cluster.node(1));
    assert.equal(line.command, "/usr/bin/node");
    assert.deepEqual(line.args.slice(0, 3), [...COMPILED.args, "server"]);
  });

  test("--tls: each node's own certificate on both ports, client certificates required", async () => {
    const plan = planDevCluster({ nodes: 2, basePort: 50051, data: "/tmp/d", tls: true }, COMPILED);
    const cluster = await LocalCluster.create(plan);
    const flag = (args: readonly string[], name: string) => args[args.indexOf(name) + 1];
    for (const node of cluster.nodes) {
      const args = cluster.commandLine(node).args;
      assert.equal(flag(args, "--peer-cert"), `/tmp/d/certs/node${node.id}.crt`);
      assert.equal(flag(args, "--peer-key"), `/tmp/d/certs/node${node.id}.key`);
      assert.equal(flag(args, "--peer-ca"), "/tmp/d/certs/ca.crt");
      assert.equal(flag(args, "--cert"), `/tmp/d/certs/node${node.id}.crt`);
      assert.equal(flag(args, "--client-ca"), "/tmp/d/certs/ca.crt");
    }
    assert.match(
      banner(cluster, "/tmp/d", "/tmp/d/certs"),
      /npx dfs get greeting --cacert \/tmp\/d\/certs\/ca\.crt --cert \/tmp\/d\/certs\/client\.crt --key \/tmp\/d\/certs\/client\.key/,
    );
  });

  test("S3: node 1 alone serves it on port 9000 with the dev keys, named in the banner", async () => {
    const flags = { nodes: 3, basePort: 50051, data: "/tmp/d", s3Port: 9000 };
    const cluster = await LocalCluster.create(planDevCluster(flags, COMPILED));
    const args = cluster.nodes.map((n) => cluster.commandLine(n).args);
    assert.equal(args[0]?.[(args[0]?.indexOf("--s3-port") ?? 0) + 1], "9000");
    assert.ok(args.slice(1).every((a) => !a.includes("--s3-port")));
    const env = cluster.commandLine(cluster.node(1)).env;
    assert.equal(env.DFS_S3_ACCESS_KEY, process.env.DFS_S3_ACCESS_KEY || DEV_S3_ACCESS_KEY);
    const text = banner(cluster, "/tmp/d", null, devS3(flags));
    assert.match(text, /S3 on http:\/\/127\.0\.0\.1:9000/);
    assert.match(text, /AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+/);
    assert.equal(devS3({ ...flags, s3Port: 0 }), null);
    assert.equal(devS3({ ...flags, tls: true }), null);
  });

  test("a base port that leaves no room for the peer ports is a usage error", () => {
    assert.throws(
      () => planDevCluster({ nodes: 3, basePort: 55534, data: "/tmp/d" }, COMPILED),
      (e: unknown) => e instanceof UsageError && /peer ports \(port \+ 10000\)/.test(e.message),
    );
    assert.equal(planDevCluster({ nodes: 3, basePort: 55533, data: "/tmp/d" }, COMPILED).size, 3);
  });
});
