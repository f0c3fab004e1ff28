/** The comparison table and ratios of `npm run bench`. */
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
} from "../lib/compare-report.ts";

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
