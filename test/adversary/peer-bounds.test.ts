/**
 * Adversary tier: the peer port's resource bounds and snapshot admission, against real
 * server processes. One connection cannot hold more calls than the stream cap (the rest
 * wait, reaching no handler); a forged InstallSnapshot from a member that is not the
 * leader is refused at its first chunk and does not disturb a real catch-up; every
 * refusal shows in Status and `dfs status`; a plain-text peer port beyond loopback warns.
 */
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { LocalCluster, type ServerProcess, waitFor } from "../../src/cluster/index.ts";
import type { StatusResponse } from "../../src/gen/dfs.ts";
import { RaftPeerClient, type SnapshotChunk } from "../../src/gen/raft.ts";
import { PEER_MAX_CONCURRENT_STREAMS } from "../../src/server/resource-limits.ts";
import { ackedWrites, assertServingWith } from "../support/acked-writes.ts";
import { batchOf, encodeBatch, heartbeat, removedIds } from "../support/peer-attacker.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const SNAPSHOT_OFTEN = ["--snapshot-entries", "20", "--snapshot-keep", "5"];
const STREAM = "/dfs.raft.v1.RaftPeer/Stream";
const DELIVER = "/dfs.raft.v1.RaftPeer/Deliver";
const identity = (b: Buffer): Buffer => b;

/** A node's count of refused peer messages for `reason`, from its Status. */
function dropped(status: StatusResponse | undefined, reason: string): number {
  return status?.droppedPeerMessages.find((d) => d.reason === reason)?.count ?? 0;
}

