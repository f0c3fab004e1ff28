/**
 * Subsumption between configurations, for keys with indeterminate operations.
 *
 * A configuration is (determinate ops linearized D, indeterminate ops linearized I,
 * state s). (D, I, s) dominates (D, I', s) when I ⊆ I': every continuation of the
 * latter is one of the former, because pending indeterminate operations never block
 * anything (they have no return event). So once (D, I, s) has been visited, (D, I', s)
 * need not be. Without this, an indeterminate write whose effect is later erased (a
 * delete resets the key) would double the rest of the search: "it happened" and "it
 * never happened" reach the same state with different linearized sets.
 *
 * Completeness (sketch; it covers the exact cache, no-op skips and forced moves too):
 * were a linearizable history reported as a violation, every visited configuration was
 * fully expanded. Take a visited one with a success continuation of minimal length g.
 * The child its first step leads to has one of length g − 1 and was either visited
 * (contradiction), or pruned by a visited configuration that dominates it and so also
 * has a continuation of length ≤ g − 1 (contradiction), or skipped as a no-op or as a
 * later twin, where the same continuation minus that step (or with twins swapped)
 * works from the parent with length < g (contradiction).
 */
import type { Model } from "./model.ts";
import { stateEquality } from "./state-cache.ts";

/**
 * Visited configurations remembered per (D, s). Forgetting is always sound (the memo
 * only prunes); the cap keeps lookups O(1) when many incomparable I pile up.
 */
const GROUP_LIMIT = 16;

interface Visit<S> {
  readonly indeterminate: Uint16Array;
  readonly state: S;
}

/** Visited configurations, grouped by (determinate set, state hash). */
export class SubsumptionMemo<S, I, O> {
  private readonly groups = new Map<string, Visit<S>[]>();
  private readonly equal: (a: S, b: S) => boolean;

  constructor(private readonly model: Model<S, I, O>) {
    this.equal = stateEquality(model);
  }

  /** Records that (determinate set `detKey`, indeterminate set, state) was visited. */
  record(detKey: string, indeterminate: Uint16Array, state: S): void {
    const key = this.groupKey(detKey, state);
    const entry = { indeterminate: indeterminate.slice(), state };
    const group = this.groups.get(key);
    if (group === undefined) this.groups.set(key, [entry]);
    else if (group.length < GROUP_LIMIT) group.push(entry);
  }

  /** True when a visited configuration with a subset of `indeterminate` dominates this one. */
  isSubsumed(detKey: string, indeterminate: Uint16Array, state: S): boolean {
    const group = this.groups.get(this.groupKey(detKey, state));
    if (group === undefined) return false;
    const compare = this.model.hash === undefined;
    return group.some(
      (v) => isSubset(v.indeterminate, indeterminate) && (!compare || this.equal(v.state, state)),
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
