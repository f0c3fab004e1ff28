/**
 * The printed account of a chaos run: throughput per phase, every fault with its times,
 * the operation counts, the verdict (with the counter-example on a violation), the seed
 * and the one-line command that replays the schedule.
 */
import { verdictLine } from "../../src/verify/workload-check.ts";
import type { ChaosOptions, ChaosReport, PhaseFigures } from "./judge.ts";
import { type FaultRecord, stamp } from "./nemesis.ts";

/** The command that replays a run's fault schedule. */
export function replayCommand(o: ChaosOptions): string {
  const minutes = Number((o.faultMs / 60_000).toFixed(4));
  const cas = o.cas === false ? " --no-cas" : "";
  return `npx tsx test/chaos/run.ts --nodes ${o.nodes} --minutes ${minutes} --faults ${o.families.join(",")} --seed ${o.seed}${cas}`;
}

/** The whole report, several lines, ending in PASS or FAIL. */
export function formatChaosReport(r: ChaosReport): string {
  const o = r.options;
  const lines = [
    `chaos run: ${o.nodes} nodes, faults ${o.families.join(",")}, seed ${o.seed}${o.cas === false ? ", no compare-and-set" : ""}`,
    "phase      seconds  definite  indeterminate    ops/s",
    ...r.phases.map(phaseLine),
    `faults injected (${r.faults.length}):`,
    ...r.faults.map(faultLine),
    `ops: ${r.ops.total} (${r.ops.definite} definite, ${r.ops.indeterminate} indeterminate)`,
    `final write: ${r.finalWriteMs === undefined ? "FAILED" : `ok ${(r.finalWriteMs / 1000).toFixed(1)} s after healing`}`,
    `read back: ${r.readBack.keys} keys${r.readBack.unread.length > 0 ? `, ${r.readBack.unread.length} UNREAD` : ", all read"}`,
    ...unexpectedLines(r.unexpectedErrors),
    verdictLine(r.verdict),
  ];
  if (r.verdict.verdict === "violation") lines.push(r.verdict.explanation);
  for (const error of r.healErrors) lines.push(`final heal failed: ${error}`);
  for (const failure of r.failures) lines.push(`FAIL: ${failure}`);
  if (r.nodeLogs !== undefined) lines.push("node logs (tail):", r.nodeLogs);
  if (r.keptData !== undefined) lines.push(`data dirs kept in ${r.keptData}`);
  lines.push(
    `result: ${r.failures.length === 0 ? "PASS" : "FAIL"} (wall time ${(r.wallMs / 1000).toFixed(0)} s)`,
  );
  lines.push(`seed ${o.seed}; replay: ${replayCommand(o)}`);
  return `${lines.join("\n")}\n`;
}

function faultLine(f: FaultRecord): string {
  const after =
    f.healError !== undefined
      ? `HEAL FAILED: ${f.healError}`
      : f.leaderAfterMs === undefined
        ? "NO LEADER after 20 s"
        : `leader ${(f.leaderAfterMs / 1000).toFixed(1)} s later`;
  return `  ${stamp(f.start)} ${f.name}: ${f.detail}; healed ${stamp(f.healed)}, ${after}`;
}

function phaseLine(p: PhaseFigures): string {
  const seconds = ((p.to - p.from) / 1000).toFixed(1);
  return `${p.name.padEnd(9)} ${seconds.padStart(8)}  ${String(p.ops.definite).padStart(8)}  ${String(p.ops.indeterminate).padStart(13)}  ${p.opsPerSecond.toFixed(0).padStart(7)}`;
}

function unexpectedLines(errors: readonly string[]): string[] {
  if (errors.length === 0) return [];
  return [
    `unexpected errors (${errors.length}, recorded as indeterminate):`,
    ...errors.slice(0, 5).map((e) => `  ${e}`),
  ];
}
