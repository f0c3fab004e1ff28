/**
 * Default search budgets, with their rationale. A search that runs out of budget reports
 * "unknown", which callers must treat as a failure to verify — never as a pass — so the
 * budgets only trade waiting time against how often a history goes unverified.
 */

/**
 * Wall-clock budget of one `checkLinearizable` call, across all keys. Histories shaped
 * like docs/testing.md#linearizability-checker (≤ ~10 clients, a few hundred ops per key) check
 * in milliseconds; 30 s leaves room for large `dfs verify` runs on a slow CI core while
 * still failing fast enough that a stuck check is noticed.
 */
export const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Distinct configurations (linearized set, state) one key may visit. The search runs
 * at roughly 0.3–1 million of them per second, and each costs ~100–300 B (short keys,
 * see LinearizedSet), so 1M bounds one key at a few seconds and a few hundred MB. A
 * healthy history needs about one configuration per operation; proving a violation
 * needs every consistent partial order before it, which a few timed-out writes on a
 * long key can multiply — hitting this means the key is pathological, not merely long.
 */
export const DEFAULT_MAX_STATES = 1_000_000;

/**
 * Extra wall-clock budget for explaining a violation (a few re-runs of the search on
 * prefixes of the key's history). The verdict is already known by then; if this runs
 * out the explanation is coarser, never wrong.
 */
export const DEFAULT_EXPLAIN_TIMEOUT_MS = 5_000;
