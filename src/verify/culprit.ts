/**
 * Finds the culprit of a violation: the fewest determinate returns (in return order)
 * that are already impossible together, every other operation being relaxed (see
 * relax.ts). That is monotone, so it is a search over one index — started from a guess
 * (the first operation the longest linearizable prefix could not take), galloping away
 * from it until the answer is bracketed, then bisecting. Usually the guess is right and
 * two searches settle it, where plain bisection would need log2(n).
 */
import { isDeterminate, type KeyOp } from "./history.ts";
import type { Model } from "./model.ts";
import { truncate } from "./relax.ts";
import { searchLinearization } from "./search.ts";
import type { SearchBudget, SearchOutcome } from "./search-outcome.ts";

/** The earliest failing truncation found, and its search. */
export interface CulpritSearch<S, I, O> {
  /** How many determinate returns (in return order) are already impossible. */
  readonly count: number;
  /** False when a search ran out of budget, so an earlier return might fail too. */
  readonly exact: boolean;
  /** The truncated history that fails. */
  readonly searched: readonly KeyOp<I, O>[];
  /** Its search, with the longest linearizable prefix. */
  readonly outcome: SearchOutcome<S>;
}

/**
 * Searches the earliest failing truncation of `ops` (one key), given `full`, the search
 * of all of `ops` with its longest prefix tracked (normally a violation).
 */
export function findCulprit<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly KeyOp<I, O>[],
  byReturn: readonly KeyOp<I, O>[],
  budget: SearchBudget,
  full: SearchOutcome<S>,
): CulpritSearch<S, I, O> {
  const probe = new Probe(model, ops, byReturn, budget, full);
  if (full.kind !== "violation") return probe.result(false);
  const guessed = probe.test(guess(ops, byReturn, full));
  if (guessed === "unknown") return probe.result(false);
  if (!probe.gallop(guessed === "violation" ? -1 : 1)) return probe.result(false);
  return probe.result(probe.bisect());
}

/** One past the first operation, by return, that the longest prefix left out. */
function guess<S, I, O>(
  ops: readonly KeyOp<I, O>[],
  byReturn: readonly KeyOp<I, O>[],
  full: SearchOutcome<S>,
): number {
  if (full.kind === "ok") return byReturn.length;
  const taken = new Set(full.best.order.map((i) => ops[i]));
  const first = byReturn.findIndex((op) => !taken.has(op));
  return first < 0 ? byReturn.length : first + 1;
}

class Probe<S, I, O> {
  /** Known linearizable (0 trivially). */
  private lo = 0;
  /** Known to fail. */
  private hi: number;
  /** The search of `hi` returns (the full history's until a shorter one fails). */
  private failing: { searched: readonly KeyOp<I, O>[]; outcome: SearchOutcome<S> };

  constructor(
    private readonly model: Model<S, I, O>,
    private readonly ops: readonly KeyOp<I, O>[],
    private readonly byReturn: readonly KeyOp<I, O>[],
    private readonly budget: SearchBudget,
    full: SearchOutcome<S>,
  ) {
    this.hi = byReturn.length;
    this.failing = { searched: ops, outcome: full };
  }

  private record(m: number, searched: readonly KeyOp<I, O>[], outcome: SearchOutcome<S>): void {
    if (outcome.kind === "ok") this.lo = Math.max(this.lo, m);
    if (outcome.kind !== "violation" || m > this.hi) return;
    this.hi = m;
    this.failing = { searched, outcome };
  }

  /** Searches the truncation to `m` returns and records what it shows. */
  test(m: number): SearchOutcome<S>["kind"] {
    if (m <= this.lo) return "ok";
    if (m >= this.hi) return "violation";
    const searched = truncate(this.model, this.ops, this.byReturn, m);
    const outcome = searchLinearization(this.model, searched, this.budget, true);
    this.record(m, searched, outcome);
    return outcome.kind;
  }

  /** Steps 1, 2, 4, ... from the known bound in `direction` until the answer flips. */
  gallop(direction: -1 | 1): boolean {
    const stopAt = direction < 0 ? "ok" : "violation";
    for (let step = 1; this.hi - this.lo > 1; step *= 2) {
      const m =
        direction < 0
          ? Math.max(this.lo + 1, this.hi - step)
          : Math.min(this.hi - 1, this.lo + step);
      const kind = this.test(m);
      if (kind === "unknown") return false;
      if (kind === stopAt) return true;
    }
    return true;
  }

  /** Bisects the bracket; false if a search ran out of budget first. */
  bisect(): boolean {
    while (this.hi - this.lo > 1) {
      if (this.test((this.lo + this.hi) >>> 1) === "unknown") return false;
    }
    return true;
  }

  result(exact: boolean): CulpritSearch<S, I, O> {
    return { count: this.hi, exact: exact && this.hi - this.lo <= 1, ...this.failing };
  }
}

/** Determinate operations of `ops` in return order (ties by id): the culprit's index space. */
export function inReturnOrder<I, O>(ops: readonly KeyOp<I, O>[]): KeyOp<I, O>[] {
  return ops.filter(isDeterminate).sort((a, b) => a.ret - b.ret || a.source.id - b.source.id);
}
