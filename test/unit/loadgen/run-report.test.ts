/** Sizes on the command line and the single-run report of `dfs bench`. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  describeSpec,
  formatRunReport,
  formatSize,
  type LoadResult,
  type LoadSpec,
  parseSize,
} from "../../../src/loadgen/index.ts";

describe("sizes", () => {
  test("parse plain bytes and binary units, case-insensitively", () => {
    assert.equal(parseSize("256"), 256);
    assert.equal(parseSize("4KiB"), 4096);
    assert.equal(parseSize("4k"), 4096);
    assert.equal(parseSize("1MiB"), 1024 * 1024);
    assert.equal(parseSize("1 mb"), 1024 * 1024);
    assert.equal(parseSize("0"), 0);
  });

  test("refuse anything else", () => {
    for (const bad of ["", "-1", "1.5k", "1e3", "4GiB", "k", "0x10"]) {
      assert.equal(parseSize(bad), undefined, bad);
    }
  });

  test("format to the largest exact unit", () => {
    assert.equal(formatSize(256), "256 B");
    assert.equal(formatSize(4096), "4 KiB");
    assert.equal(formatSize(1024 * 1024), "1 MiB");
    assert.equal(formatSize(1500), "1500 B");
  });
});

describe("formatRunReport", () => {
  const spec: LoadSpec = {
    workload: "get",
    concurrency: 64,
    valueSize: 256,
    keys: 1000,
    serializable: true,
    readPercent: 50,
    stop: { kind: "seconds", seconds: 10 },
    warmupMs: 1000,
  };
  const result: LoadResult = {
    ops: 50_000,
    errors: 3,
    notFound: 0,
    seconds: 10,
    opsPerSec: 5000,
    mbPerSec: 1.28,
    latency: { p50: 12.345, p90: 20, p99: 52.1, max: 300, mean: 13 },
    errorKinds: { "get: deadline exceeded": 3 },
  };

  test("describes the run and prints every figure the issue asks for", () => {
    assert.equal(
      describeSpec(spec),
      "get, 256 B values, 64 in flight, 1000 keys, serializable; 10 s after 1 s warm-up",
    );
    const text = formatRunReport(spec, result);
    assert.match(text, /50000 in 10\.00 s = 5000\.0 ops\/s/);
    assert.match(text, /1\.28 MB\/s/);
    assert.match(text, /p50 12\.35 {2}p90 20\.00 {2}p99 52\.10 {2}max 300\.00/);
    assert.match(text, /errors {6}3\n {2}3 x get: deadline exceeded\n$/);
  });
});
