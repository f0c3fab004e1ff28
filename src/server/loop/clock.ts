/**
 * Time and scheduling as seen by the event loop, injected so the deterministic simulator
 * can run the real loop on simulated time while production uses Node's timers.
 */

/** The loop's only access to time. */
export interface LoopClock {
  /** Milliseconds, monotonic enough for request deadlines. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /** Runs `fn` after the current work (and its microtasks) completes. */
  defer(fn: () => void): void;
}

/** Node's real timers. */
export const SYSTEM_CLOCK: LoopClock = {
  now: () => Date.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
  defer: (fn) => {
    setImmediate(fn);
  },
};
