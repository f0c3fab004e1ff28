/**
 * The entry point: `checkLinearizable` splits a history by key, runs the per-key search
 * on each under a shared budget, and reports the worst verdict (violation > unknown > ok).
 * "unknown" means the budget ran out; callers must treat it as a failure to verify.
 */
import { DEFAULT_EXPLAIN_TIMEOUT_MS, DEFAULT_MAX_STATES, DEFAULT_TIMEOUT_MS } from "./defaults.ts";
import { diagnose } from "./diagnose.ts";
import { explainViolation } from "./explain.ts";
import {
  type KeyOp,
  type Operation,
  partitionByKey,
  prepareKey,
  validateHistory,
} from "./history.ts";
import type { Model } from "./model.ts";
import { searchLinearization } from "./search.ts";
import type { SearchBudget, SearchOutcome } from "./search-outcome.ts";

/** The verdict on a whole history. */
export type CheckResult<I = unknown, O = unknown> =
  | { readonly verdict: "ok" }
  | {
      readonly verdict: "violation";
      /** The key whose operations are not linearizable (the first such key found). */
      readonly key: string;
      /** A multi-line counter-example that mentions the key (see explain.ts). */
      readonly explanation: string;
      /** A small set of operations that shows the problem, in call order. */
      readonly involved: readonly Operation<I, O>[];
    }
  | {
      readonly verdict: "unknown";
      /** The first key whose search ran out of budget. */
      readonly key: string;
      /** Which budget ran out, and how many keys were left unverified. */
      readonly reason: string;
    };

/** Search budgets; defaults and their rationale are in defaults.ts. */
export interface CheckOptions {
  /** Wall-clock budget for the whole history, in ms. */
  readonly timeoutMs?: number;
  /** Distinct configurations any one key may explore. */
  readonly maxStates?: number;
  /** Extra wall-clock budget for explaining a violation, in ms. */
  readonly explainTimeoutMs?: number;
}

/**
 * Checks that `history` is linearizable with respect to `model`, key by key. Throws
 * `InvalidHistoryError` if the history is malformed (duplicate ids, ret < call, ...).
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  history: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult<I, O> {
  validateHistory(history);
  const budget: SearchBudget = {
    deadline: performance.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    maxStates: options.maxStates ?? DEFAULT_MAX_STATES,
  };
  const unknowns: { key: string; reason: string }[] = [];
  const keys = smallestFirst(partitionByKey(history));
  for (const [index, [key, ops]] of keys.entries()) {
    if (index > 0 && performance.now() > budget.deadline) {
      return unknownResult(
        unknowns,
        keys.slice(index).map(([k]) => k),
      );
    }
    const prepared = prepareKey(model, ops);
    // Tracking the longest prefix costs little and saves the explanation a search.
    const outcome = searchLinearization(model, prepared, budget, true);
    if (outcome.kind === "violation") return violation(model, key, ops, prepared, outcome, options);
    if (outcome.kind === "unknown") unknowns.push({ key, reason: outcome.reason });
  }
  return unknowns.length === 0 ? { verdict: "ok" } : unknownResult(unknowns, []);
}

/** Cheap keys first, so a deadline leaves as few keys unchecked as possible. */
function smallestFirst<I, O>(byKey: Map<string, Operation<I, O>[]>): [string, Operation<I, O>[]][] {
  return [...byKey].sort(
    ([ka, a], [kb, b]) => a.length - b.length || (ka < kb ? -1 : ka > kb ? 1 : 0),
  );
}

/** Explains a violation on `key` under its own time budget (the verdict is already known). */
function violation<S, I, O>(
  model: Model<S, I, O>,
  key: string,
  ops: readonly Operation<I, O>[],
  prepared: readonly KeyOp<I, O>[],
  found: SearchOutcome<S>,
  options: CheckOptions,
): CheckResult<I, O> {
  const budget: SearchBudget = {
    deadline: performance.now() + (options.explainTimeoutMs ?? DEFAULT_EXPLAIN_TIMEOUT_MS),
    maxStates: options.maxStates ?? DEFAULT_MAX_STATES,
  };
  const diagnosis = diagnose(model, prepared, budget, found);
  const explanation = explainViolation(model, key, ops, diagnosis);
  return { verdict: "violation", key, explanation, involved: diagnosis.involved };
}

/** Names the first key that ran out of budget (or was never reached) and counts the rest. */
function unknownResult<I, O>(
  unknowns: readonly { key: string; reason: string }[],
  unchecked: readonly string[],
): CheckResult<I, O> {
  const first = unknowns[0] ?? {
    key: unchecked[0] ?? "",
    reason: "the time budget ran out before it was checked",
  };
  const parts = [`key ${JSON.stringify(first.key)}: ${first.reason}`];
  if (unknowns.length > 1) parts.push(`${unknowns.length - 1} more key(s) also ran out of budget`);
  if (unchecked.length > 0) {
    parts.push(`${unchecked.length} key(s) not checked before the deadline`);
  }
  return { verdict: "unknown", key: first.key, reason: parts.join("; ") };
}
