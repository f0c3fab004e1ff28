/**
 * `npm run bench -- --tls`: what transport security costs, for dfs and for etcd alike.
 * One run starts four fresh 3-node clusters per round (dfs, dfs with mutual TLS on both
 * ports, etcd, etcd with TLS on client and peer URLs, all with client certificates from
 * the same `dfs certs init` generator) and runs each workload on all four, interleaved as
 * in the plain comparison. The report has one table per system: TLS against plain.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeClusterCerts } from "../../src/cli/certs-command.ts";
import type { EtcdBinary } from "../etcd/etcd-install.ts";
import { type CompareFlags, roundsTimingOf } from "./compare-flags.ts";
import {
  type Comparison,
  formatClientCpu,
  formatWorkloadTable,
  markdownTable,
} from "./compare-report.ts";
import type { CompareWorkload } from "./compare-workloads.ts";
import { type ClientTimeouts, dfsDriver, etcdDriver } from "./drivers.ts";
import { runRounds } from "./rounds.ts";

/** The two pairs of the TLS report: [with TLS, without]. */
export const TLS_PAIRS: readonly (readonly [string, string])[] = [
  ["dfs-tls", "dfs"],
  ["etcd-tls", "etcd"],
];

/** Runs the TLS comparison; returns one {@link Comparison} per pair (no failover). */
export async function runTlsComparison(
  flags: CompareFlags,
  workloads: readonly CompareWorkload[],
  etcd: EtcdBinary,
  timeouts: ClientTimeouts,
  meta: Readonly<Record<string, string | number>>,
  log: (line: string) => void,
): Promise<Comparison[]> {
  const certsRoot = await mkdtemp(join(tmpdir(), "dfs-bench-certs-"));
  try {
    const certs = join(certsRoot, "certs");
    await writeClusterCerts(certs, 3);
    const drivers = [
      dfsDriver(timeouts),
      dfsDriver(timeouts, certs),
      etcdDriver(etcd, timeouts),
      etcdDriver(etcd, timeouts, certs),
    ];
    const rounds = await runRounds(drivers, workloads, roundsTimingOf(flags), log);
    return TLS_PAIRS.map((systems) => ({
      systems,
      meta: {
        ...meta,
        tls: "mutual TLS (ECDSA P-256 certificates from `dfs certs init`) on client and peer ports",
      },
      workloads: rounds.workloads,
      failover: {},
      rss: rounds.rss,
    }));
  } finally {
    await rm(certsRoot, { recursive: true, force: true });
  }
}

/** The Markdown report: shared facts, then per system the TLS/plain table. */
export function formatTlsComparison(comparisons: readonly Comparison[]): string {
  const first = comparisons[0];
  if (first === undefined) return "";
  const meta = Object.entries(first.meta)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
  return [
    "# TLS against plain text, dfs and etcd",
    meta,
    ...comparisons.flatMap((c) => [
      `## ${c.systems[0]} vs ${c.systems[1]} (medians over runs)`,
      formatWorkloadTable(c),
    ]),
    "## Memory",
    formatSystemRss(first),
    "## CPU outside the servers (% of one core)",
    ...comparisons.map(formatClientCpu),
  ].join("\n\n");
}

/** Memory of every server process of every system (names repeat across systems). */
function formatSystemRss(c: Comparison): string {
  const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(0);
  const rows = Object.entries(c.rss).flatMap(([system, nodes]) =>
    nodes.map((r) => [system, r.node, mib(r.idle), mib(r.loaded)]),
  );
  return markdownTable(["system", "node", "RSS idle MiB", "RSS after workloads MiB"], rows, [
    false,
    false,
    true,
    true,
  ]);
}
