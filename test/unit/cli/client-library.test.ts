/**
 * The client library in-process against fake nodes: leader memory, redirect handling
 * and the deadline. (Lives beside the CLI tests, which exercise the same client through
 * the command line.)
 */
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { afterEach, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { DfsClient, DfsError } from "../../../src/client/index.ts";
import { Backoff } from "../../../src/client/retry.ts";
import { type FakeNode, notLeader, startFakeNode } from "./fake-node.ts";

const running: FakeNode[] = [];
const clients: DfsClient[] = [];

async function fake(behavior: Parameters<typeof startFakeNode>[0]): Promise<FakeNode> {
  const node = await startFakeNode(behavior);
  running.push(node);
  return node;
}

function client(endpoints: string[], timeoutMs = 2_000): DfsClient {
  const created = new DfsClient({ endpoints, timeoutMs });
  clients.push(created);
  return created;
}

async function rejectsWith(promise: Promise<unknown>, code: string, pattern?: RegExp) {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof DfsError, `not a DfsError: ${String(err)}`);
    assert.equal(err.code, code);
    if (pattern) assert.match(err.message, pattern);
    return true;
  });
}

describe("DfsClient", () => {
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(running.splice(0).map((node) => node.stop()));
  });

  test("remembers the leader after a redirect", async () => {
    const leader = await fake({ put: () => ({ value: { version: 1, index: 5 } }) });
    const follower = await fake({ put: () => notLeader(leader.address) });
    const c = client([follower.address]);
    assert.deepEqual(await c.put("a", Buffer.from("1")), { version: 1, index: 5 });
    await c.put("b", Buffer.from("2"));
    await c.put("c", Buffer.from("3"));
    assert.equal(follower.calls.length, 1);
    assert.equal(leader.calls.length, 3);
  });

  test("ping-pong hints end in unavailable at the deadline, with backoff", async () => {
    let bAddress = "";
    const a = await fake({ get: () => notLeader(bAddress) });
    const b = await fake({ get: () => notLeader(a.address) });
    bAddress = b.address;
    const started = Date.now();
    await rejectsWith(client([a.address], 1_000).get("k"), "unavailable", /leader 127\.0\.0\.1/);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 900 && elapsed < 3_000, `elapsed ${elapsed} ms`);
    assert.ok(a.calls.length + b.calls.length < 40, `${a.calls.length + b.calls.length} calls`);
  });

  test("a node that never answers costs one attempt deadline, then the next is tried", async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket)); // accepts TCP, never speaks HTTP/2
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const port = (silent.address() as { port: number }).port;
    const leader = await fake({ delete: () => ({ value: { index: 3 } }) });
    try {
      const c = client([`127.0.0.1:${port}`, leader.address], 5_000);
      const started = Date.now();
      assert.deepEqual(await c.delete("k"), { index: 3 });
      assert.ok(Date.now() - started < 4_000, "attempt deadline bounded the silent node");
    } finally {
      for (const socket of sockets) socket.destroy(); // open sockets would keep the test alive
      silent.close();
    }
  });

  test("definite errors are not retried", async () => {
    const node = await fake({
      get: () => ({
        fail: { status: status.NOT_FOUND, code: "not_found", message: "no such key" },
      }),
    });
    await rejectsWith(client([node.address]).get("k"), "not_found", /^no such key$/);
    assert.equal(node.calls.length, 1);
  });

  test("bad keys and values fail before anything is sent", async () => {
    const node = await fake({ put: () => ({ value: { version: 1, index: 1 } }) });
    const c = client([node.address]);
    await rejectsWith(c.put("a//b", Buffer.from("x")), "invalid_argument", /empty path segment/);
    await rejectsWith(c.put("k", new Uint8Array(1024 * 1024 + 1)), "too_large");
    assert.equal(node.calls.length, 0);
  });

  test("a full 1 MiB value fits through the channel", async () => {
    const node = await fake({
      put: (request) => ({ value: { version: request.value.length, index: 1 } }),
    });
    const result = await client([node.address]).put("k", new Uint8Array(1024 * 1024));
    assert.equal(result.version, 1024 * 1024);
  });

  test("rejects malformed endpoints and timeouts up front", () => {
    assert.throws(() => new DfsClient({ endpoints: [] }), /no endpoints/);
    assert.throws(() => new DfsClient({ endpoints: ["nohost"] }), /bad endpoint/);
    assert.throws(() => new DfsClient({ endpoints: ["h:1"], timeoutMs: 0 }), /timeout/);
  });

  test("operations on a closed client fail", async () => {
    const c = client(["127.0.0.1:1"]);
    c.close();
    await rejectsWith(c.get("k"), "internal", /closed/);
  });
});

describe("Backoff", () => {
  test("grows from 25 ms to a 500 ms cap with half of each wait random", () => {
    const low = new Backoff(() => 0);
    const high = new Backoff(() => 0.999999);
    const lows = Array.from({ length: 7 }, () => low.next());
    const highs = Array.from({ length: 7 }, () => high.next());
    assert.deepEqual(lows, [12.5, 25, 50, 100, 200, 250, 250]);
    highs.forEach((value, i) => {
      assert.ok(Math.abs(value - 2 * (lows[i] ?? 0)) < 0.01, `step ${i}: ${value}`);
    });
  });
});
