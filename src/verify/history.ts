/**
 * Client histories: the operations the checker is given, their validation, and the
 * per-key form the search works on. Linearizability is compositional (Herlihy & Wing's
 * locality), so each key's sub-history can be checked on its own.
 */
import { InvalidHistoryError } from "./errors.ts";
import type { Model } from "./model.ts";

/**
 * One client operation as observed: invoked at `call`, answered at `ret`.
 *
 * Times are numbers on one clock shared by all clients (simulated ticks, or
 * `performance.now()` of the one harness process). Equal timestamps are read as
 * "concurrent": a recorder that knows a strict order must give strictly increasing times.
 */
export interface Operation<I, O> {
  /** Unique within the history; names the operation in counter-examples. */
  readonly id: number;
  /** The issuing client; informational only (the checker orders by time, not by client). */
  readonly client: number;
  /** Operations on different keys never constrain each other. */
  readonly key: string;
  /** When the request was sent; the operation cannot take effect before this. */
  readonly call: number;
  /**
   * When the answer arrived; the operation took effect at or before this. Infinity when
   * indeterminate. An indeterminate operation is always treated as ret = +∞, whatever
   * is recorded here: a timed-out request may still take effect after the client gave up.
   */
  readonly ret: number;
  readonly input: I;
  /**
   * undefined = indeterminate (timed out, connection lost): it may or may not have taken
   * effect, at any time after `call`.
   */
  readonly output: O | undefined;
}

/**
 * One operation of a single key as the search sees it: `ret` is +∞ exactly when the
 * outcome is unknown, `input` may be canonicalized by the model. `source` is the
 * recorded operation, kept for counter-examples.
 */
export interface KeyOp<I, O> {
  readonly source: Operation<I, O>;
  readonly call: number;
  readonly ret: number;
  readonly input: I;
  readonly output: O | undefined;
}

/** True when the operation's outcome is known, i.e. it must be linearized before `ret`. */
export function isDeterminate<I, O>(op: KeyOp<I, O>): boolean {
  return op.ret !== Number.POSITIVE_INFINITY;
}

/** Throws {@link InvalidHistoryError} on anything the checker could silently misread. */
export function validateHistory<I, O>(history: readonly Operation<I, O>[]): void {
  const ids = new Set<number>();
  for (const op of history) {
    if (ids.has(op.id)) throw new InvalidHistoryError(`duplicate operation id ${op.id}`, op.id);
    ids.add(op.id);
    validateTimes(op);
  }
}

function validateTimes<I, O>(op: Operation<I, O>): void {
  if (!Number.isFinite(op.call)) {
    throw new InvalidHistoryError(`operation #${op.id}: call time must be finite`, op.id);
  }
  if (Number.isNaN(op.ret) || op.ret < op.call) {
    throw new InvalidHistoryError(`operation #${op.id}: ret must be >= call`, op.id);
  }
  if (op.output !== undefined && !Number.isFinite(op.ret)) {
    throw new InvalidHistoryError(
      `operation #${op.id}: has an output but no finite return time`,
      op.id,
    );
  }
}

/** Splits a history by key (P-compositionality), keeping each key's recorded order. */
export function partitionByKey<I, O>(
  history: readonly Operation<I, O>[],
): Map<string, Operation<I, O>[]> {
  const byKey = new Map<string, Operation<I, O>[]>();
  for (const op of history) {
    const ops = byKey.get(op.key);
    if (ops === undefined) byKey.set(op.key, [op]);
    else ops.push(op);
  }
  return byKey;
}

/**
 * The search input for one key, sorted by call time then id. Sound simplifications:
 * an indeterminate op's return becomes +∞; indeterminate read-only ops are dropped
 * (they change nothing and promise nothing); so are indeterminate ops invoked after
 * the last known return, since they can always be placed after everything; inputs go
 * through the model's `canonicalInputs` when it has one.
 */
export function prepareKey<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): KeyOp<I, O>[] {
  const lastReturn = latestDeterminateReturn(ops);
  const inputs = model.canonicalInputs?.(ops) ?? ops.map((op) => op.input);
  return ops
    .map((source, i) => toKeyOp(source, inputs[i] as I))
    .filter((op) => isDeterminate(op) || keepIndeterminate(model, op, lastReturn))
    .sort((a, b) => a.call - b.call || a.source.id - b.source.id);
}

function toKeyOp<I, O>(source: Operation<I, O>, input: I): KeyOp<I, O> {
  const ret = source.output === undefined ? Number.POSITIVE_INFINITY : source.ret;
  return { source, call: source.call, ret, input, output: source.output };
}

function latestDeterminateReturn<I, O>(ops: readonly Operation<I, O>[]): number {
  let latest = Number.NEGATIVE_INFINITY;
  for (const op of ops) if (op.output !== undefined && op.ret > latest) latest = op.ret;
  return latest;
}

/** Whether an indeterminate op can still matter to a search ending at `lastReturn`. */
export function keepIndeterminate<S, I, O>(
  model: Model<S, I, O>,
  op: KeyOp<I, O>,
  lastReturn: number,
): boolean {
  if (model.readOnly?.(op.input) === true) return false;
  return op.call <= lastReturn;
}
