/**
 * The stall rule of a streamed upload (docs/security.md "Resource limits"): the client
 * must send `minBytes` within each `windowMs` of its own time, or the upload is closed.
 * Time and timers are injected so the rule is tested on a fake clock.
 */

/** The clock and the one timer a {@link StallClock} uses. */
export interface StallTimers {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `fn` after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void): () => void;
}

/** Node's monotonic clock and real timers. */
export const REAL_TIMERS: StallTimers = {
  now: () => performance.now(),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * Times an upload's windows: the client must send `minBytes` within each `windowMs` of
 * its own time (the clock stops while the node works on what it sent), else `onStall`.
 * A window restarts only once it saw `minBytes`, so a trickle of a byte now and then
 * cannot hold an upload slot open: it is closed about one window after it began.
 */
export class StallClock {
  private cancel: () => void = () => undefined;
  private left: number;
  private bytes = 0;
  private since = 0;
  private running = false;
  private stopped = false;

  constructor(
    private readonly windowMs: number,
    private readonly minBytes: number,
    private readonly onStall: () => void,
    private readonly timers: StallTimers = REAL_TIMERS,
  ) {
    this.left = windowMs;
  }

  /** The client's turn: the window runs (a fresh one if the last saw enough bytes). */
  run(): void {
    if (this.stopped) return;
    if (this.bytes >= this.minBytes) {
      this.bytes = 0;
      this.left = this.windowMs;
    }
    this.since = this.timers.now();
    this.running = true;
    this.cancel();
    this.cancel = this.timers.after(Math.max(0, this.left), this.onStall);
  }

  /** The node's turn: `bytes` arrived; the window stops until {@link run}. */
  pause(bytes: number): void {
    this.cancel();
    if (this.running) this.left -= this.timers.now() - this.since;
    this.running = false;
    this.bytes += bytes;
  }

  /** The upload ended (either way): no stall can fire from now on. */
  stop(): void {
    this.stopped = true;
    this.cancel();
  }
}
