/**
 * The workloads of `npm run bench`, in the order each round runs them, and one measured
 * run of a workload with server CPU accounting around its window.
 */

import type { KvTarget } from "../../src/loadgen/index.ts";
import { type LoadSpec, runLoad, type Workload } from "../../src/loadgen/index.ts";
import type { RunSample } from "./compare-report.ts";
import { cpuMsOf, machineBusyMs } from "./proc-stat.ts";
import type { SystemCluster } from "./system.ts";

/** One row of the comparison table. */
export interface CompareWorkload {
  readonly id: string;
  readonly label: string;
  readonly workload: Workload;
  readonly concurrency: number;
  readonly valueSize: number;
  readonly serializable: boolean;
  /** Reads round-robin over every node ({@link SystemCluster.spreadTarget}), not the leader. */
  readonly spread?: boolean;
}

/**
 * The workloads. Gets come after a fill of every key with 256 B values; the
 * 1 MiB puts come last so the memory they leave behind weighs on no other workload.
 */
export const COMPARE_WORKLOADS: readonly CompareWorkload[] = [
  put("put-256B-c1", 256, 1),
  put("put-256B-c16", 256, 16),
  put("put-256B-c64", 256, 64),
  put("put-256B-c256", 256, 256),
  put("put-4KiB-c16", 4096, 16),
  get("get-linearizable-c64", false),
  get("get-serializable-c64", true),
  put("put-1MiB-c16", 1024 * 1024, 16),
];

/**
 * The workloads of the unary-client comparison (`npm run bench -- --unary`, issue 24):
 * one plain unary call per operation, as any gRPC program sends them.
 */
export const UNARY_WORKLOADS: readonly CompareWorkload[] = [
  put("put-256B-c1", 256, 1),
  put("put-256B-c64", 256, 64),
  put("put-256B-c256", 256, 256),
  get("get-linearizable-c64", false),
  get("get-linearizable-c64-spread", false, true),
  put("put-1MiB-c16", 1024 * 1024, 16),
];

/** Value size of the fill that precedes the first get workload. */
export const FILL_VALUE_SIZE = 256;

function put(id: string, valueSize: number, concurrency: number): CompareWorkload {
  const size = valueSize >= 1024 * 1024 ? "1 MiB" : valueSize >= 1024 ? "4 KiB" : "256 B";
  const label = `put ${size} × ${concurrency}`;
  return { id, label, workload: "put", concurrency, valueSize, serializable: false };
}

function get(id: string, serializable: boolean, spread = false): CompareWorkload {
  const label = `get ${serializable ? "serializable" : "linearizable"} × 64${spread ? " spread" : ""}`;
  const w = { id, label, workload: "get", concurrency: 64, valueSize: 256, serializable } as const;
  return spread ? { ...w, spread } : w;
}

/** Timing shared by every measured run of a comparison. */
export interface RunTiming {
  readonly seconds: number;
  readonly warmupMs: number;
  readonly keys: number;
}

/** Runs `w` once on `target`, reading the cluster's CPU counters at the window's edges. */
export async function measureWorkload(
  cluster: SystemCluster,
  target: KvTarget,
  w: CompareWorkload,
  timing: RunTiming,
): Promise<RunSample> {
  const spec: LoadSpec = {
    workload: w.workload,
    concurrency: w.concurrency,
    valueSize: w.valueSize,
    keys: timing.keys,
    serializable: w.serializable,
    readPercent: 50,
    stop: { kind: "seconds", seconds: timing.seconds },
    warmupMs: timing.warmupMs,
  };
  const pids = cluster.processes().map((p) => p.pid);
  let serverCpu = 0;
  let machineCpu = 0;
  let clientCpu = process.cpuUsage();
  let wallStart = 0;
  let clientCpuPercent = 0;
  let otherCpuPercent = 0;
  const result = await runLoad(target, spec, {
    onStart: () => {
      serverCpu = cpuMsOf(pids);
      machineCpu = machineBusyMs();
      clientCpu = process.cpuUsage();
      wallStart = performance.now();
    },
    onEnd: () => {
      const wallMs = performance.now() - wallStart;
      serverCpu = cpuMsOf(pids) - serverCpu;
      machineCpu = machineBusyMs() - machineCpu;
      const used = process.cpuUsage(clientCpu);
      const clientMs = (used.user + used.system) / 1000;
      clientCpuPercent = (clientMs / wallMs) * 100;
      otherCpuPercent = (Math.max(0, machineCpu - serverCpu - clientMs) / wallMs) * 100;
    },
  });
  return {
    opsPerSec: result.opsPerSec,
    mbPerSec: result.mbPerSec,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    serverCpuMsPerOp: result.ops > 0 ? serverCpu / result.ops : Number.NaN,
    clientCpuPercent,
    otherCpuPercent,
    ops: result.ops,
    errors: result.errors,
  };
}
