/**
 * The CLI (and the client library under it) against scripted fake nodes: redirects are
 * followed, bytes come out exactly, and each typed server error becomes its exit code.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import type { DfsErrorCode } from "../../../src/api/errors.ts";
import type { PutRequest } from "../../../src/gen/dfs.ts";
import { type FakeNode, fakeStatus, notLeader, startFakeNode } from "./fake-node.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

/** Bytes that text handling would damage: NUL, invalid UTF-8, CR LF, trailing newline. */
const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0x80, 10]);

const running: FakeNode[] = [];
async function fake(behavior: Parameters<typeof startFakeNode>[0]): Promise<FakeNode> {
  const node = await startFakeNode(behavior);
  running.push(node);
  return node;
}

/** The request of the `index`-th call to `node`, which must exist. */
function putRequest(node: FakeNode, index: number): PutRequest {
  const call = node.calls[index];
  assert.ok(call, `no call #${index}`);
  return call.request as PutRequest;
}

function methods(node: FakeNode): string[] {
  return node.calls.map((call) => call.method);
}

function failing(statusCode: status, code: DfsErrorCode | undefined, message: string) {
  return () => ({ fail: { status: statusCode, message, ...(code ? { code } : {}) } });
}

describe("dfs against fake nodes", () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((node) => node.stop()));
  });

  test("get follows a NOT_LEADER hint and writes the exact bytes", async () => {
    const leader = await fake({
      get: () => ({ value: { value: BINARY, version: 3, modIndex: 9 } }),
    });
    const follower = await fake({ get: () => notLeader(leader.address) });
    const run = await runDfs(["get", "k", "--endpoints", follower.address]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.stdout, BINARY);
    assert.equal(run.stderr, "");
    assert.deepEqual(methods(follower), ["download"]);
    assert.deepEqual(methods(leader), ["download"]);
  });

  test("not_leader without a hint moves on to the next endpoint", async () => {
    const lost = await fake({ delete: () => notLeader() });
    const leader = await fake({ delete: () => ({ value: { index: 12 } }) });
    const run = await runDfs(["delete", "k", "--endpoints", `${lost.address},${leader.address}`]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.toString(), "ok index=12\n");
    assert.deepEqual(methods(lost), ["delete"]);
  });

  test("put streams stdin as raw bytes and prints version, index, size and SHA-256", async () => {
    const leader = await fake({ put: () => ({ value: { version: 2, index: 40 } }) });
    const run = await runDfs(["put", "photos/a.bin", "--endpoints", leader.address], {
      stdin: BINARY,
    });
    assert.equal(run.code, 0, run.stderr);
    const digest = createHash("sha256").update(BINARY).digest("hex");
    assert.equal(
      run.stdout.toString(),
      `ok version=2 index=40 size=${BINARY.length} sha256=${digest}\n`,
    );
    const request = putRequest(leader, 0);
    assert.equal(request.key, "photos/a.bin");
    assert.deepEqual(Buffer.from(request.value), BINARY);
  });

  test("put with a VALUE argument sends its UTF-8 bytes", async () => {
    const leader = await fake({ put: () => ({ value: { version: 1, index: 1 } }) });
    const run = await runDfs(["put", "k", "héllo", "--endpoints", leader.address]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(Buffer.from(putRequest(leader, 0).value).toString(), "héllo");
  });

  test("get -o writes the file atomically and leaves no temp file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "dfs-get-o-"));
    try {
      const leader = await fake({
        get: () => ({ value: { value: BINARY, version: 1, modIndex: 1 } }),
      });
      const run = await runDfs([
        "get",
        "k",
        "-o",
        join(dir, "out.bin"),
        "--endpoints",
        leader.address,
      ]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout.length, 0);
      assert.deepEqual(await readFile(join(dir, "out.bin")), BINARY);
      assert.deepEqual(await readdir(dir), ["out.bin"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("--consistency serializable reaches the server", async () => {
    const node = await fake({
      get: () => ({ value: { value: Buffer.from("x"), version: 1, modIndex: 1 } }),
    });
    const run = await runDfs([
      "get",
      "k",
      "--consistency",
      "serializable",
      "--endpoints",
      node.address,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(node.calls[0]?.request, { key: "k", serializable: true });
  });

  const typedErrors: Array<[status, DfsErrorCode, number, RegExp]> = [
    [status.NOT_FOUND, "not_found", 1, /^dfs: error: key k not found$/],
    [status.INVALID_ARGUMENT, "invalid_argument", 2, /^dfs: error: key k not found$/],
    [status.FAILED_PRECONDITION, "precondition_failed", 4, /^dfs: error: key k not found$/],
    [status.RESOURCE_EXHAUSTED, "too_large", 5, /^dfs: error: key k not found$/],
    [status.RESOURCE_EXHAUSTED, "resource_exhausted", 11, /^dfs: error: key k not found$/],
    [status.INTERNAL, "internal", 10, /^dfs: internal error: key k not found$/],
  ];
  for (const [statusCode, code, exit, line] of typedErrors) {
    test(`server error ${code} is exit ${exit}, asked once`, async () => {
      const node = await fake({ get: failing(statusCode, code, "key k\nnot found") });
      assertOneLineError(await runDfs(["get", "k", "--endpoints", node.address]), exit, line);
      assert.deepEqual(methods(node), ["download"]);
    });
  }

  test("without a dfs-error trailer the gRPC status decides", async () => {
    const node = await fake({ delete: failing(status.NOT_FOUND, undefined, "gone") });
    assertOneLineError(
      await runDfs(["delete", "k", "--endpoints", node.address]),
      1,
      /^dfs: error: gone$/,
    );
  });

  test("unavailable (no quorum) everywhere is retried until the deadline, then exit 3", async () => {
    const noQuorum = failing(status.UNAVAILABLE, "unavailable", "no quorum");
    const a = await fake({ put: noQuorum });
    const b = await fake({ put: noQuorum });
    const endpoints = `${a.address},${b.address}`;
    const run = await runDfs(["put", "k", "v", "--endpoints", endpoints, "--timeout", "1000"]);
    assertOneLineError(
      run,
      3,
      /^dfs: error: put: no leader answered within 1000 ms; tried .*no quorum/,
    );
    assert.ok(a.calls.length >= 2 && b.calls.length >= 2, `${a.calls.length} / ${b.calls.length}`);
    assert.ok(a.calls.length + b.calls.length < 60, "backoff keeps retries bounded");
  });

  test("status prints one row per endpoint, reachable or not", async () => {
    const node = await fake({
      status: () => ({
        value: fakeStatus({
          id: 2,
          role: "leader",
          term: 7,
          leaderId: 2,
          commitIndex: 41,
          appliedIndex: 39,
          version: "9.8.7",
          health: "ok",
        }),
      }),
    });
    const old = await fake({ status: () => ({ value: fakeStatus({ id: 3 }) }) });
    const endpoints = `${node.address},${old.address},127.0.0.1:1`;
    const run = await runDfs(["status", "--endpoints", endpoints]);
    assert.equal(run.code, 0, run.stderr);
    const [header, up, older, down] = run.stdout.toString().trim().split("\n");
    assert.match(
      header ?? "",
      /^ID\s+ADDRESS\s+ROLE\s+TERM\s+LEADER\s+COMMIT\s+APPLIED\s+LAST\s+LAG\s+VERSION\s+HEALTH$/,
    );
    assert.match(
      up ?? "",
      new RegExp(
        `^2\\s+${node.address}\\s+leader\\s+7\\s+2\\s+41\\s+39\\s+0\\s+2\\s+9\\.8\\.7\\s+ok$`,
      ),
    );
    // A node that predates the version and health fields answers "": shown as "-". Its
    // LAG is measured against the highest commit any node reports (41).
    assert.match(older ?? "", new RegExp(`^3\\s+${old.address}\\s+.*\\s+0\\s+41\\s+-\\s+-$`));
    assert.match(down ?? "", /^-\s+127\.0\.0\.1:1\s+unreachable: .*ECONNREFUSED/);
  });

  test("status prints refused peer messages below the table, only non-zero ones", async () => {
    const droppedPeerMessages = [
      { reason: "not_authorized", count: 0 },
      { reason: "not_member", count: 3 },
      { reason: "snapshot_not_from_leader", count: 1 },
    ];
    const node = await fake({
      status: () => ({ value: fakeStatus({ id: 2, droppedPeerMessages }) }),
    });
    const quiet = await fake({ status: () => ({ value: fakeStatus({ id: 3 }) }) });
    const run = await runDfs(["status", "--endpoints", `${node.address},${quiet.address}`]);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.toString().trim().split("\n");
    // Header, two nodes, the refusals; then the members section (unknown to fake nodes).
    assert.equal(lines.length, 5, run.stdout.toString());
    assert.equal(
      lines[3],
      "node 2 refused peer messages: not_member 3, snapshot_not_from_leader 1",
    );
    assert.match(lines[4] ?? "", /^members: unknown \(/);
  });

  test("status --json is machine-readable", async () => {
    const node = await fake({ status: () => ({ value: fakeStatus({ id: 3, term: 4 }) }) });
    const run = await runDfs(["status", "--json", "--endpoints", `${node.address},127.0.0.1:1`]);
    assert.equal(run.code, 0, run.stderr);
    const rows = JSON.parse(run.stdout.toString());
    assert.equal(rows.length, 2);
    assert.deepEqual([rows[0].reachable, rows[0].status.id, rows[0].status.term], [true, 3, 4]);
    assert.deepEqual([rows[1].reachable, rows[1].error.code], [false, "unavailable"]);
  });
});
