/**
 * A node's simulated disk: what survives a crash. A save becomes durable only when its
 * simulated fsync completes; a crash before that loses it, except that a random prefix
 * of its records may have reached the platters (a torn, never-acknowledged tail, which
 * the real WAL truncates back to a record boundary).
 */
import { EMPTY_HARD_STATE, type Entry, type HardState } from "../../src/raft/index.ts";
import type { LogWriter } from "../../src/server/raft-loop.ts";
import type { EventQueue } from "./event-queue.ts";
import type { Rng } from "./rng.ts";

interface InFlightWrite {
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

/** Durable state of one node plus its write in flight. */
export class SimDisk {
  hardState: HardState = EMPTY_HARD_STATE;
  entries: Entry[] = [];
  private inFlight: InFlightWrite | null = null;
  /**
   * Failpoint between "fsync returned" and "the node acts on it" (sends, acks): a scenario
   * may crash the node here. Called after the write is durable.
   */
  onDurable: (() => void) | null = null;
  /** Largest commit index ever made durable (it must never go back). */
  maxDurableCommit = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
  ) {}

  /**
   * A LogWriter for one incarnation. `deliver` runs the completion in the node's context
   * (held while it is paused, dropped once it crashed).
   */
  writer(alive: () => boolean, deliver: (fn: () => void) => void): LogWriter {
    return {
      save: (entries, hardState) =>
        new Promise<void>((resolve) => {
          const write = { entries, hardState };
          this.inFlight = write;
          this.queue.after(this.rng.between(0.2, 4), () => {
            if (!alive() || this.inFlight !== write) return;
            this.inFlight = null;
            this.makeDurable(write.entries, write.hardState);
            this.onDurable?.();
            deliver(resolve);
          });
        }),
    };
  }

  /** The node crashed: its write in flight is lost, or (with `tornP`) a prefix survives. */
  crash(tornP: number): string {
    const write = this.inFlight;
    this.inFlight = null;
    if (write === null || !this.rng.chance(tornP)) return "";
    const records = write.entries.length + (write.hardState ? 1 : 0);
    const kept = this.rng.int(records + 1);
    const entries = write.entries.slice(0, kept);
    const hs = kept > write.entries.length ? write.hardState : null;
    this.makeDurable(entries, hs);
    return `torn write: ${kept}/${records} records survived`;
  }

  private makeDurable(entries: readonly Entry[], hardState: HardState | null): void {
    const first = entries[0];
    if (first !== undefined) {
      const lastIndex = this.entries.length;
      if (first.index > lastIndex + 1)
        throw new Error(`sim disk: gap writing ${first.index} after ${lastIndex}`);
      this.entries.length = first.index - 1;
      for (const e of entries) this.entries.push(e);
    }
    if (hardState !== null) {
      this.hardState = hardState;
      if (hardState.commit < this.maxDurableCommit) {
        throw new Error(
          `durable commit went back from ${this.maxDurableCommit} to ${hardState.commit}`,
        );
      }
      this.maxDurableCommit = hardState.commit;
    }
  }
}
