/**
 * Relaxation: turning a determinate operation into an indeterminate one only removes
 * constraints (it may still take effect, anywhere after its call, or never). So if a
 * relaxed history is not linearizable, neither is the original — which lets the
 * explanation shrink a violating history while keeping it violating.
 */
import { type KeyOp, keepIndeterminate } from "./history.ts";
import type { Model } from "./model.ts";
import { type SearchBudget, searchLinearization } from "./search.ts";

/** Most operations the core search tries to relax; the nearest to the culprit go first. */
const MAX_CORE_ATTEMPTS = 64;
/** State budget of each core attempt; relaxed writes can make a search expensive. */
const CORE_ATTEMPT_STATES = 50_000;

/** `op` with its outcome forgotten. */
export function relaxed<I, O>(op: KeyOp<I, O>): KeyOp<I, O> {
  return { ...op, ret: Number.POSITIVE_INFINITY, output: undefined };
}

/**
 * The history as known at the m-th return: the first m determinate operations of
 * `byReturn` keep their outcomes, every other operation called by then becomes
 * indeterminate, and later ones are dropped (they could only go after everything).
 */
export function truncate<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  byReturn: readonly KeyOp<I, O>[],
  m: number,
): KeyOp<I, O>[] {
  const kept = new Set(byReturn.slice(0, m));
  const horizon = (byReturn[m - 1] as KeyOp<I, O>).ret;
  const out: KeyOp<I, O>[] = [];
  for (const op of ops) {
    if (kept.has(op)) out.push(op);
    else if (keepIndeterminate(model, op, horizon)) out.push(relaxed(op));
  }
  return out;
}

/**
 * Greedily relaxes the determinate operations of `ops` (a violating history whose last
 * return is the culprit's) that overlap [from, culprit.ret], nearest first, keeping each
 * relaxation under which the history still fails. Returns the operations that could not
 * be relaxed: each is needed for the violation, given the others that remain.
 * Attempts that run out of budget count as needed, so the result is always sound.
 */
export function necessaryOps<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  from: number,
  budget: SearchBudget,
): KeyOp<I, O>[] {
  const attemptBudget = { ...budget, maxStates: Math.min(budget.maxStates, CORE_ATTEMPT_STATES) };
  let current = [...ops];
  const needed: KeyOp<I, O>[] = [];
  for (const candidate of coreCandidates(ops, culprit, from)) {
    const attempt = relaxOne(model, current, candidate, culprit.ret);
    const outcome = searchLinearization(model, attempt, attemptBudget);
    if (outcome.kind === "violation") current = attempt;
    else needed.push(candidate);
  }
  return needed;
}

function coreCandidates<I, O>(
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  from: number,
): KeyOp<I, O>[] {
  return ops
    .filter((op) => op !== culprit && op.ret !== Number.POSITIVE_INFINITY && op.ret >= from)
    .sort((a, b) => b.ret - a.ret || b.source.id - a.source.id)
    .slice(0, MAX_CORE_ATTEMPTS);
}

function relaxOne<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  target: KeyOp<I, O>,
  horizon: number,
): KeyOp<I, O>[] {
  const loose = relaxed(target);
  const out: KeyOp<I, O>[] = [];
  for (const op of ops) {
    if (op !== target) out.push(op);
    else if (keepIndeterminate(model, loose, horizon)) out.push(loose);
  }
  return out;
}
