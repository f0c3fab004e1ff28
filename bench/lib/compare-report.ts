/**
 * The comparison's results and their one table: per workload the median over runs of
 * each system's throughput, latency and server CPU per operation, and the ratio of the
 * subject (dfs) to the baseline (etcd); then failover times and memory. Pure, so the
 * formatting is unit-tested; the JSON written next to the table is this structure.
 */
import { fixed, median } from "../../src/loadgen/index.ts";

/** What one measured run of one workload on one system produced. */
export interface RunSample {
  readonly opsPerSec: number;
  readonly mbPerSec: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** CPU of all server processes together during the window, per operation. */
  readonly serverCpuMsPerOp: number;
  /** CPU of the load generator (this process) during the window, as % of one core. */
  readonly clientCpuPercent: number;
  /**
   * CPU of everything else on the machine during the window (other processes, the idle
   * cluster of the other system, the kernel), as % of one core: the noise to judge by.
   */
  readonly otherCpuPercent: number;
  readonly ops: number;
  readonly errors: number;
}

/** Every run of one workload, per system name. */
export interface WorkloadRuns {
  readonly id: string;
  readonly label: string;
  /** Bytes per value; MB/s is shown for values of 4 KiB and more. */
  readonly valueSize: number;
  readonly runs: Readonly<Record<string, readonly RunSample[]>>;
}

/** Resident memory of one server process, in bytes (medians over rounds). */
export interface RssRow {
  readonly node: string;
  /** Right after the cluster started. */
  readonly idle: number;
  /** After the round's workloads. */
  readonly loaded: number;
}

/** Everything one comparison measured. */
export interface Comparison {
  /** [subject, baseline]: ratios are subject / baseline. */
  readonly systems: readonly [string, string];
  /** Free-form facts about the run (machine, versions, flags). */
  readonly meta: Readonly<Record<string, string | number>>;
  readonly workloads: readonly WorkloadRuns[];
  /** Failover times in ms, per system, one per run. */
  readonly failover: Readonly<Record<string, readonly number[]>>;
  readonly rss: Readonly<Record<string, readonly RssRow[]>>;
}

/** Median of one field over runs. */
export function medianOf(samples: readonly RunSample[], field: keyof RunSample): number {
  return median(samples.map((s) => s[field]));
}

/** `a / b` with two decimals, or "-" when either side is missing or b is 0. */
export function formatRatio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? `${(a / b).toFixed(2)}×` : "-";
}

/** Throughput cell: ops/s, with MB/s for large values. */
function throughputCell(samples: readonly RunSample[], valueSize: number): string {
  const ops = medianOf(samples, "opsPerSec");
  const digits = ops < 100 ? 1 : 0;
  if (valueSize < 4096) return fixed(ops, digits);
  return `${fixed(ops, digits)} (${fixed(medianOf(samples, "mbPerSec"), 1)} MB/s)`;
}

function latencyCell(samples: readonly RunSample[]): string {
  return `${fixed(medianOf(samples, "p50"), 2)} / ${fixed(medianOf(samples, "p99"), 1)}`;
}

function errorsOf(samples: readonly RunSample[]): number {
  return samples.reduce((sum, s) => sum + s.errors, 0);
}

/** The main table, one row per workload. */
export function formatWorkloadTable(c: Comparison): string {
  const [a, b] = c.systems;
  const header = [
    "workload",
    `${a} ops/s`,
    `${b} ops/s`,
    `${a}/${b}`,
    `${a} p50 / p99 ms`,
    `${b} p50 / p99 ms`,
    `${a} CPU ms/op`,
    `${b} CPU ms/op`,
    `${a}/${b} CPU`,
    `errors ${a}/${b}`,
  ];
  const rows = c.workloads.map((w) => {
    const sa = w.runs[a] ?? [];
    const sb = w.runs[b] ?? [];
    const cpuA = medianOf(sa, "serverCpuMsPerOp");
    const cpuB = medianOf(sb, "serverCpuMsPerOp");
    return [
      w.label,
      throughputCell(sa, w.valueSize),
      throughputCell(sb, w.valueSize),
      formatRatio(medianOf(sa, "opsPerSec"), medianOf(sb, "opsPerSec")),
      latencyCell(sa),
      latencyCell(sb),
      fixed(cpuA, 3),
      fixed(cpuB, 3),
      formatRatio(cpuA, cpuB),
      `${errorsOf(sa)}/${errorsOf(sb)}`,
    ];
  });
  return markdownTable(header, rows, [false, ...header.slice(1).map(() => true)]);
}

/** Failover times: median and every run. */
export function formatFailover(c: Comparison): string {
  const [a, b] = c.systems;
  const rows = c.systems.map((system) => {
    const times = c.failover[system] ?? [];
    return [system, fixed(median([...times]), 0), times.map((t) => fixed(t, 0)).join(", ") || "-"];
  });
  const ratio = formatRatio(median([...(c.failover[a] ?? [])]), median([...(c.failover[b] ?? [])]));
  return `${markdownTable(["failover (kill -9 leader → next ack)", "median ms", "runs ms"], rows, [false, true, false])}\n${a}/${b}: ${ratio}\n`;
}

/** Memory of every server process. */
export function formatRss(c: Comparison): string {
  const mib = (bytes: number): string => fixed(bytes / (1024 * 1024), 0);
  const rows = c.systems.flatMap((system) =>
    (c.rss[system] ?? []).map((r) => [r.node, mib(r.idle), mib(r.loaded)]),
  );
  return markdownTable(["node", "RSS idle MiB", "RSS after workloads MiB"], rows, [
    false,
    true,
    true,
  ]);
}

/**
 * CPU outside the servers per workload: the load generator (near 100% means the client,
 * not the server, was the limit) and everything else on the machine (noise).
 */
export function formatClientCpu(c: Comparison): string {
  const rows = c.workloads.map((w) => [
    w.label,
    ...c.systems.map((s) => fixed(medianOf(w.runs[s] ?? [], "clientCpuPercent"), 0)),
    ...c.systems.map((s) => fixed(medianOf(w.runs[s] ?? [], "otherCpuPercent"), 0)),
  ]);
  const header = [
    "workload",
    ...c.systems.map((s) => `load generator CPU % (${s})`),
    ...c.systems.map((s) => `other CPU % (${s})`),
  ];
  return markdownTable(header, rows, [false, ...header.slice(1).map(() => true)]);
}

/** The whole Markdown report. */
export function formatComparison(c: Comparison): string {
  const meta = Object.entries(c.meta)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
  return [
    `# ${c.systems[0]} vs ${c.systems[1]}`,
    meta,
    "## Throughput, latency and server CPU (medians over runs)",
    formatWorkloadTable(c),
    "## Failover",
    formatFailover(c),
    "## Memory",
    formatRss(c),
    "## CPU outside the servers (% of one core)",
    formatClientCpu(c),
  ].join("\n\n");
}

/** A Markdown table with columns padded to equal width; `right[i]` right-aligns column i. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const pad = (cell: string, i: number): string =>
    right[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0);
  const line = (cells: readonly string[]): string =>
    `| ${header.map((_, i) => pad(cells[i] ?? "", i)).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (right[i] ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(header), rule, ...rows.map(line)].join("\n");
}
