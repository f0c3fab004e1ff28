/**
 * `dfs verify`: runs the checked workload (src/verify/workload.ts) against a live cluster
 * for a while, reads back every key it wrote and proves the history linearizable — an
 * operator's end-to-end test that the cluster keeps its promises. It injects no faults of
 * its own; run it while something else does.
 */
import { type Command, Option } from "commander";
import { DfsError } from "../api/index.ts";
import type { ClientTls } from "../client/index.ts";
import { DfsClient } from "../client/index.ts";
import type { HistoryCounts } from "../verify/index.ts";
import {
  checkWorkload,
  type ReadBackResult,
  verdictLine,
  WORKLOAD_DEFAULTS,
  Workload,
  type WorkloadVerdict,
} from "../verify/index.ts";
import { ExitCode } from "./exit-codes.ts";
import type { FailureReport } from "./failure.ts";
import {
  addClientOptions,
  type ClientFlags,
  clientTlsFrom,
  intFlag,
  loginOf,
  parseEndpoints,
} from "./options.ts";
import { writeExact } from "./value-io.ts";

/**
 * Fewer definite operations than this over a whole run means the cluster was (nearly)
 * unavailable throughout, and a verdict on so little proves nothing: exit 3, not 0.
 */
export const MIN_DEFINITE_OPS = 10;

/** Read-back deadline: long enough to ride out one election after the run. */
const READ_BACK_DEADLINE_MS = 15_000;

/** Deadline of each cleanup delete; cleanup is best effort. */
const CLEANUP_TIMEOUT_MS = 2_000;

interface VerifyFlags extends ClientFlags {
  readonly seconds: number;
  readonly workers: number;
  readonly json?: boolean;
  readonly cas: boolean;
  readonly keepKeys?: boolean;
}

/** Everything a run found, printed as text or JSON. */
export interface VerifyReport {
  readonly runId: string;
  readonly endpoints: readonly string[];
  readonly seconds: number;
  readonly workers: number;
  readonly cas: boolean;
  readonly ops: HistoryCounts;
  readonly opsPerSecond: number;
  readonly perSecond: readonly number[];
  /** null when skipped because the cluster never answered. */
  readonly readBack: { readonly keys: number; readonly unread: number } | null;
  readonly unexpectedErrors: readonly string[];
  readonly result: WorkloadVerdict;
}

/**
 * The run did not prove the cluster linearizable. Carries its own exit code
 * ({@link ExitCode.notLinearizable}) and one-line message; `runCli` reports it.
 */
export class VerifyFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifyFailure";
  }

  /** How `runCli` reports it: one line on stderr, exit code 9. */
  report(): FailureReport {
    return { exitCode: ExitCode.notLinearizable, text: `dfs: error: ${this.message}` };
  }
}

/** Registers `verify` on `program`. */
export function addVerifyCommand(program: Command): void {
  const command = program
    .command("verify")
    .description(
      "run a checked workload for N seconds and prove the history linearizable (exit 9 if not)",
    )
    .addOption(
      new Option("--seconds <n>", "how long to run the workload")
        .argParser(intFlag("--seconds", 1, 24 * 3600))
        .default(10),
    )
    .addOption(
      new Option("--workers <n>", "concurrent clients")
        .argParser(intFlag("--workers", 1, 64))
        .default(WORKLOAD_DEFAULTS.workers),
    )
    .option("--no-cas", "leave out compare-and-set operations")
    .option("--keep-keys", "do not delete the run's keys afterwards")
    .option("--json", "print the report as JSON");
  addClientOptions(command, WORKLOAD_DEFAULTS.opTimeoutMs)
    .addHelpText("after", "\n--timeout is the deadline of each workload operation.")
    .action(runVerify);
}

