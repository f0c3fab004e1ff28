/**
 * `dfs bench` as users run it: against a scripted fake node (no cluster), and its
 * usage errors. Short windows, so the whole file takes a few seconds.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type FakeNode, startFakeNode } from "./fake-node.ts";
import { assertOneLineError, runDfs } from "./run-dfs.ts";

describe("dfs bench against a fake node", () => {
  let node: FakeNode;
  const stored = new Map<string, Buffer>();

  before(async () => {
    node = await startFakeNode({
      put: (r) => {
        stored.set(r.key, r.value);
        return { value: { version: 1, index: stored.size } };
      },
      get: (r) => {
        const value = stored.get(r.key);
        if (value === undefined) {
          return { fail: { status: 5, message: "no such key", code: "not_found" } };
        }
        return { value: { value, version: 1, modIndex: 1, metadata: {} } };
      },
    });
  });
  after(() => node.stop());

  test("put prints throughput, latency percentiles and errors", async () => {
    const run = await runDfs([
      "bench",
      "--endpoints",
      node.address,
      "--ops",
      "200",
      "--conc",
      "4",
      "--size",
      "1KiB",
      "--warmup",
      "0",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const text = run.stdout.toString();
    assert.match(text, /put, 1 KiB values, 4 in flight, 1000 keys; 200 operations/);
    assert.match(text, /ops {9}200 in [0-9.]+ s = [0-9.]+ ops\/s/);
    assert.match(text, /latency ms {2}p50 [0-9.]+ {2}p90 [0-9.]+ {2}p99 [0-9.]+ {2}max [0-9.]+/);
    assert.match(text, /errors {6}0/);
  });

  test("--json prints one object with the spec and the result", async () => {
    const run = await runDfs([
      "bench",
      "--endpoints",
      node.address,
      "--workload",
      "get",
      "--consistency",
      "serializable",
      "--keys",
      "20",
      "--ops",
      "100",
      "--warmup",
      "0",
      "--json",
    ]);
    assert.equal(run.code, 0, run.stderr);
    const report = JSON.parse(run.stdout.toString()) as {
      spec: { workload: string; serializable: boolean };
      result: { ops: number; errors: number; notFound: number };
    };
    assert.equal(report.spec.workload, "get");
    assert.equal(report.spec.serializable, true);
    assert.equal(report.result.ops, 100);
    assert.equal(report.result.errors, 0);
    assert.equal(report.result.notFound, 0, "the prefill wrote every key first");
  });
});

describe("dfs bench usage", () => {
  test("rejects a value larger than a put can hold", async () => {
    assertOneLineError(await runDfs(["bench", "--size", "2MiB"]), 2, /--size '2MiB'/);
  });

  test("rejects --ops together with --seconds", async () => {
    assertOneLineError(
      await runDfs(["bench", "--ops", "5", "--seconds", "3"]),
      2,
      /cannot be used with/,
    );
  });

  test("rejects an unknown workload", async () => {
    assertOneLineError(await runDfs(["bench", "--workload", "scan"]), 2, /scan/);
  });

  test("exits 3 when every operation fails", async () => {
    const run = await runDfs([
      "bench",
      "--endpoints",
      "127.0.0.1:1",
      "--seconds",
      "0.3",
      "--warmup",
      "0",
      "--timeout",
      "100",
    ]);
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /^dfs: error: every operation failed/);
  });
});
