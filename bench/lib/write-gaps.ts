/**
 * The figure of the planned-restart benchmark: the longest pause a single writer sees
 * between two consecutive acknowledged writes.
 */

/** The longest interval between consecutive acknowledgements in a window. */
export interface Gap {
  /** Its length in ms (NaN when no interval ends in the window). */
  readonly ms: number;
  /** The acknowledgement it starts at (the last one before the pause). */
  readonly from: number;
}

/**
 * The longest interval between consecutive acknowledgements (`acks`, ascending times)
 * whose later end lies in (`from`, `to`]. An interval that began before `from` counts:
 * the pause around an event at `from` starts at the last write acknowledged before it.
 * An interval that ends exactly at `from` belongs to the window before, so windows that
 * meet at `from` never share one.
 */
export function longestGap(acks: readonly number[], from: number, to: number): Gap {
  let best: Gap = { ms: Number.NaN, from: Number.NaN };
  for (let i = 1; i < acks.length; i++) {
    const end = acks[i] as number;
    if (end <= from) continue;
    if (end > to) break;
    const start = acks[i - 1] as number;
    if (!(end - start <= best.ms)) best = { ms: end - start, from: start };
  }
  return best;
}
