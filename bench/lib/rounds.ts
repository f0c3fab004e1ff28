/**
 * The interleaved rounds of the comparison. Every round starts a fresh cluster of each
 * system (so no round inherits another's data), then runs each workload on every system
 * back to back, alternating which system goes first from one workload and round to the
 * next, so slow drift of the machine (thermal, page cache, neighbours) hits both alike.
 */

import type { KvTarget } from "../../src/loadgen/index.ts";
import { fixed, median, prefill, runLoad } from "../../src/loadgen/index.ts";
import type { RssRow, RunSample, WorkloadRuns } from "./compare-report.ts";
import {
  type CompareWorkload,
  FILL_VALUE_SIZE,
  measureWorkload,
  type RunTiming,
} from "./compare-workloads.ts";
import { rssOf } from "./proc-stat.ts";
import type { SystemCluster, SystemDriver } from "./system.ts";

/** Settings of {@link runRounds}. */
export interface RoundsTiming extends RunTiming {
  readonly runs: number;
  /**
   * Unmeasured mixed load on each fresh cluster before its first window, so the first
   * workload measures servers and load generator in their steady state rather than
   * V8 still compiling the hot paths of freshly started processes (Go needs no warm-up,
   * but gets the same load).
   */
  readonly clusterWarmupMs: number;
}

/** Raw samples per workload and medians of memory per node. */
export interface RoundsResult {
  readonly workloads: WorkloadRuns[];
  readonly rss: Record<string, RssRow[]>;
}

/** Concurrency of the fill that writes every key before the get workloads. */
const FILL_CONCURRENCY = 64;

interface Running {
  readonly driver: SystemDriver;
  readonly cluster: SystemCluster;
  readonly target: KvTarget;
  /** The spread-reads target, made on the first spread workload. */
  spread?: KvTarget;
}

/** The target `w` runs on: the spread one for spread workloads when the system has one. */
async function targetFor(r: Running, w: CompareWorkload): Promise<KvTarget> {
  if (w.spread !== true || r.cluster.spreadTarget === undefined) return r.target;
  r.spread ??= await r.cluster.spreadTarget();
  return r.spread;
}

/** Runs `timing.runs` rounds of `workloads` on every driver's system. */
export async function runRounds(
  drivers: readonly SystemDriver[],
  workloads: readonly CompareWorkload[],
  timing: RoundsTiming,
  log: (line: string) => void,
): Promise<RoundsResult> {
  const samples = new Map<string, Map<string, RunSample[]>>();
  const memory = new Map<string, { idle: number[]; loaded: number[] }>();
  const firstGet = workloads.findIndex((w) => w.workload === "get");
  for (let round = 0; round < timing.runs; round++) {
    log(`round ${round + 1}/${timing.runs}: starting fresh clusters`);
    const running = await startAll(drivers);
    try {
      recordRss(running, memory, "idle");
      for (const r of running) await warmUp(r.target, timing);
      for (const [i, w] of workloads.entries()) {
        if (i === firstGet) {
          for (const r of running) {
            await prefill(r.target, timing.keys, FILL_VALUE_SIZE, FILL_CONCURRENCY);
          }
        }
        const order = (round + i) % 2 === 0 ? running : [...running].reverse();
        for (const r of order) {
          const sample = await measureWorkload(r.cluster, await targetFor(r, w), w, timing);
          const bySystem = samples.get(w.id) ?? new Map<string, RunSample[]>();
          samples.set(w.id, bySystem);
          bySystem.set(r.driver.name, [...(bySystem.get(r.driver.name) ?? []), sample]);
          log(`  ${w.label.padEnd(26)} ${r.driver.name.padEnd(8)} ${describe(sample)}`);
        }
      }
      recordRss(running, memory, "loaded");
    } finally {
      await stopAll(running);
    }
  }
  return {
    workloads: workloads.map((w) => ({
      id: w.id,
      label: w.label,
      valueSize: w.valueSize,
      runs: Object.fromEntries(samples.get(w.id) ?? []),
    })),
    rss: rssMedians(drivers, memory),
  };
}

/** Concurrency of the warm-up load: enough to reach every path of a busy server quickly. */
const WARMUP_CONCURRENCY = 64;

async function warmUp(target: KvTarget, timing: RoundsTiming): Promise<void> {
  if (timing.clusterWarmupMs <= 0) return;
  await runLoad(target, {
    workload: "mixed",
    concurrency: WARMUP_CONCURRENCY,
    valueSize: FILL_VALUE_SIZE,
    keys: timing.keys,
    serializable: false,
    readPercent: 50,
    stop: { kind: "seconds", seconds: timing.clusterWarmupMs / 1000 },
    warmupMs: 0,
  });
}

function describe(s: RunSample): string {
  return (
    `${fixed(s.opsPerSec, 0).padStart(6)} ops/s  p50 ${fixed(s.p50, 2)} ms  p99 ${fixed(s.p99, 1)} ms  ` +
    `server CPU ${fixed(s.serverCpuMsPerOp, 3)} ms/op  client CPU ${fixed(s.clientCpuPercent, 0)}%  ` +
    `other CPU ${fixed(s.otherCpuPercent, 0)}%` +
    (s.errors > 0 ? `  errors ${s.errors}` : "")
  );
}

async function startAll(drivers: readonly SystemDriver[]): Promise<Running[]> {
  const running: Running[] = [];
  try {
    for (const driver of drivers) {
      const cluster = await driver.start();
      try {
        running.push({ driver, cluster, target: await cluster.target() });
      } catch (err) {
        await cluster.destroy();
        throw err;
      }
    }
    return running;
  } catch (err) {
    await stopAll(running);
    throw err;
  }
}

async function stopAll(running: readonly Running[]): Promise<void> {
  for (const r of running) {
    r.target.close();
    r.spread?.close();
    await r.cluster.destroy();
  }
}

function recordRss(
  running: readonly Running[],
  memory: Map<string, { idle: number[]; loaded: number[] }>,
  when: "idle" | "loaded",
): void {
  for (const r of running) {
    for (const p of r.cluster.processes()) {
      const key = `${r.driver.name}\u0000${p.name}`;
      const entry = memory.get(key) ?? { idle: [], loaded: [] };
      memory.set(key, entry);
      entry[when].push(rssOf(p.pid));
    }
  }
}

function rssMedians(
  drivers: readonly SystemDriver[],
  memory: Map<string, { idle: number[]; loaded: number[] }>,
): Record<string, RssRow[]> {
  const result: Record<string, RssRow[]> = {};
  for (const d of drivers) result[d.name] = [];
  for (const [key, entry] of memory) {
    const [system = "", node = ""] = key.split("\u0000");
    result[system]?.push({ node, idle: median(entry.idle), loaded: median(entry.loaded) });
  }
  return result;
}
