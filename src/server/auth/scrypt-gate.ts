/**
 * Bounds the scrypt runs a node does at once. Each takes ~50 ms of a libuv worker and
 * 16 MiB; libuv has 4 workers shared with file I/O (the WAL, LMDB, chunk files), so an
 * unbounded login flood would queue the node's own disk work behind password hashing.
 * At most {@link MAX_RUNNING} run, {@link MAX_WAITING} more wait in order, and beyond
 * that a login is refused at once with `resource_exhausted` instead of piling up.
 */
import { DfsError } from "../../api/index.ts";

/** scrypt runs at once: half of libuv's default pool, so the WAL's writes always keep two. */
export const MAX_RUNNING = 2;
/** Logins waiting for a slot before new ones are refused. */
export const MAX_WAITING = 64;

/** A counting semaphore with a bounded queue. */
export class ScryptGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly maxRunning: number = MAX_RUNNING,
    private readonly maxWaiting: number = MAX_WAITING,
  ) {}

  /** Runs `work` when a slot is free; refuses at once when the queue is full. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxRunning) {
      if (this.waiting.length >= this.maxWaiting) {
        throw new DfsError(
          "resource_exhausted",
          "too many logins and password changes in progress on this node; retry in a second",
        );
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.running++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next !== undefined)
        next(); // hands its slot over: running stays the same
      else this.running--;
    }
  }

  /** Runs in progress (tests). */
  get active(): number {
    return this.running;
  }
}
