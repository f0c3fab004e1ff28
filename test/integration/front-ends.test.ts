/**
 * `--front-ends 2` on every node: the client port served by two worker threads sharing
 * one listening socket. Unary calls cross to the loop's thread decoded (answers and
 * errors with their metadata come back intact), streaming calls (BatchStream, Upload,
 * Download) are relayed to the loop thread's loopback server; DfsClient works unchanged.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { LEADER_METADATA, NO_FORWARD_METADATA } from "../../src/api/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub } from "../../src/gen/dfs.ts";

/** One unary call through the generated stub, as a plain gRPC program makes it. */
function call<T>(start: (done: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((e, r) => (e === null ? resolve(r) : reject(e))));
}

describe("front ends", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start({ serverArgs: ["--front-ends", "2"] });
    await cluster.waitForLeader();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("serves unary calls from many connections, errors with their metadata", async () => {
    const leader = cluster.node(await cluster.waitForLeader()).address;
    const follower = cluster.endpoints().find((e) => e !== leader) as string;
    // Several channels: connections land on both front ends.
    const stubs = Array.from(
      { length: 6 },
      (_, i) => new DfsStub(leader, credentials.createInsecure(), { "grpc.channel_id": `fe-${i}` }),
    );
    try {
      await Promise.all(
        stubs.map(async (stub, i) => {
          const md = new Metadata();
          const value = Buffer.alloc(300, i);
          const put = await call<{ version: number }>((d) =>
            stub.put(
              { key: `fe/${i}`, value, metadata: { i: String(i) }, session: undefined },
              md,
              d,
            ),
          );
          assert.equal(put.version, 1);
          const got = await call<{ value: Buffer; metadata: Record<string, string> }>((d) =>
            stub.get({ key: `fe/${i}`, serializable: false }, md, d),
          );
          assert.deepEqual(Buffer.from(got.value), value);
          assert.equal(got.metadata.i, String(i));
        }),
      );
      const stub = stubs[0] as DfsStub;
      const cas = await call((d) =>
        stub.put(
          { key: "fe/0", value: Buffer.from("x"), ifVersion: 7, metadata: {}, session: undefined },
          new Metadata(),
          d,
        ),
      ).catch((e: ServiceError) => e);
      assert.ok(cas instanceof Error);
      assert.equal((cas as ServiceError).metadata.get("dfs-error")[0], "precondition_failed");
      const missing = await call((d) =>
        stub.get({ key: "fe/missing", serializable: false }, new Metadata(), d),
      ).catch((e: ServiceError) => e);
      assert.equal((missing as ServiceError).metadata.get("dfs-error")[0], "not_found");
      const other = new DfsStub(follower, credentials.createInsecure());
      // A client that follows hints itself asks for one instead of a relay to the leader.
      const noRelay = new Metadata();
      noRelay.set(NO_FORWARD_METADATA, "1");
      const refused = await call((d) =>
        other.put(
          { key: "fe/f", value: Buffer.from("f"), metadata: {}, session: undefined },
          noRelay,
          d,
        ),
      ).catch((e: ServiceError) => e);
      other.close();
      assert.equal((refused as ServiceError).metadata.get("dfs-error")[0], "not_leader");
      assert.equal((refused as ServiceError).metadata.get(LEADER_METADATA)[0], leader);
    } finally {
      for (const s of stubs) s.close();
    }
  });

  it("relays streams: DfsClient's BatchStream, uploads and downloads", async () => {
    const client = cluster.client();
    try {
      for (let i = 0; i < 20; i++) await client.put(`fe/s${i}`, Buffer.from(`v${i}`));
      const values = await Promise.all(
        Array.from({ length: 20 }, async (_, i) =>
          Buffer.from((await client.get(`fe/s${i}`)).value),
        ),
      );
      assert.deepEqual(
        values.map((v) => v.toString()),
        Array.from({ length: 20 }, (_, i) => `v${i}`),
      );
      const file = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
      await client.upload("fe/file", file);
      const download = await client.download("fe/file");
      const parts: Buffer[] = [];
      for await (const chunk of download.chunks) parts.push(Buffer.from(chunk));
      assert.deepEqual(Buffer.concat(parts), file);
    } finally {
      client.close();
    }
  });
});
