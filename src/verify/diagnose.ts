/**
 * Turns "this key is not linearizable" into the facts a human needs: which operation is
 * the first whose outcome cannot be explained (culprit.ts), how far a linearization
 * gets, what could have gone next but cannot, and a small core of operations that
 * still fails on its own (relax.ts).
 */

import { findCulprit, inReturnOrder } from "./culprit.ts";
import { isDeterminate, type KeyOp, type Operation } from "./history.ts";
import type { Model } from "./model.ts";
import { necessaryOps } from "./relax.ts";
import type { SearchBudget, SearchOutcome } from "./search-outcome.ts";
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

/**
 * Explains why `ops` (one key, prepared) is a violation, given `full`: the search that
 * found it, with its longest prefix tracked.
 */
export function diagnose<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  budget: SearchBudget,
  full: SearchOutcome<S>,
): Diagnosis<S, I, O> {
  const byReturn = inReturnOrder(ops);
  const { count, exact, searched, outcome } = findCulprit(model, ops, byReturn, budget, full);
  const culprit = byReturn[count - 1] as KeyOp<I, O>;
  const best = outcome.kind === "ok" ? { order: [], state: model.init() } : outcome.best;
  const prefix = best.order.map((i) => searched[i] as KeyOp<I, O>);
  const { state, lastWriter } = replay(model, prefix);
  const frontier = frontierAfter(model, searched, prefix, state);
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
    state,
    searchComplete: outcome.kind === "violation",
    frontier,
    lastWriter,
    sources: sourcesOf(model, ops, culprit),
    involved: involvedOps(model, ops, culprit, needed),
  };
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
  const deadline = remaining.reduce((min, op) => Math.min(min, op.ret), Number.POSITIVE_INFINITY);
  return remaining
    .filter((op) => op.call <= deadline)
    .map((op) => ({
      op,
      verdict: model.step(state, op.source.input, op.output).ok ? "dead-end" : "rejected",
    }));
}

/**
 * Replays `prefix` with the recorded inputs (the search may have used canonical ones,
 * which are equivalent but less readable): the state it leaves, and the last operation
 * that changed the state.
 */
function replay<S, I, O>(
  model: Model<S, I, O>,
  prefix: readonly KeyOp<I, O>[],
): { state: S; lastWriter: KeyOp<I, O> | undefined } {
  const same = stateEquality(model);
  let state = model.init();
  let lastWriter: KeyOp<I, O> | undefined;
  for (const op of prefix) {
    const next = model.step(state, op.source.input, op.output).next;
    if (!same(state, next)) lastWriter = op;
    state = next;
  }
  return { state, lastWriter };
}

/** Writers `reader` could have observed; undefined when the model cannot tell or it is no read. */
function sourcesOf<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  reader: KeyOp<I, O>,
): KeyOp<I, O>[] | undefined {
  const couldProduce = model.couldProduce;
  if (couldProduce === undefined || model.readOnly?.(reader.input) !== true) return undefined;
  return ops.filter((op) => op !== reader && couldProduce.call(model, op.source, reader.source));
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
