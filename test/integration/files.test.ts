/**
 * Files on three real processes (issue #7): streamed uploads and downloads of any size,
 * byte-exact and SHA-256 checked, atomic visibility, listing, stat and recursive delete,
 * through the client library and the CLI.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { FILE_CHUNK_BYTES } from "../../src/api/limits.ts";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster, REPO_ROOT } from "../../src/cluster/index.ts";
import { downloadAll, sha256Hex as sha } from "../support/file-data.ts";
import { runDfs } from "../unit/cli/run-dfs.ts";

const MiB = 1024 * 1024;

describe("files on real processes", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let client: DfsClient;
  let dir: string;

  before(async () => {
    cluster = await LocalCluster.start();
    client = cluster.client(cluster.endpoints(), 20_000);
    dir = await mkdtemp(join(tmpdir(), "dfs-files-"));
  });
  after(async () => {
    client?.close();
    await cluster?.destroy();
    await rm(dir, { recursive: true, force: true });
  });

  it("round-trips empty, 1 byte, exactly one chunk, one chunk + 1 and several chunks byte for byte", async () => {
    for (const size of [0, 1, FILE_CHUNK_BYTES, FILE_CHUNK_BYTES + 1, 3 * FILE_CHUNK_BYTES + 5]) {
      const data = randomBytes(size);
      const key = `sizes/${size}.bin`;
      const up = await client.upload(key, data);
      assert.equal(up.size, size);
      assert.equal(up.sha256, sha(data));
      const { info } = await client.download(key);
      assert.equal(info.size, size);
      assert.equal(info.sha256, sha(data));
      assert.equal(info.chunks, Math.ceil(size / FILE_CHUNK_BYTES));
      const back = await downloadAll(client, key);
      assert.ok(back.equals(data), `${size} bytes round-trip`);
      const stat = await client.stat(key);
      assert.deepEqual(
        { size: stat.size, sha256: stat.sha256, version: stat.version },
        { size, sha256: sha(data), version: 1 },
      );
    }
  });

  it("a put value and an uploaded file read the same way; unary get refuses a multi-chunk file", async () => {
    await client.put("mixed/small", Buffer.from("hello"));
    assert.equal((await downloadAll(client, "mixed/small")).toString(), "hello");
    assert.equal((await client.stat("mixed/small")).sha256, sha(Buffer.from("hello")));
    await client.upload("mixed/big", randomBytes(2 * MiB));
    await assert.rejects(client.get("mixed/big"), /too_large|streamed download/);
  });

  it("overwriting a file replaces it whole; a download in progress keeps reading the old one", async () => {
    const first = randomBytes(4 * MiB);
    const second = randomBytes(3 * MiB);
    await client.upload("over/file", first);
    const reading = await client.download("over/file");
    await client.upload("over/file", second);
    const parts: Buffer[] = [];
    for await (const c of reading.chunks) parts.push(c);
    assert.ok(
      Buffer.concat(parts).equals(first),
      "the download that began first sees the old file",
    );
    assert.ok((await downloadAll(client, "over/file")).equals(second));
    assert.equal((await client.stat("over/file")).version, 2);
  });

  it("concurrent uploads to one key: the last committed wins, whole", async () => {
    const bodies = [randomBytes(2 * MiB + 7), randomBytes(2 * MiB + 9), randomBytes(2 * MiB + 11)];
    const results = await Promise.all(bodies.map((b) => client.upload("race/file", b)));
    const winner = results.reduce((a, b) => (a.index > b.index ? a : b));
    const back = await downloadAll(client, "race/file");
    assert.equal(sha(back), winner.sha256);
    assert.ok(bodies.some((b) => b.equals(back)));
  });

  it("ls lists one level with directories, -r everything, page by page; rm -r removes a subtree", async () => {
    for (const k of [
      "tree/a.txt",
      "tree/b/1.txt",
      "tree/b/2.txt",
      "tree/b/c/3.txt",
      "tree/d/4.txt",
      "treeish",
    ])
      await client.put(k, Buffer.from(k));
    const level = [];
    for await (const e of client.list("tree", { pageSize: 2 })) level.push(e.name);
    assert.deepEqual(level, ["tree/a.txt", "tree/b/", "tree/d/"]);
    const all = [];
    for await (const e of client.list("tree", { recursive: true, pageSize: 2 })) all.push(e.name);
    assert.deepEqual(all, [
      "tree/a.txt",
      "tree/b/1.txt",
      "tree/b/2.txt",
      "tree/b/c/3.txt",
      "tree/d/4.txt",
    ]);
    const cli = await runDfs(["ls", "tree/b", "--endpoints", cluster.endpoints().join(",")]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.toString(), "tree/b/1.txt\ntree/b/2.txt\ntree/b/c/\n");
    const removed = await runDfs([
      "rm",
      "-r",
      "tree/b",
      "--endpoints",
      cluster.endpoints().join(","),
    ]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout.toString(), /^ok deleted=3 index=\d+\n$/);
    const left = [];
    for await (const e of client.list("", { recursive: true }))
      if (e.name.startsWith("tree")) left.push(e.name);
    assert.deepEqual(left, ["tree/a.txt", "tree/d/4.txt", "treeish"]);
  });

  it("CLI: put --file and stdin stream any size; get -o writes the file atomically; stat shows SHA-256", async () => {
    const data = randomBytes(5 * MiB + 3);
    const src = join(dir, "in.bin");
    await writeFile(src, data);
    const endpoints = ["--endpoints", cluster.endpoints().join(",")];
    const put = await runDfs(["put", "cli/file.bin", "--file", src, ...endpoints]);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout.toString(), new RegExp(`size=${data.length} sha256=${sha(data)}`));
    const piped = await runDfs(["put", "cli/stdin.bin", "-", ...endpoints], { stdin: data });
    assert.equal(piped.code, 0, piped.stderr);
    const out = join(dir, "out.bin");
    const get = await runDfs(["get", "cli/stdin.bin", "-o", out, ...endpoints]);
    assert.equal(get.code, 0, get.stderr);
    assert.ok((await readFile(out)).equals(data));
    const toStdout = await runDfs(["get", "cli/file.bin", ...endpoints]);
    assert.ok(toStdout.stdout.equals(data));
    const stat = await runDfs(["stat", "cli/file.bin", "--json", ...endpoints]);
    const parsed = JSON.parse(stat.stdout.toString());
    assert.equal(parsed.sha256, sha(data));
    assert.equal(parsed.chunks, 6);
    const seed = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [
          "--import",
          "tsx",
          "scripts/run_client.ts",
          cluster.endpoints()[0] as string,
          "put",
          "cli/seed.bin",
          "-",
        ],
        { cwd: REPO_ROOT },
      );
      let stderr = "";
      p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      p.on("exit", (code) => resolve({ code, stderr }));
      p.stdin.end(data);
    });
    assert.equal(seed.code, 0, seed.stderr);
    assert.equal((await client.stat("cli/seed.bin")).sha256, sha(data));
  });
});

describe("batched operations on real processes", { timeout: 120_000 }, () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("concurrent operations travel in Batch calls and each gets its own result or typed error", async () => {
    const client = cluster.client(cluster.endpoints(), 20_000);
    try {
      await client.put("batch/seed", Buffer.from("v0")); // also finds the leader
      const before = client.batchStats();
      const ops = Array.from({ length: 300 }, async (_, i) => {
        switch (i % 5) {
          case 0:
            return (await client.put(`batch/k${i}`, Buffer.from(`v${i}`))).version === 1;
          case 1: // compare-and-set against a version that does not exist
            return client.put("batch/seed", Buffer.from("x"), { ifVersion: 99 }).then(
              () => false,
              (e: unknown) => /precondition/i.test(String(e)),
            );
          case 2:
            return client.get(`batch/missing-${i}`).then(
              () => false,
              (e: unknown) => /not found/i.test(String(e)),
            );
          case 3:
            return Buffer.from((await client.get("batch/seed")).value).toString() === "v0";
          default:
            return (await client.stat("batch/seed")).version === 1;
        }
      });
      const outcomes = await Promise.all(ops);
      assert.deepEqual(
        outcomes.map((ok, i) => (ok ? null : i)).filter((i) => i !== null),
        [],
        "every operation got its own correct answer",
      );
      const after = client.batchStats();
      const calls = after.batchCalls - before.batchCalls;
      const carried = after.batchedOps - before.batchedOps;
      assert.ok(calls > 0 && carried >= 2 * calls, `batched: ${carried} ops in ${calls} calls`);
      assert.ok(after.streamed - before.streamed >= calls, "the batches went over the stream");
      for (let i = 0; i < 300; i += 5)
        assert.equal(Buffer.from((await client.get(`batch/k${i}`)).value).toString(), `v${i}`);
    } finally {
      client.close();
    }
  });
});
