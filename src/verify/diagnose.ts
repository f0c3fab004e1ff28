/**
 * Turns "this key is not linearizable" into the facts a human needs: which operation is
 * the first whose outcome cannot be explained, how far a linearization gets, and what
 * could have gone next but cannot.
 *
 * The culprit is found by relaxation. Making a determinate operation indeterminate only
 * removes constraints, so if the history is still not linearizable with every operation
 * returning after time T relaxed, the original is not either — and that is monotone in
 * T. A binary search over return times finds the earliest return by which the history
 * is already impossible; that operation is the culprit.
 */
import { isDeterminate, type KeyOp, type Operation } from "./history.ts";
import type { Model } from "./model.ts";
import { necessaryOps, truncate } from "./relax.ts";
import { type SearchBudget, type SearchOutcome, searchLinearization } from "./search.ts";
import { stateEquality } from "./state-cache.ts";

/** A determinate operation that was allowed to go next after the longest prefix. */
export interface FrontierEntry<I, O> {
  readonly op: KeyOp<I, O>;
  /** rejected: the model refuses its outcome there; dead-end: accepted, nothing works after. */
  readonly verdict: "rejected" | "dead-end";
}

/** Everything the explanation of one violating key is built from. */
export interface Diagnosis<S, I, O> {
  /** The earliest-returning operation found whose outcome cannot be explained. */
  readonly culprit: KeyOp<I, O>;
  /** True when all operations returning before the culprit were shown linearizable. */
  readonly culpritIsFirst: boolean;
  /** The longest linearizable prefix (ending before or at the culprit), in order. */
  readonly prefix: readonly KeyOp<I, O>[];
  /** The state after `prefix`. */
  readonly state: S;
  /** False when the budget ran out, so a longer prefix may exist. */
  readonly searchComplete: boolean;
  /** The determinate operations that could have gone next after `prefix`. */
  readonly frontier: readonly FrontierEntry<I, O>[];
  /** The last operation of `prefix` that changed the state. */
  readonly lastWriter: KeyOp<I, O> | undefined;
  /** Writes the culprit could have observed; undefined unless it is a read the model traces. */
  readonly sources: readonly KeyOp<I, O>[] | undefined;
  /**
   * A small set of operations that shows the problem, in call order: the culprit, the
   * operations near it that cannot be relaxed away, and the writes the reads among them
   * could have observed.
   */
  readonly involved: readonly Operation<I, O>[];
}

/** Explains why `ops` (one key, prepared, known not linearizable) is a violation. */
export function diagnose<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  budget: SearchBudget,
): Diagnosis<S, I, O> {
  const byReturn = ops
    .filter(isDeterminate)
    .sort((a, b) => a.ret - b.ret || a.source.id - b.source.id);
  const { hi, exact } = earliestFailingPrefix(model, ops, byReturn, budget);
  const culprit = byReturn[hi - 1] as KeyOp<I, O>;
  const searched = truncate(model, ops, byReturn, hi);
  const outcome = searchLinearization(model, searched, budget, true);
  const best = outcome.kind === "ok" ? { order: [], state: model.init() } : outcome.best;
  const prefix = best.order.map((i) => searched[i] as KeyOp<I, O>);
  const frontier = frontierAfter(model, searched, prefix, best.state);
  const lastWriter = lastStateChange(model, prefix);
  const from = Math.min(
    culprit.call,
    lastWriter?.call ?? culprit.call,
    ...frontier.map((f) => f.op.call),
  );
  const needed = necessaryOps(model, searched, culprit, from, budget, outcome.states);
  return {
    culprit,
    culpritIsFirst: exact,
    prefix,
    state: best.state,
    searchComplete: outcome.kind === "violation",
    frontier,
    lastWriter,
    sources: sourcesOf(model, ops, culprit),
    involved: involvedOps(model, ops, culprit, needed),
  };
}

/** Binary search for the fewest determinate returns (by time) that are already impossible. */
function earliestFailingPrefix<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  byReturn: readonly KeyOp<I, O>[],
  budget: SearchBudget,
): { hi: number; exact: boolean } {
  let lo = 0;
  let hi = byReturn.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    const outcome: SearchOutcome<S> = searchLinearization(
      model,
      truncate(model, ops, byReturn, mid),
      budget,
    );
    if (outcome.kind === "unknown") return { hi, exact: false };
    if (outcome.kind === "violation") hi = mid;
    else lo = mid;
  }
  return { hi, exact: true };
}

/** Determinate operations allowed to go next after `prefix`, and how each fails. */
function frontierAfter<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  prefix: readonly KeyOp<I, O>[],
  state: S,
): FrontierEntry<I, O>[] {
  const done = new Set(prefix);
  const remaining = ops.filter((op) => !done.has(op) && isDeterminate(op));
  const deadline = Math.min(...remaining.map((op) => op.ret));
  return remaining
    .filter((op) => op.call <= deadline)
    .map((op) => ({
      op,
      verdict: model.step(state, op.input, op.output).ok ? "dead-end" : "rejected",
    }));
}

function lastStateChange<S, I, O>(
  model: Model<S, I, O>,
  prefix: readonly KeyOp<I, O>[],
): KeyOp<I, O> | undefined {
  const same = stateEquality(model);
  let state = model.init();
  let writer: KeyOp<I, O> | undefined;
  for (const op of prefix) {
    const next = model.step(state, op.input, op.output).next;
    if (!same(state, next)) writer = op;
    state = next;
  }
  return writer;
}

/** Writers `reader` could have observed; undefined when the model cannot tell or it is no read. */
function sourcesOf<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  reader: KeyOp<I, O>,
): KeyOp<I, O>[] | undefined {
  const couldProduce = model.couldProduce;
  if (couldProduce === undefined || model.readOnly?.(reader.input) !== true) return undefined;
  return ops.filter((op) => op !== reader && couldProduce.call(model, op, reader));
}

/**
 * The culprit, the operations that could not be relaxed away, and what the observing
 * ones among them could have read from (so the writes a reader expects are listed).
 */
function involvedOps<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  needed: readonly KeyOp<I, O>[],
): Operation<I, O>[] {
  const all = new Set<Operation<I, O>>([culprit.source]);
  for (const op of needed) all.add(op.source);
  for (const op of [culprit, ...needed]) {
    for (const source of nearestSources(op, sourcesOf(model, ops, op) ?? [], 1)) {
      all.add(source.source);
    }
  }
  return [...all].sort((a, b) => a.call - b.call || a.id - b.id);
}

/** The sources called last before `reader` returned: the ones a reader suspects first. */
export function nearestSources<I, O>(
  reader: KeyOp<I, O>,
  sources: readonly KeyOp<I, O>[],
  limit: number,
): KeyOp<I, O>[] {
  return sources
    .filter((op) => op.call <= reader.ret)
    .sort((a, b) => b.call - a.call)
    .slice(0, limit);
}
