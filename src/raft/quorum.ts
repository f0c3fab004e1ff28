/**
 * Majority arithmetic, kept in one place so every quorum decision (elections, commit,
 * ReadIndex, check-quorum) uses the same definition.
 */

/** Number of members that form a majority of `size`. */
export function majority(size: number): number {
  return Math.floor(size / 2) + 1;
}

/**
 * The highest index replicated on a majority, given each member's match index: the
 * majority()-th largest value.
 */
export function committedIndex(matches: readonly number[]): number {
  const sorted = [...matches].sort((a, b) => b - a);
  return sorted[majority(matches.length) - 1] ?? 0;
}

/** Outcome of counting votes so far. */
export type VoteResult = "won" | "lost" | "pending";

/** Tallies granted/rejected votes among `size` voters. */
export function tallyVotes(granted: number, rejected: number, size: number): VoteResult {
  const need = majority(size);
  if (granted >= need) return "won";
  if (rejected > size - need) return "lost";
  return "pending";
}
