/**
 * Interchangeable indeterminate operations. Two indeterminate operations with identical
 * inputs differ only in when they were called; once both are called, swapping them in
 * any linearization changes nothing (same steps, same states). So the search uses such
 * twins in call order only — a later twin waits until every earlier one is linearized —
 * which turns k timed-out identical writes from 2^k choices into k + 1. Models help by
 * making more inputs identical (`canonicalInputs`, e.g. values nobody read).
 */
import { isDeterminate, type KeyOp } from "./history.ts";

/**
 * For each indeterminate op (by index), the previous indeterminate op in call order
 * with an identical input (compared as JSON), or -1; -1 for determinate ops.
 */
export function previousTwins<I, O>(ops: readonly KeyOp<I, O>[]): Int32Array {
  const previous = new Int32Array(ops.length).fill(-1);
  const lastOfInput = new Map<string, number>();
  ops.forEach((op, i) => {
    if (isDeterminate(op)) return;
    const key = JSON.stringify(op.input);
    previous[i] = lastOfInput.get(key) ?? -1;
    lastOfInput.set(key, i);
  });
  return previous;
}
