/**
 * A reference checker for tiny single-key histories, written from the definition and
 * sharing nothing with the real one but the model: try every order in which the
 * operations could take effect. An operation can go next unless some determinate
 * operation still pending returned strictly before it was called (equal times are
 * concurrent); indeterminate operations may be skipped forever; success when every
 * determinate operation is placed.
 */
import type { Model, Operation } from "../../../src/verify/index.ts";

/** True when `ops` (one key) is linearizable with respect to `model`. Exponential. */
export function bruteForceLinearizable<S, I, O>(
  model: Model<S, I, O>,
  ops: readonly Operation<I, O>[],
): boolean {
  return extend(model, ops, model.init());
}

function retOf<I, O>(op: Operation<I, O>): number {
  return op.output === undefined ? Number.POSITIVE_INFINITY : op.ret;
}

function extend<S, I, O>(
  model: Model<S, I, O>,
  pending: readonly Operation<I, O>[],
  state: S,
): boolean {
  if (pending.every((op) => op.output === undefined)) return true;
  const deadline = Math.min(...pending.map(retOf));
  for (const op of pending) {
    if (op.call > deadline) continue;
    const { ok, next } = model.step(state, op.input, op.output);
    if (!ok) continue;
    if (
      extend(
        model,
        pending.filter((other) => other !== op),
        next,
      )
    )
      return true;
  }
  return false;
}
