/**
 * Subsumption of failed configurations, for keys with indeterminate operations.
 *
 * A configuration is (determinate ops linearized, indeterminate ops linearized, state).
 * If (D, I, s) was fully explored and failed, then (D, I', s) with I' ⊇ I fails too:
 * every continuation of the latter is a continuation of the former, because pending
 * indeterminate operations never block anything (they have no return event). Without
 * this, each indeterminate write whose effect is later erased (a delete resets the key)
 * would double the rest of the search: "it happened" and "it never happened" would
 * reach the same state with different linearized sets.
 *
 * Completeness (sketch): were a linearizable history reported as a violation, take an
 * expanded configuration with a success continuation of minimal length g. Its first
 * step's child has one of length g − 1; that child was either expanded (contradiction),
 * or pruned by a failed configuration that dominates it — which then also has a
 * continuation of length ≤ g − 1 (contradiction), or skipped as a no-op (the rest of the
 * continuation works from the parent, shorter than g: contradiction).
 */
import type { Model } from "./model.ts";
import { stateEquality } from "./state-cache.ts";

/**
 * Failures remembered per (determinate set, state). The memo is an optimization, so
 * forgetting is always sound; the cap keeps each lookup O(1) when a key has so many
 * indeterminate operations that incomparable failed subsets pile up.
 */
const GROUP_LIMIT = 16;

interface Failure<S> {
  readonly indeterminate: Uint16Array;
  readonly state: S;
}

/** Failed configurations, grouped by (determinate set, state hash). */
export class FailureMemo<S, I, O> {
  private readonly groups = new Map<string, Failure<S>[]>();
  private readonly equal: (a: S, b: S) => boolean;

  constructor(private readonly model: Model<S, I, O>) {
    this.equal = stateEquality(model);
  }

  /** Records that (determinate set `detKey`, indeterminate set, state) failed. */
  recordFailure(detKey: string, indeterminate: Uint16Array, state: S): void {
    const key = this.groupKey(detKey, state);
    const entry = { indeterminate: indeterminate.slice(), state };
    const group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, [entry]);
    else if (group.length < GROUP_LIMIT) group.push(entry);
  }

  /** True when a failed configuration with a subset of `indeterminate` is recorded. */
  isSubsumed(detKey: string, indeterminate: Uint16Array, state: S): boolean {
    const group = this.groups.get(this.groupKey(detKey, state));
    if (group === undefined) return false;
    return group.some(
      (f) => isSubset(f.indeterminate, indeterminate) && this.equal(f.state, state),
    );
  }

  private groupKey(detKey: string, state: S): string {
    return this.model.hash === undefined ? detKey : detKey + this.model.hash(state);
  }
}

function isSubset(small: Uint16Array, big: Uint16Array): boolean {
  for (let w = 0; w < small.length; w++) {
    if (((small[w] as number) & ~(big[w] as number)) !== 0) return false;
  }
  return true;
}
