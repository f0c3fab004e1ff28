/**
 * Default search budgets, with their rationale. A search that runs out of budget reports
 * "unknown", which callers must treat as a failure to verify — never as a pass — so the
 * budgets only trade waiting time against how often a history goes unverified.
 */

/**
 * Wall-clock budget of one `checkLinearizable` call, across all keys. Histories shaped
 * as TESTING.md asks (≤ ~10 concurrent clients per key, a few hundred ops per key) check
 * in milliseconds; 30 s leaves room for large `dfs verify` runs on a slow CI core while
 * still failing fast enough that a stuck check is noticed.
 */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Distinct (linearized set, state) configurations one key may cache. Each costs about
 * 2 bytes per 16 operations of the key plus map overhead (~100 B), so 500k stays within
 * a few hundred MB even for keys with thousands of operations; a healthy history needs
 * roughly one configuration per operation, so hitting this means the key is
 * pathological (too many concurrent or indeterminate operations), not merely long.
 */
export const DEFAULT_MAX_STATES = 500_000;

/**
 * Extra wall-clock budget for explaining a violation (a few re-runs of the search on
 * prefixes of the key's history). The verdict is already known by then; if this runs
 * out the explanation is coarser, never wrong.
 */
export const DEFAULT_EXPLAIN_TIMEOUT_MS = 5_000;
