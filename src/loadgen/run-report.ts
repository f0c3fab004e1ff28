/**
 * How one load-generator run is shown: a few aligned lines for people, or one JSON
 * object for machines (`dfs bench --json`).
 */
import type { LoadResult, LoadSpec } from "./loadgen.ts";
import { formatSize } from "./size.ts";

/** Formats a number with `digits` decimals, or "-" when it is not finite. */
export function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "-";
}

/** One line describing what was run. */
export function describeSpec(spec: LoadSpec): string {
  const what =
    spec.workload === "mixed"
      ? `mixed (${spec.readPercent}% get)`
      : spec.workload === "delete"
        ? "delete"
        : spec.workload;
  const reads = spec.workload === "get" || spec.workload === "mixed";
  const consistency = reads ? (spec.serializable ? ", serializable" : ", linearizable") : "";
  const window =
    spec.stop.kind === "seconds" ? `${spec.stop.seconds} s` : `${spec.stop.ops} operations`;
  return (
    `${what}, ${formatSize(spec.valueSize)} values, ${spec.concurrency} in flight, ` +
    `${spec.keys} keys${consistency}; ${window} after ${spec.warmupMs / 1000} s warm-up`
  );
}

/** The human report of one run. */
export function formatRunReport(spec: LoadSpec, result: LoadResult): string {
  const l = result.latency;
  const lines = [
    `workload    ${describeSpec(spec)}`,
    `ops         ${result.ops} in ${fixed(result.seconds, 2)} s = ${fixed(result.opsPerSec, 1)} ops/s`,
    `throughput  ${fixed(result.mbPerSec, 2)} MB/s`,
    `latency ms  p50 ${fixed(l.p50, 2)}  p90 ${fixed(l.p90, 2)}  p99 ${fixed(l.p99, 2)}  max ${fixed(l.max, 2)}  mean ${fixed(l.mean, 2)}`,
    `errors      ${result.errors}${result.notFound > 0 ? `  (not found: ${result.notFound}, counted as ops)` : ""}`,
  ];
  for (const [message, count] of Object.entries(result.errorKinds)) {
    lines.push(`  ${count} x ${message}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The machine report of one run: the spec and the result, numbers unrounded. */
export function formatRunJson(spec: LoadSpec, result: LoadResult): string {
  return `${JSON.stringify({ spec, result })}\n`;
}
