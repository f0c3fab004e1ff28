/**
 * The sequential specification a history is checked against. The checker only ever asks
 * a model "may this operation, with this outcome, happen in this state, and what state
 * follows?" — everything about the object under test lives behind this interface.
 */

/** What a model answers for one step: whether the outcome is possible, and the next state. */
export interface StepResult<S> {
  readonly ok: boolean;
  readonly next: S;
}

/** An input with its observed outcome (undefined = indeterminate), as a model sees it. */
export interface Observation<I, O> {
  readonly input: I;
  readonly output: O | undefined;
}

/**
 * A sequential object. Models must be pure: `step` may not mutate `state` (the search
 * keeps old states to backtrack to).
 */
export interface Model<S, I, O> {
  /** The state before any operation. */
  init(): S;
  /**
   * Applies `input` to `state`. With a known `output`, `ok` says whether that outcome is
   * what the object returns in `state`. With `output` undefined (indeterminate) it must
   * accept and return the state as if the operation took effect — the effect must depend
   * only on state and input, i.e. equal the `next` of any outcome it would accept.
   */
  step(state: S, input: I, output: O | undefined): StepResult<S>;
  /**
   * State equality, used to detect no-op steps; must agree with `hash` when both are
   * given. Defaults to comparing hashes, else to deep equality.
   */
  equal?(a: S, b: S): boolean;
  /**
   * A canonical string key for a state: equal states, and only those, have equal keys.
   * Lets the search cache use a plain string set; without it states are compared with
   * `equal` (or deep equality) within each bucket.
   */
  hash?(s: S): string;
  /** One-line rendering of an operation and its outcome, for counter-examples. */
  describe?(input: I, output: O | undefined): string;
  /** One-line rendering of a state, for counter-examples. */
  describeState?(s: S): string;
  /**
   * True for inputs that never change the state (reads). Indeterminate read-only
   * operations constrain nothing, so they are dropped before the search.
   */
  readOnly?(input: I): boolean;
  /**
   * Rewrites the inputs of one key's operations (same order) to erase details that no
   * outcome in the history can reveal — e.g. values that no read returned. Must keep the
   * history exactly as linearizable as before. More states then compare equal, and
   * more indeterminate operations have identical inputs, which the search treats as
   * interchangeable; both shrink the search. Counter-examples still show the originals.
   */
  canonicalInputs?(ops: readonly Observation<I, O>[]): readonly I[];
  /**
   * True when `writer` could be the operation whose effect `observed` saw (the put of
   * the value a get returned). Only used to point a human at the relevant writes.
   */
  couldProduce?(writer: Observation<I, O>, observed: Observation<I, O>): boolean;
}
