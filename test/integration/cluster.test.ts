/**
 * End-to-end tests on three real server processes over gRPC on 127.0.0.1 with real
 * disks: the seed's scripts, redirects through a follower, binary values, and crash
 * recovery with kill -9 (docs/testing.md#integration).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { credentials } from "@grpc/grpc-js";
import { DfsError } from "../../src/api/errors.ts";
import { MAX_VALUE_BYTES } from "../../src/api/limits.ts";
import { LocalCluster, REPO_ROOT, waitFor } from "../../src/cluster/index.ts";
import { DfsClient as DfsStub, type PutRequest, type PutResponse } from "../../src/gen/dfs.ts";

interface RunResult {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs the seed's client script with optional stdin bytes. */
function runClient(args: string[], stdin?: Uint8Array): Promise<RunResult> {
  return runScript("scripts/run_client.ts", args, stdin);
}

/** Runs the `dfs` command. */
function runDfs(args: string[], stdin?: Uint8Array): Promise<RunResult> {
  return runScript("src/cli/main.ts", args, stdin);
}

function runScript(script: string, args: string[], stdin?: Uint8Array): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ["--import", "tsx", script, ...args], {
      cwd: REPO_ROOT,
    });
    const out: Buffer[] = [];
    let stderr = "";
    proc.stdout.on("data", (c: Buffer) => out.push(c));
    proc.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    proc.on("error", reject);
    proc.on("exit", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    proc.stdin.end(stdin ?? Buffer.alloc(0));
  });
}

async function followerOf(cluster: LocalCluster): Promise<number> {
  const leader = await cluster.waitForLeader();
  return cluster.nodes.find((n) => n.id !== leader && n.proc !== null)?.id ?? 0;
}

