/**
 * The node's side of membership on real processes: a node joins with `--join` and is
 * added as a learner, caught up and promoted; bad changes are refused with their reason;
 * a wiped follower restarted with the same flags is refused its old place (naming the
 * remedy) while the cluster keeps serving; a removed node stops by itself; a leader
 * stopped with SIGTERM hands over first.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MemberChangeError } from "../../src/api/index.ts";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";

/** Resolves with the error a promise rejects with (fails the test if it resolves). */
async function refusal(p: Promise<unknown>): Promise<MemberChangeError> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof MemberChangeError, `expected a MemberChangeError, got ${error}`);
    return error;
  }
  assert.fail("the change was accepted");
}

describe("membership on real processes", { timeout: 240_000 }, () => {
  let cluster: LocalCluster;
  let client: DfsClient;

  before(async () => {
    cluster = await LocalCluster.start();
    client = cluster.client(undefined, 20_000);
  });

  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  it("binds every member to its data dir, and refuses bad changes with their reason", async () => {
    const members = await waitFor(
      "every member bound to its data dir",
      async () => {
        const list = await client.memberList();
        return list.every((m) => /^[0-9a-f]{32}$/.test(m.identity)) ? list : undefined;
      },
      15_000,
      100,
    );
    assert.deepEqual(
      members.map((m) => m.id),
      [1, 2, 3],
    );
    assert.equal(new Set(members.map((m) => m.identity)).size, 3, "one identity per data dir");
    const one = members[0] as (typeof members)[number];
    const duplicateId = await refusal(
      client.memberAdd({ id: 1, peerAddr: "127.0.0.1:1", clientAddr: "127.0.0.1:2" }),
    );
    assert.equal(duplicateId.reason, "duplicate_id");
    const duplicateAddress = await refusal(
      client.memberAdd({ id: 9, peerAddr: one.peerAddr, clientAddr: "127.0.0.1:2" }),
    );
    assert.equal(duplicateAddress.reason, "duplicate_address");
    assert.equal((await refusal(client.memberRemove(42))).reason, "not_found");
    assert.equal((await refusal(client.memberPromote(2))).reason, "not_learner");
  });

  it("a node joins with --join, is added as a learner, caught up and promoted", async () => {
    for (let i = 0; i < 20; i++) await client.put(`before-join-${i}`, Buffer.from(`v${i}`));
    const node = await cluster.startJoining(4);
    await waitFor("node 4 to answer status", () => cluster.status(node), 30_000, 100);
    const added = await client.memberAdd({
      id: 4,
      peerAddr: node.peerAddress,
      clientAddr: node.address,
      learner: true,
    });
    assert.equal(added.find((m) => m.id === 4)?.learner, true);
    await waitFor(
      "learner 4 to catch up and be bound",
      async () => {
        const m = (await client.memberList()).find((x) => x.id === 4);
        return m !== undefined && m.lag === 0 && m.identity !== "" ? m : undefined;
      },
      30_000,
      100,
    );
    const promoted = await client.memberPromote(4);
    assert.equal(promoted.find((m) => m.id === 4)?.learner, false);
    const status = await cluster.status(node);
    assert.ok(status !== undefined && status.appliedIndex > 20, "it applied the log");
    assert.equal(status?.clusterId, (await cluster.status(cluster.node(1)))?.clusterId);
  });

  it("joining with a data dir of another cluster is a clear startup error (exit 6)", async () => {
    const dir = join(cluster.root, "node5");
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const meta = { version: 1, clusterId: "0123456789abcdef", nodeId: 5, memberId: "c".repeat(32) };
    await writeFile(join(dir, "meta.json"), JSON.stringify(meta));
    await cluster.startJoining(5);
    assert.equal(await cluster.exited(5, 30_000), "exit 6");
    assert.match(
      cluster.node(5).stderr,
      /belongs to cluster 0123456789abcdef, but the members at --join are in cluster [0-9a-f]{16}/,
    );
    await cluster.retire(5);
  });

  it("a wiped follower restarted with the same flags is refused its old place", async () => {
    const leader = await cluster.waitForLeader();
    const victim = [1, 2, 3].find((id) => id !== leader) as number;
    await cluster.kill(victim);
    await cluster.wipe(victim);
    cluster.spawn(cluster.node(victim));
    const line = `member ${victim} belongs to another data dir; this data dir is new: remove ${victim} and add this node as a new member`;
    await waitFor(
      "the wiped node to log its refusal",
      async () => cluster.node(victim).stderr.includes(line) || undefined,
      30_000,
      100,
    );
    // The cluster keeps serving with the remaining members, and never let the wiped node in.
    await client.put("after-wipe", Buffer.from("still serving"));
    const m = (await client.memberList()).find((x) => x.id === victim);
    assert.ok(m !== undefined && m.identity !== "", "the old identity stays bound");
    const wiped = await cluster.status(cluster.node(victim));
    assert.notEqual(wiped?.role, "leader");
    await cluster.kill(victim);
  });

  it("a removed node stops by itself; its id is never reused", async () => {
    const leader = await cluster.waitForLeader();
    const gone = [1, 2, 3].find((id) => id !== leader && cluster.node(id).state === "stopped");
    assert.ok(gone !== undefined);
    await client.memberRemove(gone);
    await cluster.retire(gone);
    const reused = await refusal(
      client.memberAdd({ id: gone, peerAddr: "127.0.0.1:3", clientAddr: "127.0.0.1:4" }),
    );
    assert.equal(reused.reason, "removed_id");
    // Remove the (live) node 4: it learns it was removed and exits.
    const target = leader === 4 ? ([1, 2, 3].find((id) => id !== gone && id !== 4) as number) : 4;
    await client.memberRemove(target);
    const how = await cluster.exited(target, 30_000);
    assert.notEqual(how, "SIGKILL");
    assert.match(cluster.node(target).stderr, /was removed from the cluster/);
    await cluster.retire(target);
    await client.put("after-remove", Buffer.from("ok"));
  });

  it("a leader stopped with SIGTERM hands leadership over first", async () => {
    const leader = await cluster.waitForLeader();
    const started = Date.now();
    await cluster.stopNode(leader, 10_000);
    assert.match(cluster.node(leader).stderr, /handed leadership over/);
    const next = await cluster.leader();
    assert.ok(next !== undefined && next !== leader, "another leader holds office already");
    assert.ok(Date.now() - started < 10_000);
  });
});

