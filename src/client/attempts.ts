/**
 * The bookkeeping of one operation's retries: its overall deadline, its backoff, how many
 * redirects in a row it has followed and the last problem seen at each endpoint. One
 * object per operation, so concurrent operations never share retry state.
 */
import { DfsError } from "../api/index.ts";
import { NO_ANSWER } from "./grpc-errors.ts";
import {
  attemptDeadline,
  Backoff,
  ELECTION_POLL_MS,
  FAST_RETRY_WINDOW_MS,
  type RetryClock,
  SYSTEM_CLOCK,
} from "./retry.ts";

/**
 * Consecutive redirects followed without waiting. A fresh hint is usually right, so the
 * first hops are free; a longer chain means hints are stale (an election is under way)
 * and waiting lets it finish.
 */
export const FREE_REDIRECTS = 2;

/** Longest per-endpoint problem quoted in the final error, so it stays one readable line. */
const MAX_PROBLEM_CHARS = 120;

/** Retry state of one client operation. */
export class Attempts {
  private readonly deadline: number;
  private readonly problems = new Map<string, string>();
  private redirects = 0;
  /** When the first retryable failure was seen (NaN before). */
  private firstFailureAt = Number.NaN;

  /**
   * @param op operation name, for the final error message
   * @param timeoutMs the whole operation's deadline, retries and waits included
   * @param clock time and waiting (injectable: tests drive a fake clock instead of waiting)
   * @param backoff the backoff steps (injectable for a seeded jitter)
   */
  constructor(
    private readonly op: string,
    private readonly timeoutMs: number,
    private readonly clock: RetryClock = SYSTEM_CLOCK,
    private readonly backoff = new Backoff(),
  ) {
    this.deadline = clock.now() + timeoutMs;
  }

  /** Deadline for the next attempt: the per-attempt cap or what is left, whichever is sooner. */
  attemptDeadline(): Date {
    return attemptDeadline(this.deadline, this.clock.now());
  }

  /**
   * Records a retryable failure at `endpoint` and waits before the next attempt: not at
   * all for the first redirects, otherwise the next backoff step (at most
   * ELECTION_POLL_MS while an election is under way, and during the first
   * FAST_RETRY_WINDOW_MS of failures). Never sleeps past the
   * deadline, but uses all of it (the last attempt may succeed); throws `unavailable`
   * naming every endpoint tried once the deadline has passed.
   */
  async pause(endpoint: string, error: DfsError, redirected: boolean): Promise<void> {
    // An attempt the operation's own deadline cut short tells nothing new about the
    // endpoint: what it said before (say, "disk is full") stays the reason given.
    const cutShort = error.message === NO_ANSWER && this.clock.now() >= this.deadline;
    if (!cutShort || !this.problems.has(endpoint)) this.problems.set(endpoint, describe(error));
    this.redirects = redirected ? this.redirects + 1 : 0;
    if (Number.isNaN(this.firstFailureAt)) this.firstFailureAt = this.clock.now();
    const electing = error.code === "not_leader" && error.leaderHint === undefined;
    const fastPhase = this.clock.now() - this.firstFailureAt < FAST_RETRY_WINDOW_MS;
    let wait = redirected && this.redirects <= FREE_REDIRECTS ? 0 : this.backoff.next();
    if (electing || fastPhase) wait = Math.min(wait, ELECTION_POLL_MS);
    const capped = Math.min(wait, this.deadline - this.clock.now());
    if (capped > 0) await this.clock.sleep(capped);
    if (this.clock.now() >= this.deadline) throw this.exhausted();
  }

  private exhausted(): DfsError {
    const tried = [...this.problems].map(([endpoint, problem]) => `${endpoint} (${problem})`);
    return new DfsError(
      "unavailable",
      `${this.op}: no leader answered within ${this.timeoutMs} ms; tried ${tried.join(", ")}`,
    );
  }
}

function describe(error: DfsError): string {
  const text =
    error.code === "not_leader"
      ? `not leader, leader ${error.leaderHint ?? "unknown"}`
      : error.message;
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS - 1)}…` : text;
}
