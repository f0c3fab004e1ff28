/**
 * BatchStream against real nodes: lone operations travel as stream messages, operations
 * in flight on a stream the leader's death broke are retried on the next leader without
 * losing an acknowledged write, and a program that never closes its client still exits
 * once the stream has been idle. (Replacing a broken stream to the same node:
 * test/unit/client/batch-stream-link.test.ts.)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { STREAM_IDLE_MS } from "../../src/client/batch-stream-link.ts";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";

const ROOT = resolve(import.meta.dirname, "../..");

describe("BatchStream", () => {
  let cluster: LocalCluster;
  before(async () => {
    cluster = await LocalCluster.start();
    await cluster.waitForLeader();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("sends each lone operation as one message on the stream", async () => {
    const client = cluster.client();
    try {
      await client.put("stream/warm", Buffer.from("w")); // finds the leader
      const before = client.batchStats();
      for (let i = 0; i < 20; i++) {
        await client.put(`stream/k${i}`, Buffer.from(`v${i}`));
        assert.equal(Buffer.from((await client.get(`stream/k${i}`)).value).toString(), `v${i}`);
      }
      const after = client.batchStats();
      assert.equal(after.streamed - before.streamed, 40, "40 sequential operations, 40 messages");
      assert.equal(after.batchCalls, before.batchCalls, "no operation waited for company");
    } finally {
      client.close();
    }
  });

  it("retries what was in flight on the dead leader's stream; no acknowledged write is lost", async () => {
    const client = cluster.client(cluster.endpoints(), 30_000);
    try {
      const leader = await cluster.waitForLeader();
      await client.put("stream/before", Buffer.from("b"));
      // Writers keep 8 puts in flight on the leader's stream while it is killed.
      const acked: string[] = [];
      let stop = false;
      const writers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const key = `stream/w${w}/${i}`;
          await client.put(key, Buffer.from(key));
          acked.push(key);
        }
      });
      await waitFor("writes before the kill", () => (acked.length >= 50 ? true : undefined));
      await cluster.kill(leader);
      const atKill = acked.length;
      await waitFor(
        "writes after the kill",
        () => (acked.length >= atKill + 50 ? true : undefined),
        30_000,
      );
      stop = true;
      await Promise.all(writers);
      for (const key of acked) {
        assert.equal(Buffer.from((await client.get(key)).value).toString(), key, key);
      }
      await cluster.restart(leader);
    } finally {
      client.close();
    }
  });

  it("lets a program that never closes its client exit once the stream is idle", async () => {
    const script = [
      'import { DfsClient } from "./src/index.ts";',
      `const client = new DfsClient({ endpoints: ${JSON.stringify(cluster.endpoints())} });`,
      'await client.put("stream/unclosed", Buffer.from("u"));',
      'process.stdout.write("put done\\n");',
    ].join("\n");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "--input-type=module", "-e", script],
      {
        cwd: ROOT,
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exitedWithin = await new Promise<boolean>((done) => {
      const timer = setTimeout(() => done(false), 20_000 + STREAM_IDLE_MS);
      child.on("exit", () => {
        clearTimeout(timer);
        done(true);
      });
    });
    if (!exitedWithin) child.kill("SIGKILL");
    assert.ok(exitedWithin, `the program did not exit by itself; output: ${output}`);
    assert.match(output, /put done/);
  });
});
