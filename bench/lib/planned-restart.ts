/**
 * Planned restart of the leader, as an operator does it: SIGTERM (a graceful stop, in
 * which etcd hands its leadership over first), then the same node started again on its
 * data dir. One client writes continuously (one put in flight, 256 B) and the figure is
 * the longest pause between two of its consecutive acknowledged writes, from the signal
 * until the restarted node is back and the cluster has taken writes for a while (see
 * {@link SETTLE_MS}), so a hiccup when the node rejoins counts too. The same cluster then
 * takes a SIGKILL restart of its (new) leader, measured the same way, for reference:
 * what an unplanned crash costs, and what the graceful stop must beat.
 */
import { performance } from "node:perf_hooks";
import { waitFor } from "../../src/cluster/index.ts";
import { fixed, median } from "../../src/loadgen/index.ts";
import { formatRatio, markdownTable } from "./compare-report.ts";
import { ackedSince, withSteadyWriter } from "./steady-writer.ts";
import type { SystemDriver } from "./system.ts";
import { longestGap } from "./write-gaps.ts";

/** How the leader is stopped: planned (SIGTERM) or a crash (SIGKILL). */
export type StopSignal = "SIGTERM" | "SIGKILL";

/** One restart of the leader and what the writer saw. */
export interface RestartSample {
  readonly system: string;
  /** 1-based run number (each run is a fresh cluster). */
  readonly run: number;
  readonly signal: StopSignal;
  /** The node that was leader when the signal went out. */
  readonly node: string;
  /** Longest pause between consecutive acknowledged writes, signal to settled. */
  readonly gapMs: number;
  /**
   * The part of it up to the first write acknowledged after the old process was gone:
   * the handover (or election) itself.
   */
  readonly stopGapMs: number;
  /**
   * The part after that: while the node starts again and rejoins (a fresh process
   * competes for the CPU; dfs's start through tsx takes a second or more).
   */
  readonly rejoinGapMs: number;
  /** Signal to the process being gone. */
  readonly stopMs: number;
  /** Start of the new process until the cluster, it included, agrees on a leader. */
  readonly startMs: number;
  /** Puts the client gave up on in the window (a failed put is no acknowledgement). */
  readonly failedPuts: number;
  /** Longest pause in the {@link STEADY_MS} before the signal: the noise floor. */
  readonly steadyGapMs: number;
}

/**
 * Acknowledged writes before each stop: the client knows the leader (and, after a
 * restart, the cluster is quiet again)...
 */
const WARM_WRITES = 200;
/** ...over at least this long, so fresh processes are past their first compilations. */
const WARM_MS = 3000;
/** The window before the signal (within the warm one) whose longest pause is the noise floor. */
const STEADY_MS = 2000;
/** After the restarted node is back, writing goes on this long inside the window... */
const SETTLE_MS = 1000;
/** ...and for at least this many acknowledged writes. */
const SETTLE_WRITES = 100;
/** Longest wait for writes to flow again before the run is declared failed. */
const RECOVERY_TIMEOUT_MS = 60_000;

/**
 * Starts a cluster of `driver`, restarts its leader once per signal of `signals` (in
 * order, on the same cluster, each after the previous one settled), destroys it.
 */
export function measureRestarts(
  driver: SystemDriver,
  run: number,
  signals: readonly StopSignal[],
): Promise<RestartSample[]> {
  return withSteadyWriter(driver, async (cluster, writes) => {
    const samples: RestartSample[] = [];
    let quietSince = performance.now();
    for (const signal of signals) {
      // Also keeps the previous restart out of the noise-floor window.
      const warm = ackedSince(writes, quietSince, WARM_WRITES, WARM_MS);
      await waitFor("steady writes", warm, 60_000, 5);
      const failedBefore = writes.failed;
      const signalAt = performance.now();
      const stopped = await cluster.stopLeader(signal);
      const stoppedAt = performance.now();
      await stopped.start();
      const upAt = performance.now();
      await waitFor(
        `${driver.name}: writes after restarting ${stopped.name}`,
        ackedSince(writes, upAt, SETTLE_WRITES, SETTLE_MS),
        RECOVERY_TIMEOUT_MS,
        5,
      );
      quietSince = performance.now();
      const handedOver = writes.acked.find((t) => t >= stoppedAt) ?? quietSince;
      const stopGap = longestGap(writes.acked, signalAt, handedOver).ms;
      const rejoinGap = longestGap(writes.acked, handedOver, quietSince).ms;
      samples.push({
        system: driver.name,
        run,
        signal,
        node: stopped.name,
        gapMs: Math.max(stopGap, rejoinGap),
        stopGapMs: stopGap,
        rejoinGapMs: rejoinGap,
        stopMs: stoppedAt - signalAt,
        startMs: upAt - stoppedAt,
        failedPuts: writes.failed - failedBefore,
        steadyGapMs: longestGap(writes.acked, signalAt - STEADY_MS, signalAt).ms,
      });
    }
    return samples;
  });
}