describe("peer port bounds", { timeout: 180_000 }, () => {
  let cluster: LocalCluster;
  let keys: string[] = [];

  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: SNAPSHOT_OFTEN });
    // Only a removed id is refused whole (peers accept ids they have not learned yet).
    const admin = cluster.client();
    try {
      await removedIds(admin, [99]);
    } finally {
      admin.close();
    }
    keys = await ackedWrites(cluster, "bounds", 10);
  });
  after(() => cluster?.destroy());

  test("one connection gets at most the stream cap; more calls wait and reach no handler", async () => {
    const node = cluster.node(1);
    // What the server announces (SETTINGS_MAX_CONCURRENT_STREAMS) on a bare HTTP/2 session.
    const session = connect(`http://${node.peerAddress}`);
    try {
      const announced = await new Promise<number | undefined>((resolve, reject) => {
        session.once("remoteSettings", (s) => resolve(s.maxConcurrentStreams));
        session.once("error", reject);
      });
      assert.equal(announced, PEER_MAX_CONCURRENT_STREAMS);
    } finally {
      session.destroy();
    }

    const status = await cluster.status(node);
    assert.ok(status !== undefined);
    const before = dropped(status, "not_member");
    // Its own connection (no subchannel shared with other clients of this test).
    const client = new grpc.Client(node.peerAddress, grpc.credentials.createInsecure(), {
      "grpc.use_local_subchannel_pool": 1,
    });
    const held: grpc.ClientWritableStream<Buffer>[] = [];
    try {
      const ended: Promise<grpc.status>[] = [];
      for (let i = 0; i < PEER_MAX_CONCURRENT_STREAMS; i++) {
        ended.push(
          new Promise((resolve) => {
            const call = client.makeClientStreamRequest(STREAM, identity, identity, {}, (e) =>
              resolve(e === null ? grpc.status.OK : e.code),
            );
            call.on("error", () => {});
            held.push(call);
          }),
        );
      }
      // A refused (non-member) batch is answered at once by the handler; here it must not
      // reach the handler at all while the cap is full.
      const forged = encodeBatch(
        batchOf(status.clusterId, 99, node.id, [heartbeat(99, node.id, 1)]),
      );
      const deliver = (timeoutMs: number) =>
        new Promise<grpc.ServiceError | null>((resolve) => {
          client.makeUnaryRequest(
            DELIVER,
            identity,
            identity,
            forged,
            { deadline: Date.now() + timeoutMs },
            (e) => resolve(e),
          );
        });
      const waiting = await deliver(1_500);
      assert.notEqual(waiting?.code, grpc.status.FAILED_PRECONDITION, "a call past the cap ran");
      assert.ok(waiting !== null, "a call past the cap was answered");
      assert.equal(dropped(await cluster.status(node), "not_member"), before);
      // One stream ends: the next call gets its slot and its answer.
      held[0]?.end();
      assert.equal(await ended[0], grpc.status.OK);
      const served = await deliver(5_000);
      assert.equal(served?.code, grpc.status.FAILED_PRECONDITION, served?.message);
      assert.match(served?.details ?? "", /node 99 is not a member/);
    } finally {
      for (const call of held) call.cancel();
      client.close();
    }
    // The refusal is counted, visible in Status and printed by `dfs status`.
    const counted = await waitFor("the refusal in Status", async () => {
      const n = dropped(await cluster.status(node), "not_member");
      return n > before ? n : undefined;
    });
    assert.equal(counted, before + 1);
    const printed = await runDfs(["status", "--endpoints", node.address]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(
      printed.stdout.toString(),
      new RegExp(`^node ${node.id} refused peer messages: .*not_member ${counted}`, "m"),
    );
    await assertServingWith(cluster, keys);
  });

  test("a forged snapshot from a member that does not lead is refused; real catch-up completes", async () => {
    const leaderId = await cluster.waitForLeader();
    const target = cluster.nodes.find((n) => n.id !== leaderId) as ServerProcess;
    const forger = cluster.nodes.find((n) => n.id !== leaderId && n.id !== target.id);
    assert.ok(forger !== undefined);
    // Only a snapshot sent after the target fell behind counts.
    const mark = new Map(cluster.nodes.map((n) => [n.id, n.stderr.length]));
    await cluster.kill(target.id);
    const more = await ackedWrites(cluster, "bounds-behind", 60); // past --snapshot-entries 20
    const leaderStatus = await cluster.status(cluster.node(leaderId));
    assert.ok(leaderStatus !== undefined);
    await cluster.restart(target.id);

    // While the target catches up, the forger streams snapshots to it, again and again,
    // claiming to be a member that is not the leader, in a later term.
    const peer = new RaftPeerClient(target.peerAddress, grpc.credentials.createInsecure());
    const forgedTerm = leaderStatus.term + 5;
    const outcomes: grpc.ServiceError[] = [];
    let forging = true;
    const forge = (async () => {
      while (forging) {
        const chunk: SnapshotChunk = {
          identity: "",
          clusterId: leaderStatus.clusterId,
          from: forger.id,
          to: target.id,
          term: forgedTerm,
          index: leaderStatus.lastIndex + 1000,
          logTerm: forgedTerm,
          offset: 0,
          data: Buffer.alloc(256 * 1024, 7),
          done: false,
          sha256: Buffer.alloc(0),
          membership: Buffer.alloc(0),
        };
        const error = await new Promise<grpc.ServiceError | null>((resolve) => {
          const call = peer.installSnapshot(
            new grpc.Metadata(),
            { deadline: Date.now() + 5_000 },
            (e) => resolve(e),
          );
          call.on("error", () => {});
          call.write(chunk); // and keep the stream open, as a transfer in progress would
        });
        if (error !== null && error.code !== grpc.status.UNAVAILABLE) outcomes.push(error);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor(
        `node ${target.id} to catch up`,
        async () => {
          const s = await cluster.status(target);
          return s !== undefined && s.appliedIndex >= leaderStatus.appliedIndex ? true : undefined;
        },
        30_000,
      );
      // Keep forging until the target has refused a few, whatever the timing.
      await waitFor("refused forgeries", () => (outcomes.length >= 3 ? true : undefined));
    } finally {
      forging = false;
      await forge;
      peer.close();
    }
    for (const e of outcomes) {
      assert.equal(e.code, grpc.status.FAILED_PRECONDITION, e.message);
      assert.match(
        e.details,
        new RegExp(`from node ${forger.id}, but (the leader is node|no leader is known)`),
      );
    }
    const sent = cluster.nodes
      .filter((n) => n.id !== target.id)
      .map((n) => n.stderr.slice(mark.get(n.id) ?? 0))
      .join("\n");
    assert.match(
      sent,
      new RegExp(`"peer":${target.id},[^\\n]*"msg":"snapshot sent"`),
      "the target caught up through the leader's snapshot",
    );
    const after = await cluster.status(target);
    assert.ok(after !== undefined);
    assert.ok(after.term < forgedTerm, `the forged term was adopted (${after.term})`);
    assert.ok(after.appliedIndex < leaderStatus.lastIndex + 1000, "the forgery was installed");
    assert.ok(
      dropped(after, "snapshot_not_from_leader") >= outcomes.length,
      JSON.stringify(after.droppedPeerMessages),
    );
    const reader = cluster.client([target.address]);
    try {
      const last = more.at(-1) as string;
      const value = await reader.get(last, { serializable: true });
      assert.equal(Buffer.from(value.value).toString(), `value of ${last}`);
    } finally {
      reader.close();
    }
    await assertServingWith(cluster, [...keys, ...more]);
  });

  test("a plain-text peer port on loopback does not warn", () => {
    for (const n of cluster.nodes) assert.doesNotMatch(n.stderr, /plain text beyond loopback/);
  });
});

describe("plain-text peer port beyond loopback", { timeout: 60_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ size: 1, serverArgs: ["--listen", "0.0.0.0"] });
  });
  after(() => cluster?.destroy());

  test("warns once at start", async () => {
    const node = cluster.node(1);
    await waitFor("the warning", () =>
      /plain text beyond loopback/.test(node.stderr) ? true : undefined,
    );
    assert.equal(node.stderr.match(/plain text beyond loopback/g)?.length, 1, node.stderr);
    const line = node.stderr.split("\n").find((l) => l.includes("plain text beyond loopback"));
    assert.equal(JSON.parse(line ?? "{}").level, 40, "logged as a warning (pino level 40)");
  });
});
