/**
 * `dfs verify` against a real 3-node cluster: a healthy cluster is proven linearizable
 * (exit 0, a verdict line, real work done); a cluster with no reachable node is
 * "unavailable" (exit 3), never a pass; bad flags are usage errors (exit 2).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { freePorts, LocalCluster } from "../../../src/cluster/index.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

describe("dfs verify", () => {
  let cluster: LocalCluster;

  before(async () => {
    cluster = await LocalCluster.start();
  });
  after(async () => {
    await cluster?.destroy();
  });

  test("a healthy cluster is linearizable: exit 0 and a verdict line", async () => {
    const endpoints = cluster.endpoints().join(",");
    const run = await runDfs(["verify", "--endpoints", endpoints, "--seconds", "3"], {
      killAfterMs: 60_000,
    });
    const out = run.stdout.toString();
    assert.equal(run.code, 0, `stdout:\n${out}\nstderr:\n${run.stderr}`);
    assert.match(out, /^verdict: linearizable/m);
    const ops = /^ops: (\d+) \((\d+) definite, (\d+) indeterminate\)$/m.exec(out);
    assert.ok(ops, `no ops line in:\n${out}`);
    assert.ok(Number(ops[2]) >= 30, `only ${ops[2]} definite ops in 3 s:\n${out}`);
    assert.match(out, /^throughput: \d+ ops\/s/m);
    assert.equal(run.stderr, "");
  });

  test("--json reports the same figures as JSON, and the run's keys are cleaned up", async () => {
    const endpoints = cluster.endpoints().join(",");
    const run = await runDfs(
      ["verify", "--endpoints", endpoints, "--seconds", "2", "--workers", "4", "--json"],
      { killAfterMs: 60_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout.toString()) as {
      workers: number;
      ops: { definite: number };
      readBack: { keys: number; unread: number };
      result: { verdict: string };
      runId: string;
    };
    assert.equal(report.workers, 4);
    assert.equal(report.result.verdict, "linearizable");
    assert.ok(report.ops.definite > 0);
    assert.ok(report.readBack.keys > 0);
    assert.equal(report.readBack.unread, 0);
    const client = cluster.client();
    try {
      const leftover = `dfs-verify/${report.runId}/e0/k0`;
      await assert.rejects(client.get(leftover), { code: "not_found" });
    } finally {
      client.close();
    }
  });

  test("no reachable node: exit 3 (unavailable), not a pass", async () => {
    const [port] = await freePorts(1);
    const run = await runDfs(
      ["verify", "--endpoints", `127.0.0.1:${port}`, "--seconds", "1", "--timeout", "300"],
      { killAfterMs: 60_000 },
    );
    assert.equal(run.code, 3, `stdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
    assert.match(run.stderr, /^dfs: error: cluster unavailable: only 0 operations/);
  });

  test("bad flags are usage errors", async () => {
    assertOneLineError(await runDfs(["verify", "--seconds", "0"]), 2, /--seconds '0'/);
    assertOneLineError(await runDfs(["verify", "--workers", "x"]), 2, /--workers 'x'/);
  });
});
