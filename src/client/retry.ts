/**
 * Timing of retries: how long one attempt may take and how long to wait between
 * attempts. Defaults live here with their reasons so the client's loop has no magic
 * numbers.
 */

/** Whole-operation deadline when the caller gives none: covers one or two elections. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Longest single attempt. Long enough for a commit under load, short enough that a
 * paused or partitioned node (which accepts the connection and never answers) costs
 * only a fraction of the overall deadline before the next node is tried.
 */
export const ATTEMPT_TIMEOUT_MS = 2_000;

/** First wait between attempts: a leader election settles in about one timeout, so start small. */
export const BACKOFF_INITIAL_MS = 25;

/**
 * Longest wait after a node said it knows no leader (an election is under way): such an
 * answer is cheap and the election ends within about one election timeout (0.5–1 s), so
 * polling at this pace finds the new leader within ~100 ms of its election instead of
 * sleeping through it on the general backoff.
 */
export const ELECTION_POLL_MS = 100;

/**
 * For this long after an operation's first failure every wait is at most
 * ELECTION_POLL_MS: a leader that just died is replaced within about one election
 * timeout, and a client sleeping on a grown backoff (the dead node's refusals grow it)
 * would add up to BACKOFF_MAX_MS to the failover. After it, the full backoff spares a
 * cluster that is down for longer.
 */
export const FAST_RETRY_WINDOW_MS = 2_000;

/** Longest wait between attempts: keeps a client responsive once the cluster recovers. */
export const BACKOFF_MAX_MS = 500;

/**
 * Exponential backoff with "equal jitter" (half fixed, half random) so that many
 * clients retrying after the same failure do not hit the new leader in lockstep,
 * while every wait still grows.
 */
export class Backoff {
  private ceiling = BACKOFF_INITIAL_MS;

  /** @param random source of randomness in [0, 1); injectable so tests are deterministic */
  constructor(private readonly random: () => number = Math.random) {}

  /** The next wait in milliseconds; each call doubles the ceiling up to the cap. */
  next(): number {
    const ceiling = this.ceiling;
    this.ceiling = Math.min(this.ceiling * 2, BACKOFF_MAX_MS);
    return ceiling / 2 + this.random() * (ceiling / 2);
  }
}

/** Resolves after `ms` milliseconds; the retry loop's only way to wait. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Time as the retry loop sees it: injectable, so tests drive it instead of waiting. */
export interface RetryClock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves once `ms` milliseconds have passed on this clock. */
  sleep(ms: number): Promise<void>;
}

/** The wall clock and real timers. */
export const SYSTEM_CLOCK: RetryClock = { now: Date.now, sleep };

/** The deadline of one attempt: the attempt cap or whatever is left, whichever is sooner. */
export function attemptDeadline(overallDeadline: number, now = Date.now()): Date {
  return new Date(Math.min(now + ATTEMPT_TIMEOUT_MS, overallDeadline));
}
