/**
 * One chaos run (docs/testing.md#chaos-harness): real processes behind fault proxies, the checked
 * workload running throughout, and the phases healthy → faults → heal → final write →
 * more traffic → read back every key → linearizability check. judge.ts decides whether
 * the run passed; this file only drives it.
 */
import { Workload } from "../../src/verify/workload.ts";
import { checkWorkload } from "../../src/verify/workload-check.ts";
import { Rng } from "../support/rng.ts";
import {
  CHAOS_DEFAULTS,
  type ChaosFindings,
  type ChaosOptions,
  type ChaosReport,
  failuresOf,
  phaseFigures,
} from "./judge.ts";
import { type FaultRecord, runNemesis, stamp } from "./nemesis.ts";
import { ChaosCluster } from "./proxied-cluster.ts";

export type { ChaosOptions, ChaosReport, PhaseFigures } from "./judge.ts";

/** Read-back deadline: every key gets retried until then. */
const READ_BACK_MS = 30_000;
/** How often progress is logged during the run. */
const PROGRESS_EVERY_MS = 10_000;

/** What the timed phases leave behind for the report. */
interface PhaseOutcome {
  readonly faultsFrom: number;
  readonly healedAt: number;
  readonly faults: FaultRecord[];
  readonly healErrors: string[];
  readonly finalWriteMs: number | undefined;
}

/**
 * Runs one chaos run end to end and reports; a failed verdict is a report, not an
 * exception. On failure the data dirs are kept and the node logs included.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const rng = new Rng(options.seed);
  const cluster = await ChaosCluster.start(options.nodes, rng.fork().source());
  log(`cluster of ${options.nodes} up (data in ${cluster.root}); leader elected`);
  const workload = new Workload({
    endpoints: cluster.endpoints(),
    workers: options.workers,
    cas: options.cas ?? true,
    random: rng.fork().source(),
    ...(options.clientFactory !== undefined ? { clientFactory: options.clientFactory } : {}),
  });
  const progress = setInterval(() => log(progressLine(workload)), PROGRESS_EVERY_MS);
  try {
    workload.start();
    const outcome = await runPhases(options, cluster, workload, rng, log);
    clearInterval(progress);
    const findings = await finish(options, cluster, workload, outcome, log);
    const failures = failuresOf(findings);
    const failed = failures.length > 0;
    await cluster.destroy(failed);
    return {
      ...findings,
      failures,
      wallMs: performance.now() - started,
      keptData: failed ? cluster.root : undefined,
      nodeLogs: failed ? cluster.processes.logs() : undefined,
    };
  } catch (err) {
    clearInterval(progress);
    await workload.stop();
    await cluster.destroy(true);
    throw err;
  }
}

/** Healthy traffic, the nemesis, the heal, the final write and the after phase. */
async function runPhases(
  options: ChaosOptions,
  cluster: ChaosCluster,
  workload: Workload,
  rng: Rng,
  log: (line: string) => void,
): Promise<PhaseOutcome> {
  const now = () => workload.recorder.now();
  await sleep(options.healthyMs ?? CHAOS_DEFAULTS.healthyMs); // the phase's length
  const faultsFrom = now();
  log(
    `${stamp(faultsFrom)} healthy phase over; faults for ${Math.round(options.faultMs / 1000)} s`,
  );
  const families = new Set(options.families);
  const durationMs = options.faultMs;
  const faults = await runNemesis({ cluster, rng, families, durationMs, now, log });
  const healErrors = await cluster.healAll();
  for (const error of healErrors) log(`${stamp(now())} HEAL FAILED: ${error}`);
  const healedAt = now();
  log(`${stamp(healedAt)} everything healed; final write`);
  const finalWriteMs = await workload.finalWrite(
    options.finalWriteMs ?? CHAOS_DEFAULTS.finalWriteMs,
  );
  const result = finalWriteMs === undefined ? "FAILED" : `ok after ${seconds(finalWriteMs)}`;
  log(`${stamp(now())} final write ${result}`);
  await sleep(options.afterMs ?? CHAOS_DEFAULTS.afterMs); // the after phase's length
  return { faultsFrom, healedAt, faults, healErrors, finalWriteMs };
}

/** Stops the workload, reads every key back and checks the history. */
async function finish(
  options: ChaosOptions,
  cluster: ChaosCluster,
  workload: Workload,
  o: PhaseOutcome,
  log: (line: string) => void,
): Promise<ChaosFindings> {
  await workload.stop();
  const recorder = workload.recorder;
  const stopped = recorder.now();
  log(`${stamp(stopped)} workload stopped; reading back ${workload.writtenKeys().length} keys`);
  const readBack = await workload.readBack(READ_BACK_MS);
  log(`checking ${recorder.counts().total} operations`);
  return {
    options,
    phases: phaseFigures(recorder, o.faultsFrom, o.healedAt, stopped),
    faults: o.faults,
    ops: recorder.counts(),
    finalWriteMs: o.finalWriteMs,
    readBack,
    verdict: checkWorkload(recorder.history()),
    unexpectedErrors: workload.unexpected.map((e) => `${stamp(e.at)} ${e.message}`),
    crashes: [...cluster.crashes],
    healErrors: o.healErrors,
  };
}

function progressLine(workload: Workload): string {
  const now = workload.recorder.now();
  const rate = workload.recorder.opsPerSecond(Math.max(0, now - PROGRESS_EVERY_MS), now);
  const { definite, indeterminate } = workload.recorder.counts();
  return `${stamp(now)} ${rate.toFixed(0)} ops/s; ${definite} definite, ${indeterminate} indeterminate so far`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
