/**
 * Ranged reads and metadata on three real processes (issue 21). Metadata travels with
 * put, upload, get, stat, list and download and is dropped by an overwrite without it.
 * Ranges: first byte, last byte, across chunk boundaries, empty, past the end, a version
 * pin, and `dfs get --range` in its three forms. The proof that a range reads only the
 * chunks it needs: chunks 0 and 4 of a 5-chunk file are damaged on every node's disk (a
 * flipped byte their CRC catches); a range inside chunks 1-3 still reads, while any read
 * touching a damaged chunk fails, so the node never read them for the first.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { DfsError } from "../../src/api/errors.ts";
import { FILE_CHUNK_BYTES } from "../../src/api/limits.ts";
import { type DfsClient, toDfsError } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub, type PutRequest } from "../../src/gen/dfs.ts";
import { downloadAll, findInBlobs } from "../support/file-data.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const MiB = FILE_CHUNK_BYTES;

async function code(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "ok";
  } catch (error) {
    if (error instanceof DfsError) return error.code;
    throw error;
  }
}

describe("ranged reads and metadata on real processes", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let client: DfsClient;

  before(async () => {
    cluster = await LocalCluster.start();
    client = cluster.client(cluster.endpoints(), 20_000);
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
  });

  it("keeps metadata across put, upload, get, stat, list and download", async () => {
    const meta = { "content-type": "text/plain", "x-amz-meta-who": "ünïcode ok" };
    await client.put("m/value", Buffer.from("hi"), { metadata: meta });
    assert.deepEqual((await client.get("m/value")).metadata, meta);
    assert.deepEqual((await client.stat("m/value")).metadata, meta);
    await client.upload("m/file", randomBytes(MiB + 3), { metadata: { etag: '"e1"' } });
    assert.deepEqual((await client.stat("m/file")).metadata, { etag: '"e1"' });
    assert.deepEqual((await client.download("m/file")).info.metadata, { etag: '"e1"' });
    const listed = new Map<string, unknown>();
    for await (const e of client.list("m")) listed.set(e.name, e.info?.metadata);
    assert.deepEqual(listed.get("m/value"), meta);
    assert.deepEqual(listed.get("m/file"), { etag: '"e1"' });
    await client.put("m/value", Buffer.from("again"));
    assert.deepEqual((await client.stat("m/value")).metadata, {}, "an overwrite without drops it");
    const serial = await client.stat("m/file", { serializable: true });
    assert.deepEqual(serial.metadata, { etag: '"e1"' });
  });

  it("refuses metadata past its limits with invalid_argument, storing nothing", async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    assert.equal(
      await code(client.put("m/bad", Buffer.from("x"), { metadata: many })),
      "invalid_argument",
    );
    const big = { a: "x".repeat(8 * 1024) };
    assert.equal(
      await code(client.upload("m/bad", Buffer.from("x"), { metadata: big })),
      "invalid_argument",
    );
    assert.equal(
      await code(client.put("m/bad", Buffer.from("x"), { metadata: { "a b": "1" } })),
      "invalid_argument",
    );
    assert.equal(await code(client.stat("m/bad")), "not_found");
  });

  it("the node refuses bad metadata itself (a raw call past the client's check)", async () => {
    const leader = await cluster.waitForLeader(30_000);
    const stub = new DfsStub(cluster.node(leader).address, credentials.createInsecure());
    try {
      const put = (metadata: Record<string, string>) =>
        new Promise<string>((resolve) => {
          const request: PutRequest = {
            key: "m/raw",
            value: Buffer.from("x"),
            ifVersion: undefined,
            session: undefined,
            metadata,
          };
          stub.put(request, (error) =>
            resolve(
              error === null ? "ok" : `${toDfsError(error).code}: ${toDfsError(error).message}`,
            ),
          );
        });
      const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
      assert.equal(await put(many), "invalid_argument: metadata has 65 entries; the limit is 64");
      assert.match(await put({ "a\u0001": "v" }), /^invalid_argument: metadata name/);
      assert.match(await put({ a: "x".repeat(8200) }), /^invalid_argument: metadata is 8201 bytes/);
      assert.equal(await put({ ok: "fine" }), "ok");
    } finally {
      stub.close();
    }
    assert.deepEqual((await client.stat("m/raw")).metadata, { ok: "fine" });
  });

  it("reads ranges: first byte, last byte, across chunks, empty, past the end, version pin", async () => {
    const data = randomBytes(3 * MiB + 17);
    await client.upload("r/file", data);
    const get = async (offset: number, length?: number) =>
      Buffer.from(
        (await client.get("r/file", { offset, ...(length === undefined ? {} : { length }) })).value,
      );
    assert.deepEqual(await get(0, 1), data.subarray(0, 1));
    assert.deepEqual(await get(data.length - 1, 1), data.subarray(data.length - 1));
    assert.deepEqual(await get(MiB - 5, 10), data.subarray(MiB - 5, MiB + 5));
    assert.deepEqual(await get(MiB - 1, MiB + 2), data.subarray(MiB - 1, 2 * MiB + 1));
    assert.deepEqual(await get(2 * MiB), data.subarray(2 * MiB));
    assert.deepEqual(await get(5, 0), Buffer.alloc(0));
    assert.deepEqual(await get(data.length), Buffer.alloc(0));
    assert.deepEqual(await get(data.length - 2, 100), data.subarray(data.length - 2));
    assert.equal(await code(get(data.length + 1)), "invalid_argument");
    const r = await client.get("r/file", { offset: 1, length: 2 });
    assert.equal(r.size, data.length);
    const version = (await client.stat("r/file")).version;
    const pinned = await client.download("r/file", { offset: 3, length: 4, ifVersion: version });
    assert.deepEqual(pinned.range, { start: 3, end: 7 });
    assert.deepEqual(Buffer.concat(await collect(pinned.chunks)), data.subarray(3, 7));
    assert.equal(
      await code(client.download("r/file", { ifVersion: version + 1 })),
      "precondition_failed",
    );
    await client.put("r/value", Buffer.from("0123456789"));
    assert.equal((await client.get("r/value", { offset: 2, length: 3 })).value.toString(), "234");
  });

  it("dfs get --range A-B, A- and -N write exactly those bytes", async () => {
    const data = randomBytes(2 * MiB + 10);
    await client.upload("r/cli", data);
    const endpoints = ["--endpoints", cluster.endpoints().join(",")];
    for (const [range, want] of [
      [`${MiB - 2}-${MiB + 1}`, data.subarray(MiB - 2, MiB + 2)],
      [`${2 * MiB}-`, data.subarray(2 * MiB)],
      ["-7", data.subarray(data.length - 7)],
      ["0-0", data.subarray(0, 1)],
    ] as const) {
      const run = await runDfs(["get", "r/cli", "--range", range, ...endpoints]);
      assert.equal(run.code, 0, run.stderr);
      assert.ok(run.stdout.equals(want), `--range ${range}`);
    }
    const bad = await runDfs(["get", "r/cli", "--range", "9-3", ...endpoints]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--range 9-3/);
  });

  it("a range reads only the chunks it needs: damaged chunks 0 and 4 do not stop it", async () => {
    const markers = [randomBytes(32), randomBytes(32)];
    const data = randomBytes(5 * MiB);
    markers[0]?.copy(data, 100);
    markers[1]?.copy(data, 4 * MiB + 100);
    await client.upload("proof/file", data);
    // Every node has applied the upload before it stops (serializable reads at each).
    for (const node of cluster.nodes) {
      const one = cluster.client([node.address], 20_000);
      try {
        for (
          let i = 0;
          i < 100 && (await code(one.stat("proof/file", { serializable: true }))) !== "ok";
          i++
        )
          await new Promise((r) => setTimeout(r, 100));
      } finally {
        one.close();
      }
    }
    client.close();
    await cluster.stop(20_000); // graceful: each store writes everything it applied
    for (const node of cluster.nodes) {
      for (const marker of markers) {
        const found = await findInBlobs(node.dataDir, marker as Buffer);
        assert.ok(found !== null, `node ${node.id}: the chunk is on disk (in its blob)`);
        const { file, at, bytes } = found;
        bytes[at + 5] = (bytes[at + 5] as number) ^ 0xff;
        await writeFile(file, bytes);
      }
    }
    for (const node of cluster.nodes) await cluster.restart(node.id);
    await cluster.waitForLeader(30_000);
    client = cluster.client(cluster.endpoints(), 20_000);
    const middle = await client.get("proof/file", { offset: MiB + 7, length: 3 * MiB - 14 });
    assert.ok(
      Buffer.from(middle.value).equals(data.subarray(MiB + 7, 4 * MiB - 7)),
      "chunks 1-3 read",
    );
    const edges = await client.get("proof/file", { offset: MiB, length: 3 * MiB });
    assert.ok(Buffer.from(edges.value).equals(data.subarray(MiB, 4 * MiB)), "exactly chunks 1-3");
    // The damage is real: any read touching chunk 0 or 4 fails.
    assert.notEqual(await code(client.get("proof/file", { offset: MiB - 1, length: 2 })), "ok");
    assert.notEqual(await code(client.get("proof/file", { offset: 4 * MiB, length: 1 })), "ok");
    assert.notEqual(await code(downloadAll(client, "proof/file")), "ok");
  });
});

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of chunks) out.push(c);
  return out;
}
