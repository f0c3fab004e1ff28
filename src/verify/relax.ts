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
/**
 * States per core attempt, as a multiple of what the unrelaxed search needed (plus a
 * floor). Relaxing a write can make the search far costlier; such a relaxation is not
 * worth it, and refusing it keeps the next attempts cheap too.
 */
const ATTEMPT_FACTOR = 2;
const ATTEMPT_FLOOR = 1_000;
/** States for all core attempts together, in the same terms. */
const TOTAL_FACTOR = 10;
const TOTAL_FLOOR = 20_000;

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
 * Attempts that run out of budget count as needed (the result stays a violating core);
 * once the total budget is spent the remaining candidates are left out, unreported.
 * `baseline` is the number of states the search of `ops` itself took.
 */
export function necessaryOps<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  from: number,
  budget: SearchBudget,
  baseline: number,
): KeyOp<I, O>[] {
  const perAttempt = Math.min(budget.maxStates, ATTEMPT_FACTOR * baseline + ATTEMPT_FLOOR);
  let left = TOTAL_FACTOR * baseline + TOTAL_FLOOR;
  let current = [...ops];
  const needed: KeyOp<I, O>[] = [];
  for (const candidate of coreCandidates(ops, culprit, from)) {
    if (left <= 0 || performance.now() > budget.deadline) break;
    const attempt = relaxOne(model, current, candidate, culprit.ret);
    const outcome = searchLinearization(model, attempt, { ...budget, maxStates: perAttempt });
    left -= outcome.states;
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