describe("removing the leader", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start();
  });

  after(async () => {
    await cluster?.destroy();
  });

  it("hands over, answers the request, and stops; the others serve on", async () => {
    const leader = await cluster.waitForLeader();
    const client = cluster.client(undefined, 20_000);
    try {
      await client.put("before", Buffer.from("1"));
      const members = await client.memberRemove(leader);
      assert.deepEqual(
        members.map((m) => m.id).includes(leader),
        false,
        "the answer lists the members without it",
      );
      // Its own exit code (the CLI maps MemberRemovedError; today the data-dir code 6).
      assert.match(await cluster.exited(leader, 30_000), /^exit [1-9]\d*$/);
      assert.match(
        cluster.node(leader).stderr,
        /was removed from the cluster by the configuration/,
      );
      await cluster.retire(leader);
      const next = await cluster.waitForLeader(15_000);
      assert.notEqual(next, leader);
      await client.put("after", Buffer.from("2"));
      const list = await client.memberList();
      assert.equal(list.length, 2);
      assert.equal(list.filter((m) => m.reachable).length, 2);
    } finally {
      client.close();
    }
  });

  it("a removed learner (it sends nothing unasked) stops by itself too", async () => {
    const client = cluster.client(undefined, 20_000);
    try {
      const node = await cluster.startJoining(9);
      await waitFor("node 9 to answer status", () => cluster.status(node), 30_000, 100);
      await client.memberAdd({
        id: 9,
        peerAddr: node.peerAddress,
        clientAddr: node.address,
        learner: true,
      });
      await waitFor(
        "learner 9 to catch up",
        async () =>
          (await client.memberList()).find((m) => m.id === 9)?.lag === 0 ? true : undefined,
        30_000,
        100,
      );
      await client.memberRemove(9);
      assert.match(await cluster.exited(9, 30_000), /^exit [1-9]\d*$/);
      assert.match(cluster.node(9).stderr, /was removed from the cluster/);
      await cluster.retire(9);
    } finally {
      client.close();
    }
  });
});
