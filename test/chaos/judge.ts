/**
 * What a chaos run produced and how it is judged: the report's shape, throughput per
 * phase, and every reason a run is not a pass. Kept apart from the run itself so the
 * pass criteria read in one place: proven linearizable, healed, final write done, every
 * key read back, no node crashed on its own, and real work before and during the faults.
 */
import type { ReadBackResult, WorkloadOptions } from "../../src/verify/workload.ts";
import type { WorkloadVerdict } from "../../src/verify/workload-check.ts";
import type { HistoryCounts, HistoryRecorder } from "../../src/verify/workload-record.ts";
import type { FaultFamily } from "./faults.ts";
import type { FaultRecord } from "./nemesis.ts";

/** A run's parameters; everything but nodes, faultMs, families and seed has a default. */
export interface ChaosOptions {
  readonly nodes: number;
  readonly faultMs: number;
  readonly families: readonly FaultFamily[];
  readonly seed: number;
  /** Traffic before the first fault; the run fails if it did too little here. */
  readonly healthyMs?: number;
  /** Traffic after everything healed. */
  readonly afterMs?: number;
  readonly workers?: number;
  /** Include compare-and-set (needs a server that honours `ifVersion`). */
  readonly cas?: boolean;
  /** The final write must succeed within this long after the heal. */
  readonly finalWriteMs?: number;
  readonly minHealthyOps?: number;
  readonly minFaultOps?: number;
  readonly log?: (line: string) => void;
  /** Builds each worker's client (default: the library's DfsClient). */
  readonly clientFactory?: WorkloadOptions["clientFactory"];
}

/** Defaults and their reasons. */
export const CHAOS_DEFAULTS = {
  /** Ten seconds of healthy traffic shows the cluster works before anything breaks. */
  healthyMs: 10_000,
  /** Five seconds after healing shows throughput came back. */
  afterMs: 5_000,
  /** An election plus a restart or two, with margin for a slow CI core. */
  finalWriteMs: 15_000,
  /** Below this the healthy phase proves nothing about the cluster. */
  minHealthyOps: 100,
  /** Below this the fault phase tested nothing (docs/testing.md#chaos-harness). */
  minFaultOps: 200,
} as const;

/** Throughput of one phase, on the workload's clock. */
export interface PhaseFigures {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly ops: HistoryCounts;
  readonly opsPerSecond: number;
}

/** The facts a verdict on the run is drawn from. */
export interface ChaosFindings {
  readonly options: ChaosOptions;
  readonly phases: readonly PhaseFigures[];
  readonly faults: readonly FaultRecord[];
  readonly ops: HistoryCounts;
  readonly finalWriteMs: number | undefined;
  readonly readBack: ReadBackResult;
  readonly verdict: WorkloadVerdict;
  readonly unexpectedErrors: readonly string[];
  /** Nodes that exited without being killed by the harness. */
  readonly crashes: readonly string[];
  /** Nodes that could not be brought back at the final heal. */
  readonly healErrors: readonly string[];
}

/** Everything a run found; `failures` empty means it passed. */
export interface ChaosReport extends ChaosFindings {
  readonly failures: readonly string[];
  readonly wallMs: number;
  /** Where the data dirs were kept (failed runs only). */
  readonly keptData: string | undefined;
  /** The tail of every node's stderr (failed runs only). */
  readonly nodeLogs: string | undefined;
}

/** Healthy, faults and after: the phases whose throughput a report shows. */
export function phaseFigures(
  recorder: HistoryRecorder,
  faultsFrom: number,
  healedAt: number,
  stopped: number,
): PhaseFigures[] {
  const phase = (name: string, from: number, to: number): PhaseFigures => ({
    name,
    from,
    to,
    ops: recorder.counts(from, to),
    opsPerSecond: recorder.opsPerSecond(from, to),
  });
  return [
    phase("healthy", 0, faultsFrom),
    phase("faults", faultsFrom, healedAt),
    phase("after", healedAt, stopped),
  ];
}

/** Every reason the run is not a pass. */
export function failuresOf(r: ChaosFindings): string[] {
  const failures: string[] = [];
  const { verdict } = r;
  if (verdict.verdict === "violation") {
    failures.push(`history is not linearizable (key ${JSON.stringify(verdict.key)})`);
  }
  if (verdict.verdict === "unknown")
    failures.push(`could not verify the history: ${verdict.reason}`);
  if (r.finalWriteMs === undefined) failures.push("the final write did not succeed after healing");
  if (r.readBack.unread.length > 0) {
    failures.push(`${r.readBack.unread.length} written keys could not be read back`);
  }
  failures.push(...tooLittleWork(r));
  for (const fault of r.faults) {
    if (fault.healError !== undefined) failures.push(`healing ${fault.name}: ${fault.healError}`);
  }
  failures.push(...r.healErrors.map((e) => `final heal: ${e}`), ...r.crashes);
  return [...new Set(failures)];
}

function tooLittleWork(r: ChaosFindings): string[] {
  const [healthy, faults] = r.phases;
  const minHealthy = r.options.minHealthyOps ?? CHAOS_DEFAULTS.minHealthyOps;
  const minFaults = r.options.minFaultOps ?? CHAOS_DEFAULTS.minFaultOps;
  const out: string[] = [];
  const before = healthy?.ops.definite ?? 0;
  const during = faults?.ops.definite ?? 0;
  if (before < minHealthy) {
    out.push(`too little work before the faults: ${before} definite ops (need ${minHealthy})`);
  }
  if (during < minFaults) {
    out.push(`too little work during the faults: ${during} definite ops (need ${minFaults})`);
  }
  return out;
}