/** Writes unique keys until stopped; records which writes were acknowledged. */
class Writer {
  readonly acked = new Map<string, string>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    cluster: LocalCluster,
    private readonly prefix: string,
    timeoutMs = 20_000,
  ) {
    const client = cluster.client(cluster.endpoints(), timeoutMs);
    this.done = (async () => {
      for (let i = 0; this.running; i++) {
        const key = `${this.prefix}/${i}`;
        const value = `v-${i}-${randomBytes(4).toString("hex")}`;
        try {
          await client.put(key, Buffer.from(value));
          this.acked.set(key, value);
        } catch {
          // an unacknowledged write may or may not have happened; only acks are promises
        }
      }
      client.close();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.done;
  }
}

async function assertAllReadable(cluster: LocalCluster, acked: Map<string, string>): Promise<void> {
  const client = cluster.client();
  try {
    for (const [key, value] of acked) {
      const got = await client.get(key);
      assert.equal(Buffer.from(got.value).toString(), value, `acknowledged write ${key} lost`);
    }
  } finally {
    client.close();
  }
}

describe("three real server processes", { timeout: 180_000 }, () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it("puts, gets and deletes through a follower (redirected to the leader)", async () => {
    const follower = cluster.node(await followerOf(cluster));
    const client = cluster.client([follower.address]);
    try {
      const put = await client.put("docs/readme.txt", Buffer.from("hello world"));
      assert.equal(put.version, 1);
      const again = await client.put("docs/readme.txt", Buffer.from("hello again"));
      assert.equal(again.version, 2);
      assert.ok(again.index > put.index);
      const got = await client.get("docs/readme.txt");
      assert.equal(Buffer.from(got.value).toString(), "hello again");
      assert.equal(got.version, 2);
      await client.delete("docs/readme.txt");
      await assert.rejects(
        client.get("docs/readme.txt"),
        (e: unknown) => e instanceof DfsError && e.code === "not_found",
      );
    } finally {
      client.close();
    }
  });

  it("the seed's run_client.ts: value argument, value from stdin, exact bytes on stdout, exit codes", async () => {
    const follower = cluster.node(await followerOf(cluster));
    const put = await runClient([follower.address, "put", "mykey", "hello world"]);
    assert.equal(put.code, 0, put.stderr);
    const get = await runClient([follower.address, "get", "mykey"]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout.toString(), "hello world");

    const piped = await runClient(
      [follower.address, "put", "anotherkey", "-"],
      Buffer.from("larger value\n"),
    );
    assert.equal(piped.code, 0, piped.stderr);
    const got = await runClient([follower.address, "get", "anotherkey"]);
    assert.deepEqual(got.stdout, Buffer.from("larger value\n"));

    const del = await runClient([follower.address, "delete", "anotherkey"]);
    assert.equal(del.code, 0, del.stderr);
    const missing = await runClient([follower.address, "get", "anotherkey"]);
    assert.equal(missing.code, 1, "a missing key exits 1");
    assert.match(missing.stderr, /not found/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /, "no stack trace");
  });

  it("a 4 KiB binary value round-trips byte for byte (library and CLI)", async () => {
    const value = randomBytes(4096);
    value[0] = 0;
    value[1] = 0xff;
    const client = cluster.client();
    try {
      await client.put("bin/blob", value);
      assert.deepEqual(Buffer.from((await client.get("bin/blob")).value), value);
    } finally {
      client.close();
    }
    const viaStdin = await runClient(
      [cluster.nodes[0]?.address ?? "", "put", "bin/stdin", "-"],
      value,
    );
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    const out = await runClient([cluster.nodes[1]?.address ?? "", "get", "bin/stdin"]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(out.stdout, value);
  });

  it("16 concurrent gets of 1 MiB values (coalesced into Batch calls) all return their bytes", async () => {
    const client = cluster.client();
    try {
      const values = Array.from({ length: 16 }, () => randomBytes(MAX_VALUE_BYTES));
      await Promise.all(values.map((v, i) => client.put(`big/${i}`, v)));
      for (const serializable of [false, true]) {
        const got = await Promise.all(
          values.map((_, i) => client.get(`big/${i}`, { serializable })),
        );
        got.forEach((g, i) => {
          assert.ok(Buffer.from(g.value).equals(values[i] as Buffer), `big/${i} (${serializable})`);
        });
      }
    } finally {
      client.close();
    }
  });

  it("compare-and-set and stat through the CLI: --if-absent, --if-version, exit 4 on a lost race", async () => {
    const endpoints = ["--endpoints", cluster.endpoints().join(",")];
    assert.equal((await runDfs(["put", "cas/k", "v1", "--if-absent", ...endpoints])).code, 0);
    const lost = await runDfs(["put", "cas/k", "other", "--if-absent", ...endpoints]);
    assert.equal(lost.code, 4, lost.stderr);
    assert.match(lost.stderr, /precondition failed/);
    const stale = await runDfs(["put", "cas/k", "v2", "--if-version", "7", ...endpoints]);
    assert.equal(stale.code, 4, stale.stderr);
    assert.equal((await runDfs(["put", "cas/k", "v2", "--if-version", "1", ...endpoints])).code, 0);
    const stat = await runDfs(["stat", "cas/k", "--json", ...endpoints]);
    assert.equal(stat.code, 0, stat.stderr);
    const meta = JSON.parse(stat.stdout.toString()) as {
      key: string;
      version: number;
      size: number;
      modIndex: number;
    };
    assert.equal(meta.key, "cas/k");
    assert.equal(meta.version, 2);
    assert.equal(meta.size, 2);
    assert.ok(meta.modIndex > 0);
    const got = await runDfs(["get", "cas/k", ...endpoints]);
    assert.equal(got.stdout.toString(), "v2");
  });

  it("exactly-once: the same session write sent twice to the real cluster is applied once", async () => {
    const leader = cluster.node(await cluster.waitForLeader());
    const stub = new DfsStub(leader.address, credentials.createInsecure());
    const send = (request: PutRequest) =>
      new Promise<PutResponse>((resolve, reject) =>
        stub.put(request, (e, r) => (e ? reject(e) : resolve(r))),
      );
    try {
      const session = {
        clientId: `it-${randomBytes(4).toString("hex")}`,
        sequence: 1,
        firstIncomplete: 1,
      };
      const request = {
        key: "once/k",
        value: Buffer.from("x"),
        ifVersion: undefined,
        session,
        metadata: {},
      };
      const first = await send(request);
      const retry = await send(request);
      assert.deepEqual(retry, first, "the retry is answered with the original result");
      const plain = { ...request, session: undefined };
      const third = await send(plain);
      assert.equal(
        third.version,
        2,
        "only one of the two session puts was applied; a session-less put applies again",
      );
    } finally {
      stub.close();
    }
  });

  it("kill -9 of the leader: a new leader, no acknowledged write lost, new writes accepted; the old leader catches up", async () => {
    const oldLeader = await cluster.waitForLeader();
    const writer = new Writer(cluster, "failover");
    await waitFor("some acknowledged writes", () => (writer.acked.size >= 20 ? true : undefined));
    const killedAt = Date.now();
    await cluster.kill(oldLeader);
    const before = writer.acked.size;
    await waitFor(
      "writes acknowledged after the kill",
      () => (writer.acked.size > before + 5 ? true : undefined),
      20_000,
    );
    const failoverMs = Date.now() - killedAt;
    await writer.stop();
    const newLeader = await cluster.waitForLeader();
    assert.notEqual(newLeader, oldLeader);
    console.log(
      `# failover: kill -9 of leader ${oldLeader} -> writes acknowledged again within ${failoverMs} ms`,
    );
    await assertAllReadable(cluster, writer.acked);

    await cluster.restart(oldLeader);
    const client = cluster.client();
    let target = 0;
    try {
      target = (await client.put("failover/after-restart", Buffer.from("x"))).index;
    } finally {
      client.close();
    }
    const restarted = cluster.node(oldLeader);
    await waitFor("the restarted node to catch up", async () => {
      const s = await cluster.status(restarted);
      return s !== undefined && s.appliedIndex >= target ? true : undefined;
    });
    const local = cluster.client([restarted.address]);
    try {
      const got = await local.get("failover/after-restart", { serializable: true });
      assert.equal(Buffer.from(got.value).toString(), "x");
    } finally {
      local.close();
    }
  });

  it("all three killed at once and restarted: nothing acknowledged is lost", async () => {
    const writer = new Writer(cluster, "crash-all", 2_000);
    await waitFor("some acknowledged writes", () => (writer.acked.size >= 30 ? true : undefined));
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id)));
    await writer.stop();
    assert.ok(writer.acked.size >= 30);
    for (const node of cluster.nodes) cluster.spawn(node);
    await cluster.waitForLeader();
    await assertAllReadable(cluster, writer.acked);
    const client = cluster.client();
    try {
      await client.put("crash-all/after", Buffer.from("still writable"));
    } finally {
      client.close();
    }
  });
});
