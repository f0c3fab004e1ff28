/**
 * Reads from any node, writes through any node (issue 24), on three real server
 * processes: a plain unary gRPC client (no hint following, as a load balancer or another
 * language's program would be) writes through a follower, which relays to the leader;
 * linearizable reads are served by followers themselves (ReadIndex through the leader);
 * a client that asks for hints (`dfs-no-forward`) still gets NOT_LEADER and the address;
 * exactly-once and compare-and-set hold across a relay.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { LEADER_METADATA, NO_FORWARD_METADATA } from "../../src/api/index.ts";
import { DfsClient } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub, type GetResponse, type PutResponse } from "../../src/gen/dfs.ts";

/** A unary stub call as a promise. */
function call<Req, Res>(
  stub: DfsStub,
  method: "put" | "get" | "delete" | "stat",
  request: Req,
  metadata = new Metadata(),
): Promise<Res> {
  const fn = stub[method].bind(stub) as unknown as (
    r: Req,
    m: Metadata,
    o: { deadline: number },
    cb: (e: ServiceError | null, r: Res) => void,
  ) => void;
  return new Promise((resolve, reject) =>
    fn(request, metadata, { deadline: Date.now() + 10_000 }, (e, r) =>
      e ? reject(e) : resolve(r),
    ),
  );
}

const put = (key: string, value: string, extra: object = {}) => ({
  key,
  value: Buffer.from(value),
  ifVersion: undefined,
  session: undefined,
  metadata: {},
  ...extra,
});

describe("any node: follower reads and forwarded writes", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  let leaderId: number;
  let followers: DfsStub[];
  let leader: DfsStub;

  before(async () => {
    cluster = await LocalCluster.start();
    leaderId = await cluster.waitForLeader();
    const stub = (id: number) =>
      new DfsStub(cluster.node(id).address, credentials.createInsecure());
    leader = stub(leaderId);
    followers = cluster.nodes.filter((n) => n.id !== leaderId).map((n) => stub(n.id));
  });
  after(async () => {
    for (const s of [leader, ...(followers ?? [])]) s?.close();
    await cluster?.destroy();
  });

  it("a plain unary client writes through a follower and reads back on every node", async () => {
    const follower = followers[0] as DfsStub;
    for (let i = 0; i < 20; i++) {
      const key = `fwd/${i}`;
      const r = await call<object, PutResponse>(follower, "put", put(key, `v${i}`));
      assert.equal(r.version, 1);
      // Linearizable: a read on any node after the write was acknowledged sees it.
      for (const node of [...followers, leader]) {
        const got = await call<object, GetResponse>(node, "get", { key, serializable: false });
        assert.equal(got.value.toString(), `v${i}`);
      }
    }
  });

  it("a write acknowledged by the leader is seen at once by linearizable reads on followers", async () => {
    for (let i = 0; i < 50; i++) {
      const key = `fresh/${i % 5}`;
      const value = randomBytes(6).toString("hex");
      await call<object, PutResponse>(leader, "put", put(key, value));
      for (const f of followers) {
        const got = await call<object, GetResponse>(f, "get", { key, serializable: false });
        assert.equal(got.value.toString(), value, `follower read of ${key} after write ${i}`);
      }
    }
  });

  it("compare-and-set and delete through a follower are decided by the leader", async () => {
    const follower = followers[1] as DfsStub;
    await call(follower, "put", put("cas/x", "1"));
    await assert.rejects(
      call(follower, "put", put("cas/x", "2", { ifVersion: 7 })),
      (e: ServiceError) => /version/i.test(e.details),
    );
    const ok = await call<object, PutResponse>(
      follower,
      "put",
      put("cas/x", "2", { ifVersion: 1 }),
    );
    assert.equal(ok.version, 2);
    await call(follower, "delete", { key: "cas/x", session: undefined });
    await assert.rejects(
      call(leader, "get", { key: "cas/x", serializable: false }),
      (e: ServiceError) => e.details.includes("not found"),
    );
  });

  it("exactly-once across a relay: the same session write twice through a follower applies once", async () => {
    const follower = followers[0] as DfsStub;
    const session = {
      clientId: `fwd-${randomBytes(4).toString("hex")}`,
      sequence: 1,
      firstIncomplete: 1,
    };
    const first = await call<object, PutResponse>(follower, "put", put("once/x", "a", { session }));
    const again = await call<object, PutResponse>(
      followers[1] as DfsStub,
      "put",
      put("once/x", "a", { session }),
    );
    assert.deepEqual(again, first, "the retry gets the original answer");
    const got = await call<object, GetResponse>(leader, "get", {
      key: "once/x",
      serializable: false,
    });
    assert.equal(got.version, 1);
  });

  it("dfs-no-forward: a follower answers NOT_LEADER with the leader's address", async () => {
    const md = new Metadata();
    md.set(NO_FORWARD_METADATA, "1");
    await assert.rejects(
      call(followers[0] as DfsStub, "put", put("hint/x", "1"), md),
      (e: ServiceError) =>
        e.metadata.get(LEADER_METADATA)[0] === cluster.node(leaderId).address &&
        /not the leader/.test(e.details),
    );
  });

  it("DfsClient spreads reads over every node and still reads its own writes", async () => {
    const client = new DfsClient({
      endpoints: cluster.endpoints(),
      timeoutMs: 15_000,
      spreadReads: true,
    });
    try {
      for (let i = 0; i < 30; i++) {
        await client.put(`spread/${i}`, Buffer.from(`s${i}`));
        const got = await client.get(`spread/${i}`);
        assert.equal(Buffer.from(got.value).toString(), `s${i}`);
      }
    } finally {
      client.close();
    }
  });
});
