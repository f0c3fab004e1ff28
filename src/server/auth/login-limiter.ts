/**
 * Per-user login throttling on one node (docs/auth.md): after {@link FREE_FAILURES}
 * failed logins for a user name, further attempts for that name are refused for a
 * backoff that starts at 1 s and doubles with each further failure up to 60 s; a success
 * resets the name. Guessing passwords online then costs an attacker minutes per handful of
 * guesses, while a user who mistyped twice is never slowed down. The table is bounded
 * (oldest name forgotten first), so a flood of made-up names cannot grow the node's memory.
 */
import { DfsError } from "../../api/index.ts";

/** Failures allowed before the backoff starts. */
export const FREE_FAILURES = 5;
/** First backoff after {@link FREE_FAILURES} failures. */
export const FIRST_BACKOFF_MS = 1000;
/** Longest backoff. */
export const MAX_BACKOFF_MS = 60_000;
/** User names remembered at once. */
export const MAX_TRACKED_USERS = 10_000;
/** Attempts for one name waiting for others of that name to finish. */
export const MAX_WAITING_PER_USER = 64;

interface Entry {
  failures: number;
  /** No attempt before this time (ms); 0 = none pending. */
  blockedUntil: number;
  /** Attempts being verified now. */
  inFlight: number;
  /** Attempts waiting for one of those to finish. */
  waiting: (() => void)[];
}

/** The failure table of one node. */
export class LoginLimiter {
  private readonly users = new Map<string, Entry>();

  constructor(private readonly maxTracked: number = MAX_TRACKED_USERS) {}

  /**
   * Runs `verify` for `user` when the limiter admits it and records its outcome: a value
   * is a success, undefined a failure, a throw (not leader, node busy) neither. Throws
   * `resource_exhausted` (with when to retry) while the name backs off.
   */
  async attempt<T>(
    user: string,
    clock: () => number,
    verify: () => Promise<T | undefined>,
  ): Promise<T | undefined> {
    for (;;) {
      this.check(user, clock());
      const entry = this.entry(user);
      if (entry.inFlight === 0 || entry.failures + entry.inFlight < FREE_FAILURES) break;
      if (entry.waiting.length >= MAX_WAITING_PER_USER) {
        throw new DfsError(
          "resource_exhausted",
          `too many logins in progress for user ${user}; retry in a second`,
        );
      }
      await new Promise<void>((resolve) => entry.waiting.push(resolve));
    }
    const entry = this.entry(user);
    entry.inFlight++;
    let outcome: "ok" | "failed" | "threw" = "threw";
    try {
      const value = await verify();
      outcome = value === undefined ? "failed" : "ok";
      return value;
    } finally {
      entry.inFlight--;
      if (outcome === "ok") this.succeeded(user);
      else if (outcome === "failed") this.failed(user, clock());
      for (const wake of entry.waiting.splice(0)) wake();
    }
  }

  /** Throws `resource_exhausted` with when to retry if `user` is backing off at `nowMs`. */
  check(user: string, nowMs: number): void {
    const entry = this.users.get(user);
    if (entry === undefined || nowMs >= entry.blockedUntil) return;
    const seconds = Math.ceil((entry.blockedUntil - nowMs) / 1000);
    throw new DfsError(
      "resource_exhausted",
      `too many failed logins for user ${user}; retry in ${seconds} s`,
    );
  }

  /** Records a failed attempt; from the {@link FREE_FAILURES}th on, starts a doubled backoff. */
  failed(user: string, nowMs: number): void {
    const entry = this.entry(user);
    this.users.delete(user); // re-inserted: most recent last
    this.users.set(user, entry);
    entry.failures++;
    const over = entry.failures - FREE_FAILURES;
    if (over >= 0) entry.blockedUntil = nowMs + backoffMs(over);
  }

  /** A successful login: the name starts afresh (attempts still in flight keep counting). */
  succeeded(user: string): void {
    const entry = this.users.get(user);
    if (entry === undefined) return;
    entry.failures = 0;
    entry.blockedUntil = 0;
    if (entry.inFlight === 0 && entry.waiting.length === 0) this.users.delete(user);
  }

  /** Names currently remembered (tests, metrics). */
  get size(): number {
    return this.users.size;
  }

  /** The entry of `user`, created (forgetting the oldest past the bound) if missing. */
  private entry(user: string): Entry {
    let entry = this.users.get(user);
    if (entry === undefined) {
      if (this.users.size >= this.maxTracked) this.forgetOldest();
      entry = { failures: 0, blockedUntil: 0, inFlight: 0, waiting: [] };
      this.users.set(user, entry);
    }
    return entry;
  }

  private forgetOldest(): void {
    const oldest = this.users.keys().next();
    if (oldest.done !== true) this.users.delete(oldest.value);
  }
}

/** The backoff after the `over`th failure past the free ones (0-based): 1 s, 2 s, 4 s … 60 s. */
export function backoffMs(over: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.min(over, 16));
}
