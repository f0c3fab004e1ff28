/**
 * `npm run bench -- --metrics`: what metrics cost (issue 20 asks for at most 3 %). Each
 * round starts, one after the other, two fresh 3-node dfs clusters: "dfs-metrics", whose
 * nodes run with `--http-port` (so the hot path keeps its metrics) while a scraper
 * fetches `/metrics` from every node once a second from a process of its own, as
 * Prometheus would; and "dfs", plain, without the listener (no metrics kept at all).
 * Each workload runs on both, which goes first alternating by round; the report compares
 * the medians.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { freePorts } from "../../src/cluster/index.ts";
import { type CompareFlags, roundsTimingOf } from "./compare-flags.ts";
import {
  type Comparison,
  formatClientCpu,
  formatWorkloadTable,
  type RunSample,
} from "./compare-report.ts";
import type { CompareWorkload } from "./compare-workloads.ts";
import { type ClientTimeouts, dfsDriver } from "./drivers.ts";
import { type RoundsResult, runRounds } from "./rounds.ts";
import type { SystemDriver } from "./system.ts";

/** How often the scraper asks every node, like a Prometheus scrape_interval of 1 s. */
export const SCRAPE_EVERY_MS = 1000;

/** What the scraper saw over a whole run. */
export interface ScrapeStats {
  scrapes: number;
  failures: number;
  totalMs: number;
  bytes: number;
}

/** Runs the comparison; one {@link Comparison} of ["dfs-metrics", "dfs"]. */
export async function runMetricsComparison(
  flags: CompareFlags,
  workloads: readonly CompareWorkload[],
  timeouts: ClientTimeouts,
  meta: Readonly<Record<string, string | number>>,
  log: (line: string) => void,
): Promise<Comparison> {
  const ports = await freePorts(3);
  const stats: ScrapeStats = { scrapes: 0, failures: 0, totalMs: 0, bytes: 0 };
  const metrics = dfsDriver(timeouts, undefined, undefined, {
    name: "dfs-metrics",
    description:
      "dfs 3 nodes with --http-port, /metrics of every node scraped once a second during the run",
    nodeArgs: (node) => ["--http-port", String(ports[node.id - 1])],
    attach: () => startScraper(ports, stats),
  });
  const rounds = await oneClusterAtATime([metrics, dfsDriver(timeouts)], workloads, flags, log);
  const mean = stats.scrapes === 0 ? 0 : stats.totalMs / stats.scrapes;
  return {
    systems: ["dfs-metrics", "dfs"],
    meta: {
      ...meta,
      scraping: `every ${SCRAPE_EVERY_MS} ms, all 3 nodes: ${stats.scrapes} scrapes, ${stats.failures} failed, mean ${mean.toFixed(2)} ms and ${Math.round(stats.bytes / Math.max(1, stats.scrapes))} bytes each`,
    },
    workloads: rounds.workloads,
    failover: {},
    rss: rounds.rss,
  };
}

/**
 * Runs the rounds with one cluster alive at a time, alternating which system goes first:
 * with both alive (as the other comparisons run them), the scraper would keep scraping
 * the idle dfs-metrics cluster while the plain one is measured, charging the plain run
 * with part of the cost being measured.
 */
async function oneClusterAtATime(
  drivers: readonly [SystemDriver, SystemDriver],
  workloads: readonly CompareWorkload[],
  flags: CompareFlags,
  log: (line: string) => void,
): Promise<RoundsResult> {
  const timing = { ...roundsTimingOf(flags), runs: 1 };
  const results: RoundsResult[] = [];
  for (let round = 0; round < flags.runs; round++) {
    const order = round % 2 === 0 ? drivers : ([drivers[1], drivers[0]] as const);
    for (const driver of order) {
      log(`round ${round + 1}/${flags.runs}: ${driver.name}`);
      results.push(await runRounds([driver], workloads, timing, log));
    }
  }
  return {
    workloads: workloads.map((w) => {
      const runs: Record<string, RunSample[]> = {};
      for (const r of results) {
        for (const [name, samples] of Object.entries(
          r.workloads.find((x) => x.id === w.id)?.runs ?? {},
        )) {
          runs[name] = [...(runs[name] ?? []), ...samples];
        }
      }
      return { id: w.id, label: w.label, valueSize: w.valueSize, runs };
    }),
    rss: Object.assign({}, ...results.map((r) => r.rss)),
  };
}

/**
 * Scrapes every port once a second until stopped, from a process of its own (as a
 * Prometheus server would be): run inside the load generator, its fetches and parsing
 * would share the client's event loop and slow the load itself, charging the servers
 * with a cost of the harness. Each scrape is reported as one line, counted into `stats`.
 */
function startScraper(ports: readonly number[], stats: ScrapeStats): () => void {
  const child = spawn(
    process.execPath,
    ["-e", SCRAPER, String(SCRAPE_EVERY_MS), ...ports.map(String)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  createInterface({ input: child.stdout }).on("line", (line) => {
    const [kind, ms, bytes] = line.split(" ");
    if (kind !== "ok") {
      stats.failures++;
      return;
    }
    stats.scrapes++;
    stats.totalMs += Number(ms);
    stats.bytes += Number(bytes);
  });
  return () => child.kill("SIGTERM");
}

/** The scraper process: argv = interval ms, then ports; prints "ok MS BYTES" or "fail". */
const SCRAPER = `
const [every, ...ports] = process.argv.slice(1).map(Number);
setInterval(() => {
  for (const port of ports) {
    const started = performance.now();
    fetch("http://127.0.0.1:" + port + "/metrics")
      .then(async (res) => {
        const text = await res.text();
        if (!res.ok) throw new Error(String(res.status));
        console.log("ok " + (performance.now() - started).toFixed(3) + " " + text.length);
      })
      .catch(() => console.log("fail"));
  }
}, every);
`;

/** The Markdown report: facts, then the dfs-metrics/dfs table. */
export function formatMetricsComparison(c: Comparison): string {
  const meta = Object.entries(c.meta)
    .map(([k, v]) => `- ${k}: ${v}`)
    .join("\n");
  return [
    "# Metrics on and scraped against metrics off, dfs",
    meta,
    "## dfs-metrics vs dfs (medians over runs)",
    formatWorkloadTable(c),
    "## CPU outside the servers (% of one core)",
    formatClientCpu(c),
  ].join("\n\n");
}
