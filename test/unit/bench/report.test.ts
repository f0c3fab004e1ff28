/** The comparison table, ratios, sizes and the single-run report. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type Comparison,
  formatComparison,
  formatFailover,
  formatRatio,
  formatWorkloadTable,
  markdownTable,
  type RunSample,
} from "../../../bench/lib/compare-report.ts";
import type { LoadResult, LoadSpec } from "../../../bench/lib/loadgen.ts";
import { describeSpec, formatRunReport } from "../../../bench/lib/run-report.ts";
import { formatSize, parseSize } from "../../../bench/lib/size.ts";

function sample(opsPerSec: number, cpu: number, extra: Partial<RunSample> = {}): RunSample {
  return {
    opsPerSec,
    mbPerSec: (opsPerSec * 4096) / 1e6,
    p50: 1000 / opsPerSec,
    p99: 10_000 / opsPerSec,
    max: 20_000 / opsPerSec,
    serverCpuMsPerOp: cpu,
    clientCpuPercent: 30,
    otherCpuPercent: 5,
    ops: opsPerSec * 5,
    errors: 0,
    ...extra,
  };
}

const COMPARISON: Comparison = {
  systems: ["dfs", "etcd"],
  meta: { cpu: "2 × test", rounds: 3 },
  workloads: [
    {
      id: "put-256B-c1",
      label: "put 256 B × 1",
      valueSize: 256,
      runs: {
        dfs: [sample(100, 2), sample(300, 9), sample(200, 4)],
        etcd: [sample(400, 1), sample(500, 1), sample(450, 1)],
      },
    },
    {
      id: "put-4KiB-c16",
      label: "put 4 KiB × 16",
      valueSize: 4096,
      runs: {
        dfs: [sample(1000, 0.5, { errors: 2 })],
        etcd: [sample(500, 1)],
      },
    },
  ],
  failover: { dfs: [1500, 1400, 1900], etcd: [1300, 1250, 1200] },
  rss: {
    dfs: [{ node: "dfs1", idle: 100 * 2 ** 20, loaded: 300 * 2 ** 20 }],
    etcd: [{ node: "m1", idle: 28 * 2 ** 20, loaded: 200 * 2 ** 20 }],
  },
};

describe("formatRatio", () => {
  test("divides with two decimals and refuses missing data", () => {
    assert.equal(formatRatio(200, 450), "0.44×");
    assert.equal(formatRatio(3, 1), "3.00×");
    assert.equal(formatRatio(1, 0), "-");
    assert.equal(formatRatio(Number.NaN, 1), "-");
  });
});

describe("formatWorkloadTable", () => {
  const lines = formatWorkloadTable(COMPARISON).split("\n");

  test("has a header, an alignment rule and one row per workload, all equally wide", () => {
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? "", /^\| workload +\| +dfs ops\/s \| +etcd ops\/s \| dfs\/etcd \|/);
    assert.match(lines[1] ?? "", /^\|-+\|-+:\|/);
    const widths = new Set(lines.map((l) => l.length));
    assert.equal(widths.size, 1, lines.join("\n"));
  });

  test("shows medians over runs and the ratio of the medians", () => {
    const cells = (lines[2] ?? "").split("|").map((c) => c.trim());
    // workload, dfs ops, etcd ops, ratio, dfs lat, etcd lat, dfs cpu, etcd cpu, cpu ratio, errors
    assert.deepEqual(cells.slice(1, 11), [
      "put 256 B × 1",
      "200",
      "450",
      "0.44×",
      "5.00 / 50.0",
      "2.22 / 22.2",
      "4.000",
      "1.000",
      "4.00×",
      "0/0",
    ]);
  });

  test("adds MB/s for large values and sums errors", () => {
    const cells = (lines[3] ?? "").split("|").map((c) => c.trim());
    assert.equal(cells[2], "1000 (4.1 MB/s)");
    assert.equal(cells[4], "2.00×");
    assert.equal(cells[10], "2/0");
  });
});

describe("formatFailover and formatComparison", () => {
  test("failover lists medians, every run and the ratio", () => {
    const text = formatFailover(COMPARISON);
    assert.match(text, /\| dfs +\| +1500 \| 1500, 1400, 1900 +\|/);
    assert.match(text, /\| etcd +\| +1250 \| 1300, 1250, 1200 +\|/);
    assert.match(text, /dfs\/etcd: 1\.20×/);
  });

  test("the report has every section and the memory in MiB", () => {
    const text = formatComparison(COMPARISON);
    for (const heading of ["# dfs vs etcd", "## Failover", "## Memory", "## CPU outside"]) {
      assert.ok(text.includes(heading), heading);
    }
    assert.match(text, /\| dfs1 +\| +100 \| +300 \|/);
    assert.match(text, /- cpu: 2 × test/);
  });
});

describe("markdownTable", () => {
  test("pads cells and aligns numbers right", () => {
    const t = markdownTable(
      ["a", "n"],
      [
        ["xyz", "1"],
        ["q", "100"],
      ],
      [false, true],
    );
    assert.equal(t, "| a   |   n |\n|-----|----:|\n| xyz |   1 |\n| q   | 100 |");
  });
});

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
