/**
 * Adversary tier, peer port and TLS, against real server processes: the client and
 * peer ports each refuse the other's calls; under mutual TLS the peer port refuses
 * connections without a certificate of the cluster CA, and a genuine node certificate
 * cannot speak for another member (a forged append from "3" sent with node 2's
 * certificate commits nothing). Every case also checks that acknowledged writes survive
 * and the cluster keeps serving.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { writeClusterCerts } from "../../src/cli/certs-command.ts";
import { DfsError } from "../../src/client/index.ts";
import { CERT_FILES, LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { encodeCommand } from "../../src/fsm/index.ts";
import { DfsClient as DfsStub } from "../../src/gen/dfs.ts";
import { type MessageBatch, RaftPeerClient, type SnapshotChunk } from "../../src/gen/raft.ts";
import { EntryKind } from "../../src/raft/types.ts";
import { toWire } from "../../src/transport/index.ts";
import { ackedWrites, assertServingWith } from "../support/acked-writes.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const CALL_DEADLINE_MS = 5_000;
const SNAPSHOT_OFTEN = ["--snapshot-entries", "20", "--snapshot-keep", "5"];

/** One Deliver call; resolves with the error (null: accepted). */
function deliver(
  address: string,
  credentials: grpc.ChannelCredentials,
  batch: MessageBatch,
): Promise<grpc.ServiceError | null> {
  const client = new RaftPeerClient(address, credentials);
  return new Promise((resolve) => {
    client.deliver(
      batch,
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error) => {
        client.close();
        resolve(error);
      },
    );
  });
}

/** One InstallSnapshot stream of a single chunk; resolves with the error (null: accepted). */
function installSnapshot(
  address: string,
  credentials: grpc.ChannelCredentials,
  chunk: SnapshotChunk,
): Promise<grpc.ServiceError | null> {
  const client = new RaftPeerClient(address, credentials);
  return new Promise((resolve) => {
    const call = client.installSnapshot(
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error) => {
        client.close();
        resolve(error);
      },
    );
    call.write(chunk);
    call.end();
  });
}

/** One Put on the client API stub; resolves with the error (null: accepted). */
function rawPut(
  address: string,
  credentials: grpc.ChannelCredentials,
): Promise<grpc.ServiceError | null> {
  const stub = new DfsStub(address, credentials);
  return new Promise((resolve) => {
    stub.put(
      { metadata: {}, key: "peer-port-put", value: Buffer.from("x"), session: undefined },
      new grpc.Metadata(),
      { deadline: Date.now() + CALL_DEADLINE_MS },
      (error) => {
        stub.close();
        resolve(error);
      },
    );
  });
}

describe("plain text: the two ports refuse each other's calls", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start();
  });
  after(() => cluster?.destroy());

  test("a client Put on the peer port and a Deliver on the client port are UNIMPLEMENTED", async () => {
    const keys = await ackedWrites(cluster, "plain", 5);
    const insecure = grpc.credentials.createInsecure();
    for (const node of cluster.nodes) {
      assert.notEqual(node.peerAddress, node.address);
      const put = await rawPut(node.peerAddress, insecure);
      assert.equal(
        put?.code,
        grpc.status.UNIMPLEMENTED,
        `Put on ${node.peerAddress}: ${put?.message}`,
      );
      const status = await cluster.status(node);
      assert.deepEqual(
        status?.members.map((m) => `${m.id} ${m.address} ${m.peerAddress}`),
        cluster.nodes.map((n) => `${n.id} ${n.address} ${n.peerAddress}`),
        "Status names both listeners of every member",
      );
      const batch = {
        clusterId: status?.clusterId ?? "",
        from: 99,
        to: node.id,
        messages: [],
        identity: "",
      };
      const raft = await deliver(node.address, insecure, batch);
      assert.equal(
        raft?.code,
        grpc.status.UNIMPLEMENTED,
        `Deliver on ${node.address}: ${raft?.message}`,
      );
    }
    await assertServingWith(cluster, keys);
  });
});

