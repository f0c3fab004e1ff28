/**
 * Judges a simulation's client history with the project's linearizability checker
 * (src/verify). A budget overrun ("unknown") is a failure to verify, never a pass.
 */
import { checkLinearizable, kvModel } from "../../src/verify/index.ts";
import type { HistoryOp } from "./sim-client.ts";

/** Null when the history is linearizable; otherwise why not (with the counter-example). */
export function checkHistory(history: readonly HistoryOp[]): string | null {
  const result = checkLinearizable(kvModel, history, { timeoutMs: 20_000 });
  if (result.verdict === "ok") return null;
  if (result.verdict === "unknown")
    return `linearizability not verified (budget ran out on key ${result.key}): ${result.reason}`;
  return `linearizability violation on key ${result.key}:\n${result.explanation}`;
}
