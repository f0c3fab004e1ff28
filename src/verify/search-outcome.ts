/**
 * What the per-key search (search.ts) is given as limits and hands back, shared with the
 * culprit search and the explanation.
 */

/** Limits after which a search stops and reports "unknown". */
export interface SearchBudget {
  /** A `performance.now()` value; the whole check shares one deadline. */
  readonly deadline: number;
  /** Most configurations this key may cache (bounds memory as well as time). */
  readonly maxStates: number;
}

/** A linearizable prefix found by the search, for counter-examples. */
export interface PartialLinearization<S> {
  /** Indexes into the searched operations, in linearization order. */
  readonly order: readonly number[];
  /** The model state after `order`. */
  readonly state: S;
}

/** What the search concluded about one key. */
export type SearchOutcome<S> =
  | { readonly kind: "ok"; readonly states: number }
  | { readonly kind: "violation"; readonly states: number; readonly best: PartialLinearization<S> }
  | {
      readonly kind: "unknown";
      readonly states: number;
      readonly reason: string;
      readonly best: PartialLinearization<S>;
    };