describe("mutual TLS from `dfs certs init`", { timeout: 180_000 }, () => {
  let cluster: LocalCluster;
  let certs: string;
  let otherCerts: string;
  const file = (dir: string, name: string) => readFileSync(join(dir, name));

  before(async () => {
    const root = await mkdtemp(join(tmpdir(), "dfs-certs-"));
    certs = join(root, "cluster");
    otherCerts = join(root, "other");
    const init = await runDfs(["certs", "init", certs, "--nodes", "3"]);
    assert.equal(init.code, 0, init.stderr);
    await writeClusterCerts(otherCerts, 3, [], "another CA");
    // Frequent snapshots, so a restarted follower must catch up by InstallSnapshot over mTLS.
    cluster = await LocalCluster.start({ serverArgs: SNAPSHOT_OFTEN, certsDir: certs });
  });
  after(async () => {
    await cluster?.destroy();
    if (certs !== undefined) await rm(join(certs, ".."), { recursive: true, force: true });
  });

  test("puts and gets work through the CLI with --cacert/--cert/--key", async () => {
    const endpoints = ["--endpoints", cluster.endpoints().join(","), ...cluster.clientTlsArgs()];
    const put = await runDfs(["put", "tls/cli", "over tls", ...endpoints]);
    assert.equal(put.code, 0, put.stderr);
    const get = await runDfs(["get", "tls/cli", ...endpoints]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.toString(), "over tls");
    const plain = await runDfs([
      "get",
      "tls/cli",
      "--endpoints",
      cluster.endpoints().join(","),
      "--timeout",
      "1500",
    ]);
    assert.equal(plain.code, 3, "a plain-text client cannot reach a TLS client port");
  });

  test("the peer port refuses plain text, no client certificate and another CA's certificate", async () => {
    const keys = await ackedWrites(cluster, "tls-conn", 5);
    const ca = file(certs, CERT_FILES.caCert);
    const status = await cluster.status(cluster.node(1));
    const batch = {
      clusterId: status?.clusterId ?? "",
      from: 2,
      to: 1,
      messages: [],
      identity: "",
    };
    const target = cluster.node(1).peerAddress;
    const attempts: [string, grpc.ChannelCredentials][] = [
      ["plain text", grpc.credentials.createInsecure()],
      ["TLS without a client certificate", grpc.credentials.createSsl(ca)],
      [
        "a node certificate of another CA",
        grpc.credentials.createSsl(
          ca,
          file(otherCerts, CERT_FILES.nodeKey(2)),
          file(otherCerts, CERT_FILES.nodeCert(2)),
        ),
      ],
    ];
    for (const [what, credentials] of attempts) {
      const error = await deliver(target, credentials, batch);
      assert.equal(
        error?.code,
        grpc.status.UNAVAILABLE,
        `${what}: ${error?.message ?? "accepted"}`,
      );
    }
    // Control: the same empty batch with node 2's own certificate is accepted.
    const own = grpc.credentials.createSsl(
      ca,
      file(certs, CERT_FILES.nodeKey(2)),
      file(certs, CERT_FILES.nodeCert(2)),
    );
    assert.equal(await deliver(target, own, batch), null);
    await assertServingWith(cluster, keys);
  });

  test("node 2's certificate cannot send an append claiming to be from node 3", async () => {
    const keys = await ackedWrites(cluster, "tls-forge", 5);
    // Settle: every node has applied everything, so its last entry is of the current term.
    const statuses = await waitFor("every node caught up", async () => {
      const all = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
      if (all.some((s) => s === undefined)) return undefined;
      const last = all.map((s) => s?.lastIndex);
      const settled = all.every(
        (s) => s?.appliedIndex === s?.lastIndex && s?.lastIndex === last[0],
      );
      return settled ? all : undefined;
    });
    const first = statuses[0];
    assert.ok(first !== undefined);
    const term = first.term + 10;
    const index = first.lastIndex + 1;
    const forged = encodeCommand({
      op: "put",
      key: "forged/victim",
      value: Buffer.from("forged"),
      timeMs: 0,
    });
    const node2 = grpc.credentials.createSsl(
      file(certs, CERT_FILES.caCert),
      file(certs, CERT_FILES.nodeKey(2)),
      file(certs, CERT_FILES.nodeCert(2)),
    );
    for (const node of cluster.nodes.filter((n) => n.id !== 3)) {
      const append = toWire({
        type: "append",
        from: 3,
        to: node.id,
        term,
        prevIndex: first.lastIndex,
        prevTerm: first.term,
        commit: index,
        entries: [{ index, term, kind: EntryKind.Normal, data: forged }],
      });
      const batch = {
        clusterId: first.clusterId,
        from: 3,
        to: node.id,
        messages: [append],
        identity: "",
      };
      const error = await deliver(node.peerAddress, node2, batch);
      assert.equal(
        error?.code,
        grpc.status.PERMISSION_DENIED,
        `node ${node.id}: ${error?.message ?? "accepted"}`,
      );
      assert.match(error?.details ?? "", /certificate of member 2 .* from 3/);
    }
    // A real write after the forgery: once every node has applied it, the forged entry
    // (one index earlier) would have been applied too, had it been accepted.
    const client = cluster.client();
    try {
      await client.put("after-forgery", Buffer.from("real"));
      for (const node of cluster.nodes) {
        const reader = cluster.client([node.address]);
        try {
          await waitFor(`node ${node.id} to apply the real write`, async () =>
            (await reader.get("after-forgery", { serializable: true }).catch(() => undefined)) !==
            undefined
              ? true
              : undefined,
          );
          await assert.rejects(
            reader.get("forged/victim", { serializable: true }),
            (e: unknown) => e instanceof DfsError && e.code === "not_found",
            `node ${node.id} applied the forged entry`,
          );
        } finally {
          reader.close();
        }
      }
      await assert.rejects(
        client.get("forged/victim"),
        (e: unknown) => e instanceof DfsError && e.code === "not_found",
      );
    } finally {
      client.close();
    }
    const after = await Promise.all(cluster.nodes.map((n) => cluster.status(n)));
    for (const s of after)
      assert.ok(s !== undefined && s.term < term, "the forged term was not adopted");
    assert.match(
      cluster.logs(),
      /refused peer message: certificate of member 2 sent a message claiming to be from 3/,
    );
    await assertServingWith(cluster, keys);
  });

  test("node 2's certificate cannot stream a snapshot claiming to be from node 3", async () => {
    const status = await cluster.status(cluster.node(1));
    assert.ok(status !== undefined);
    const node2 = grpc.credentials.createSsl(
      file(certs, CERT_FILES.caCert),
      file(certs, CERT_FILES.nodeKey(2)),
      file(certs, CERT_FILES.nodeCert(2)),
    );
    const data = Buffer.from("not a snapshot");
    const chunk: SnapshotChunk = {
      identity: "",
      clusterId: status.clusterId,
      from: 3,
      to: 1,
      term: status.term + 10,
      index: status.lastIndex + 1000,
      logTerm: status.term + 10,
      offset: 0,
      data,
      done: true,
      sha256: Buffer.alloc(32),
      membership: Buffer.alloc(0),
    };
    const error = await installSnapshot(cluster.node(1).peerAddress, node2, chunk);
    assert.equal(error?.code, grpc.status.PERMISSION_DENIED, error?.message ?? "accepted");
    const after = await cluster.status(cluster.node(1));
    assert.ok(after !== undefined && after.term < chunk.term, "the forged term was not adopted");
    assert.ok(after.appliedIndex < chunk.index, "the forged snapshot was not installed");
  });

  test("a follower that fell behind catches up by InstallSnapshot over mutual TLS", async () => {
    // Only a snapshot sent after node 3 fell behind counts: remember where each log stood.
    const mark = new Map(cluster.nodes.map((n) => [n.id, n.stderr.length]));
    await cluster.kill(3);
    const keys = await ackedWrites(cluster, "tls-snapshot", 60); // past --snapshot-entries 20
    await cluster.restart(3);
    const leader = await cluster.waitForLeader();
    const target = await cluster.status(cluster.node(leader));
    assert.ok(target !== undefined);
    await waitFor(
      "node 3 to catch up",
      async () => {
        const s = await cluster.status(cluster.node(3));
        return s !== undefined && s.appliedIndex >= target.appliedIndex ? true : undefined;
      },
      30_000,
    );
    const sent = cluster.nodes
      .filter((n) => n.id !== 3)
      .map((n) => n.stderr.slice(mark.get(n.id) ?? 0))
      .join("\n");
    assert.match(
      sent,
      /"peer":3,[^\n]*"msg":"snapshot sent"/,
      "node 3 caught up through a snapshot",
    );
    const reader = cluster.client([cluster.node(3).address]);
    try {
      const last = keys.at(-1) as string;
      const value = await reader.get(last, { serializable: true });
      assert.equal(Buffer.from(value.value).toString(), `value of ${last}`);
    } finally {
      reader.close();
    }
    await assertServingWith(cluster, keys);
  });
});