/** `runs` fresh clusters per driver, strictly interleaved (dfs, etcd, dfs, ...). */
export async function runPlannedRestarts(
  drivers: readonly SystemDriver[],
  runs: number,
  signals: readonly StopSignal[],
  log: (line: string) => void,
): Promise<RestartSample[]> {
  const all: RestartSample[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const driver of drivers) {
      for (const s of await measureRestarts(driver, run, signals)) {
        all.push(s);
        log(
          `run ${run}/${runs} ${s.system} ${s.signal} ${s.node}: longest gap ${fixed(s.gapMs, 0)} ms ` +
            `(stopping ${fixed(s.stopGapMs, 0)}, rejoining ${fixed(s.rejoinGapMs, 0)}; stop ${fixed(s.stopMs, 0)} ms, ` +
            `start ${fixed(s.startMs, 0)} ms, ${s.failedPuts} puts failed, steady max ${fixed(s.steadyGapMs, 1)} ms)`,
        );
      }
    }
  }
  return all;
}

type GapField = "gapMs" | "stopGapMs" | "steadyGapMs";

/** The summary's rows: which restarts, which figure of them. */
const SUMMARY_ROWS: readonly { label: string; signal: StopSignal; field: GapField }[] = [
  { label: "SIGTERM (planned restart)", signal: "SIGTERM", field: "gapMs" },
  {
    label: "SIGTERM, stopping part (to the first ack after the exit)",
    signal: "SIGTERM",
    field: "stopGapMs",
  },
  { label: "SIGKILL (crash restart, reference)", signal: "SIGKILL", field: "gapMs" },
  {
    label: "noise floor: longest pause in the 2 s before a SIGTERM",
    signal: "SIGTERM",
    field: "steadyGapMs",
  },
];

/**
 * The summary table: median and max per system of the gap of each kind of restart (and
 * of its parts and the noise floor), and the ratio of medians.
 */
export function formatRestartSummary(
  samples: readonly RestartSample[],
  systems: readonly [string, string],
): string {
  const [a, b] = systems;
  const header = [
    "longest pause between acks",
    `${a} median ms`,
    `${a} max ms`,
    `${b} median ms`,
    `${b} max ms`,
    `${a}/${b} (median)`,
    "runs",
  ];
  const rows = SUMMARY_ROWS.flatMap(({ label, signal, field }) => {
    const of = (system: string): number[] =>
      samples.filter((s) => s.system === system && s.signal === signal).map((s) => s[field]);
    const [ga, gb] = [of(a), of(b)];
    if (ga.length + gb.length === 0) return [];
    return [
      [
        label,
        fixed(median(ga), 0),
        fixed(Math.max(...ga), 0),
        fixed(median(gb), 0),
        fixed(Math.max(...gb), 0),
        formatRatio(median(ga), median(gb)),
        `${ga.length}/${gb.length}`,
      ],
    ];
  });
  return markdownTable(header, rows, [false, ...header.slice(1).map(() => true)]);
}

/** Every restart, in the order measured. */
export function formatRestartRuns(samples: readonly RestartSample[]): string {
  const header = [
    "run",
    "system",
    "signal",
    "node",
    "gap ms",
    "stopping part ms",
    "rejoin part ms",
    "stop ms",
    "start ms",
    "failed puts",
    "steady max gap ms",
  ];
  const rows = samples.map((s) => [
    String(s.run),
    s.system,
    s.signal,
    s.node,
    fixed(s.gapMs, 0),
    fixed(s.stopGapMs, 0),
    fixed(s.rejoinGapMs, 0),
    fixed(s.stopMs, 0),
    fixed(s.startMs, 0),
    String(s.failedPuts),
    fixed(s.steadyGapMs, 1),
  ]);
  const textColumns = new Set(["system", "signal", "node"]);
  return markdownTable(
    header,
    rows,
    header.map((h) => !textColumns.has(h)),
  );
}
