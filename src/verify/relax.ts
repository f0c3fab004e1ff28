/**
 * Relaxation: turning a determinate operation into an indeterminate one only removes
 * constraints (it may still take effect, anywhere after its call, or never). So if a
 * relaxed history is not linearizable, neither is the original — which lets the
 * explanation shrink a violating history while keeping it violating.
 */
import { type KeyOp, keepIndeterminate } from "./history.ts";
import type { Model } from "./model.ts";
import { searchLinearization } from "./search.ts";
import type { SearchBudget } from "./search-outcome.ts";

/** Most operations the core search considers; the nearest to the culprit go first. */
const MAX_CORE_CANDIDATES = 24;
/**
 * States per core check, as a multiple of what the unrelaxed search needed (plus a
 * floor): relaxing writes can make a search far costlier, and such a check is simply
 * answered "not shown to fail", which only makes the core less minimal.
 */
const CHECK_FACTOR = 1;
const CHECK_FLOOR = 1_000;
/** States for all core checks together, in the same terms. */
const TOTAL_FACTOR = 3;
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
 * A minimal set of the determinate operations of `ops` overlapping [from, culprit.ret]
 * (besides the culprit) that must keep their outcomes for `ops` — a violating history
 * whose last return is the culprit's — to stay violating when all the other candidates
 * are relaxed. Found with Junker's QuickXplain, O(k log n) searches for a core of k.
 * Checks out of budget count as "not shown to fail": the result then grows but still
 * violates, so it is always an honest (if less minimal) core. `baseline` is the number
 * of states the search of `ops` itself took.
 */
export function necessaryOps<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  from: number,
  budget: SearchBudget,
  baseline: number,
): KeyOp<I, O>[] {
  const candidates = coreCandidates(ops, culprit, from);
  const core = new CoreSearch(model, ops, new Set(candidates), culprit.ret, budget, baseline);
  if (core.violates(new Set())) return [];
  return core.explain(new Set(), candidates, false);
}

class CoreSearch<S, I, O> {
  private left: number;
  private readonly perCheck: number;

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly KeyOp<I, O>[],
    private readonly candidates: ReadonlySet<KeyOp<I, O>>,
    private readonly horizon: number,
    private readonly budget: SearchBudget,
    baseline: number,
  ) {
    this.perCheck = Math.min(budget.maxStates, CHECK_FACTOR * baseline + CHECK_FLOOR);
    this.left = TOTAL_FACTOR * baseline + TOTAL_FLOOR;
  }

  /**
   * QuickXplain: given that keeping `kept` ∪ `among` violates, a minimal subset of
   * `among` that violates together with `kept`. `added` says whether the caller just
   * grew `kept` (otherwise `kept` alone is already known not to be shown failing).
   */
  explain(
    kept: ReadonlySet<KeyOp<I, O>>,
    among: readonly KeyOp<I, O>[],
    added: boolean,
  ): KeyOp<I, O>[] {
    if (added && this.violates(kept)) return [];
    if (among.length <= 1) return [...among];
    const half = among.length >>> 1;
    const first = among.slice(0, half);
    const second = among.slice(half);
    const fromSecond = this.explain(union(kept, first), second, first.length > 0);
    const fromFirst = this.explain(union(kept, fromSecond), first, fromSecond.length > 0);
    return [...fromFirst, ...fromSecond];
  }

  /** Whether the history with only `kept` of the candidates determinate is shown to fail. */
  violates(kept: ReadonlySet<KeyOp<I, O>>): boolean {
    if (this.left <= 0 || performance.now() > this.budget.deadline) return false;
    const history: KeyOp<I, O>[] = [];
    for (const op of this.ops) {
      if (!this.candidates.has(op) || kept.has(op)) history.push(op);
      else if (keepIndeterminate(this.model, op, this.horizon)) history.push(relaxed(op));
    }
    const outcome = searchLinearization(this.model, history, {
      ...this.budget,
      maxStates: this.perCheck,
    });
    this.left -= outcome.states;
    return outcome.kind === "violation";
  }
}

function union<T>(a: ReadonlySet<T>, b: readonly T[]): Set<T> {
  return new Set([...a, ...b]);
}

function coreCandidates<I, O>(
  ops: readonly KeyOp<I, O>[],
  culprit: KeyOp<I, O>,
  from: number,
): KeyOp<I, O>[] {
  return ops
    .filter((op) => op !== culprit && op.ret !== Number.POSITIVE_INFINITY && op.ret >= from)
    .sort((a, b) => b.ret - a.ret || b.source.id - a.source.id)
    .slice(0, MAX_CORE_CANDIDATES);
}
