/**
 * The disk-full guard: when a write fails for lack of space the node does not stop. It
 * holds still, like a paused node (no ticks, peer messages dropped, writes and
 * linearizable reads refused, serializable reads still served), and retries the same
 * write every {@link DISK_FULL_RETRY_MS} until space is freed or the node stops. See
 * docs/operations.md for what an operator sees.
 */
import { DfsError } from "../../api/index.ts";
import type { LoopClock } from "./clock.ts";
import type { LackOfSpace, LoopLogger } from "./ports.ts";

/** How often a node whose disk is full retries its pending write. */
export const DISK_FULL_RETRY_MS = 1000;

/** What the guard needs from the loop. */
export interface DiskFullGuardDeps {
  readonly clock: LoopClock;
  readonly logger: LoopLogger;
  /** Absent: every failed write is fatal. */
  readonly lackOfSpace?: LackOfSpace;
  readonly isStopped: () => boolean;
  /** The disk just filled: every waiting request's outcome is now unknown. */
  readonly onFull: (error: DfsError) => void;
}

/** Tracks whether the disk is full and retries writes until it is not. */
export class DiskFullGuard {
  private full = false;

  constructor(private readonly d: DiskFullGuardDeps) {}

  /** True while the last write failed for lack of space and is being retried. */
  get isFull(): boolean {
    return this.full;
  }

  /** Throws the error a client should hear while the disk is full. */
  refuseIfFull(): void {
    if (this.full) throw diskFullError("retry on another node or once space is freed");
  }

  /**
   * Whether `error` is a lack of space that may be put off (logged as `what` postponed):
   * used for writes that can simply be tried again later (snapshots, compaction).
   */
  async postponable(error: Error, what: string): Promise<boolean> {
    if (!(await this.d.lackOfSpace?.(error))) return false;
    this.d.logger.info({ err: error.message }, `${what} postponed: disk full`);
    return true;
  }

  /**
   * Runs a disk write; if it fails for lack of space, holds the node still and retries the
   * same write until it succeeds (the WAL cut off any partial write; the store fails
   * before applying anything, its write-behind transaction rolled back), or the node stops.
   */
  async retry(write: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await write();
        if (this.full) this.set(false);
        return;
      } catch (error) {
        if (this.d.isStopped() || !(await this.d.lackOfSpace?.(error as Error))) throw error;
        if (!this.full) this.set(true, error as Error);
        await this.pause(DISK_FULL_RETRY_MS);
        if (this.d.isStopped()) throw error;
      }
    }
  }

  private set(full: boolean, error?: Error): void {
    this.full = full;
    if (full) {
      this.d.logger.info(
        { err: error?.message },
        "disk full: refusing writes until space is freed; retrying every second",
      );
      this.d.onFull(diskFullError("the write's outcome is unknown"));
    } else this.d.logger.info({}, "disk space available again: resuming");
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.d.clock.every(ms, () => {
        cancel();
        resolve();
      });
    });
  }
}

/** What a client hears from a node whose disk is full. */
function diskFullError(detail: string): DfsError {
  return new DfsError("unavailable", `this node's disk is full: writes are refused (${detail})`);
}