async function runVerify(flags: VerifyFlags): Promise<void> {
  const endpoints = parseEndpoints(flags.endpoints);
  const tls = clientTlsFrom(flags);
  const workload = new Workload({
    endpoints,
    workers: flags.workers,
    opTimeoutMs: flags.timeout,
    cas: flags.cas,
    clientFactory: (eps, timeoutMs) =>
      new DfsClient({
        endpoints: eps,
        timeoutMs,
        ...(tls !== undefined ? { tls } : {}),
        ...loginOf(flags),
      }),
  });
  workload.start();
  await new Promise((resolve) => setTimeout(resolve, flags.seconds * 1000)); // the run's length
  await workload.stop();
  // Reading back (and cleaning up) a cluster that never answered would only wait out deadlines.
  const available = workload.recorder.counts().definite >= MIN_DEFINITE_OPS;
  const readBack = available ? await workload.readBack(READ_BACK_DEADLINE_MS) : undefined;
  const report = buildReport(workload, flags, endpoints, readBack);
  if (available && !flags.keepKeys) {
    await deleteKeys(endpoints, workload.writtenKeys(), tls, loginOf(flags));
  }
  const text = flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report);
  await writeExact(Buffer.from(text));
  throwIfFailed(report);
}

function buildReport(
  workload: Workload,
  flags: VerifyFlags,
  endpoints: readonly string[],
  readBack: ReadBackResult | undefined,
): VerifyReport {
  const recorder = workload.recorder;
  return {
    runId: workload.runId,
    endpoints,
    seconds: flags.seconds,
    workers: flags.workers,
    cas: flags.cas,
    ops: recorder.counts(),
    opsPerSecond: Math.round(recorder.opsPerSecond(0, flags.seconds * 1000)),
    perSecond: recorder.perSecond().slice(0, flags.seconds),
    readBack:
      readBack === undefined ? null : { keys: readBack.keys, unread: readBack.unread.length },
    unexpectedErrors: workload.unexpected.map((e) => e.message),
    result: checkWorkload(recorder.history()),
  };
}

/** The human-readable report: counts, throughput, the verdict and any counter-example. */
export function formatReport(r: VerifyReport): string {
  const lines = [
    `run ${r.runId}: ${r.workers} workers for ${r.seconds} s against ${r.endpoints.join(",")}${r.cas ? "" : " (no compare-and-set)"}`,
    `ops: ${r.ops.total} (${r.ops.definite} definite, ${r.ops.indeterminate} indeterminate)`,
    `throughput: ${r.opsPerSecond} ops/s (per second: ${r.perSecond.join(" ")})`,
    readBackLine(r.readBack),
  ];
  if (r.unexpectedErrors.length > 0) {
    const sample = r.unexpectedErrors.slice(0, 3).join("; ");
    lines.push(`unexpected errors: ${r.unexpectedErrors.length} (${sample})`);
  }
  lines.push(verdictLine(r.result));
  if (r.result.verdict === "violation") lines.push(r.result.explanation);
  return `${lines.join("\n")}\n`;
}

function readBackLine(readBack: VerifyReport["readBack"]): string {
  if (readBack === null) return "read back: skipped (the cluster did not answer)";
  const unread = readBack.unread > 0 ? `, ${readBack.unread} could not be read` : ", all read";
  return `read back: ${readBack.keys} keys${unread}`;
}

/** Violation or unverifiable → exit 9; too little work or no read-back → exit 3 (unavailable). */
function throwIfFailed(r: VerifyReport): void {
  const { result } = r;
  if (result.verdict === "violation") {
    throw new VerifyFailure(`history is not linearizable (key ${JSON.stringify(result.key)})`);
  }
  if (r.ops.definite < MIN_DEFINITE_OPS) {
    throw new DfsError(
      "unavailable",
      `cluster unavailable: only ${r.ops.definite} operations got an answer in ${r.seconds} s`,
    );
  }
  if (result.verdict === "unknown") {
    throw new VerifyFailure(`could not verify the history: ${result.reason}`);
  }
  if (r.readBack !== null && r.readBack.unread > 0) {
    throw new DfsError(
      "unavailable",
      `${r.readBack.unread} written keys could not be read back within ${READ_BACK_DEADLINE_MS} ms`,
    );
  }
}

/** Best-effort removal of the run's keys, so `dfs verify` leaves the cluster as it found it. */
async function deleteKeys(
  endpoints: readonly string[],
  keys: readonly string[],
  tls: ClientTls | undefined,
  login: ReturnType<typeof loginOf>,
): Promise<void> {
  const client = new DfsClient({
    endpoints,
    timeoutMs: CLEANUP_TIMEOUT_MS,
    ...(tls !== undefined ? { tls } : {}),
    ...login,
  });
  const queue = [...keys];
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      await client.delete(key).catch(() => undefined); // absent or unreachable: nothing to do
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, worker));
  } finally {
    client.close();
  }
}
