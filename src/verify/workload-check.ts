/**
 * The verdict on a workload's history, in the words a report needs. Wraps
 * {@link checkLinearizable} so the fault harness and `dfs verify` judge and phrase
 * results identically: a checker that ran out of budget is a failure to verify, never a pass.
 */
import { type CheckOptions, checkLinearizable } from "./checker.ts";
import { type KvOperation, kvModel } from "./kv-model.ts";

/** What the checker concluded about a workload, and how long it took to decide. */
export type WorkloadVerdict =
  | { readonly verdict: "linearizable"; readonly checkMs: number }
  | {
      readonly verdict: "violation";
      readonly key: string;
      /** The checker's counter-example, several lines. */
      readonly explanation: string;
      readonly checkMs: number;
    }
  | {
      readonly verdict: "unknown";
      readonly key: string;
      /** Which budget ran out; the history is unverified. */
      readonly reason: string;
      readonly checkMs: number;
    };

/** Checks a workload history against the dfs key model. */
export function checkWorkload(
  history: readonly KvOperation[],
  options: CheckOptions = {},
): WorkloadVerdict {
  const started = performance.now();
  const result = checkLinearizable(kvModel, history, options);
  const checkMs = Math.round(performance.now() - started);
  switch (result.verdict) {
    case "ok":
      return { verdict: "linearizable", checkMs };
    case "violation":
      return { verdict: "violation", key: result.key, explanation: result.explanation, checkMs };
    case "unknown":
      return { verdict: "unknown", key: result.key, reason: result.reason, checkMs };
  }
}

/** True only for a proven-linearizable history. */
export function verdictPassed(verdict: WorkloadVerdict): boolean {
  return verdict.verdict === "linearizable";
}

/** One line for humans, e.g. `verdict: NOT linearizable (key "…")`. */
export function verdictLine(verdict: WorkloadVerdict): string {
  switch (verdict.verdict) {
    case "linearizable":
      return `verdict: linearizable (checked in ${verdict.checkMs} ms)`;
    case "violation":
      return `verdict: NOT linearizable (key ${JSON.stringify(verdict.key)})`;
    case "unknown":
      return `verdict: could not verify (${verdict.reason})`;
  }
}
