/**
 * A node's simulated disk: what survives a crash. A save becomes durable only when its
 * simulated fsync completes; a crash before that loses it, except that a random prefix
 * of its records may have reached the platters (a torn, never-acknowledged tail, which
 * the real WAL truncates back to a record boundary). A save that changes the term or
 * vote first syncs them to the WAL's HARDSTATE file, so a crash may also keep the new
 * term and vote without any of the save's records. Snapshots are written atomically
 * (tmp + fsync + rename): a crash leaves the old one or the new one.
 */
import type { MemoryStore } from "../../src/fsm/index.ts";
import {
  EMPTY_HARD_STATE,
  type Entry,
  type HardState,
  type SnapshotMeta,
} from "../../src/raft/index.ts";
import type { LogWriter, SnapshotStore } from "../../src/server/raft-loop.ts";
import type { Rng } from "../support/rng.ts";
import type { EventQueue } from "./event-queue.ts";

interface InFlightWrite {
  readonly entries: readonly Entry[];
  readonly hardState: HardState | null;
}

/** A durable snapshot: metadata plus the state machine image. */
export interface StoredSnapshot {
  readonly meta: SnapshotMeta;
  readonly image: Uint8Array;
}

/** Durable state of one node plus its write in flight. */
export class SimDisk {
  hardState: HardState = EMPTY_HARD_STATE;
  /** Durable log entries after `offset`. */
  entries: Entry[] = [];
  offset = 0;
  offsetTerm = 0;
  snapshot: StoredSnapshot | null = null;
  private inFlight: InFlightWrite | null = null;
  /**
   * Failpoint between "fsync returned" and "the node acts on it" (sends, acks): a scenario
   * may crash the node here. Called after the write is durable.
   */
  onDurable: (() => void) | null = null;
  /**
   * Failpoint when a save that changes the term or vote starts (its HARDSTATE sync and log
   * write in flight): a scenario may crash the node before it completes. Called with the
   * hard state being saved.
   */
  onVoteInFlight: ((saving: HardState) => void) | null = null;
  /**
   * Failpoint after a compaction of the log completed (LMDB mode: the store must hold
   * everything compacted durably). Called with the new offset.
   */
  onCompacted: ((index: number) => void) | null = null;
  /** Failpoint after a reset of the log to an installed snapshot completed (LMDB mode). */
  onReset: (() => void) | null = null;
  /** Times durable entries were dropped other than by compaction (truncation, replaced log). */
  shrinks = 0;
  /** Largest commit index ever made durable (it must never go back). */
  maxDurableCommit = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly rng: Rng,
  ) {}

  /** The durable entry at `index`, if held (not compacted, not beyond the end). */
  entryAt(index: number): Entry | undefined {
    return index > this.offset ? this.entries[index - this.offset - 1] : undefined;
  }

  /** Index of the last durable entry. */
  lastIndex(): number {
    return this.offset + this.entries.length;
  }

  /**
   * A LogWriter for one incarnation. `deliver` runs the completion in the node's context
   * (held while it is paused, dropped once it crashed). With `withReset` (LMDB mode, where
   * the store installs snapshots itself) it also resets the log as the WAL does after an
   * install, durably after a simulated fsync.
   */
  writer(alive: () => boolean, deliver: (fn: () => void) => void, withReset = false): LogWriter {
    const reset = (index: number, term: number) =>
      new Promise<void>((resolve) => {
        this.queue.after(this.rng.between(0.2, 4), () => {
          if (!alive()) return;
          this.resetLog(index, term);
          this.onReset?.();
          deliver(resolve);
        });
      });
    return {
      ...(withReset ? { reset } : {}),
      save: (entries, hardState) =>
        new Promise<void>((resolve) => {
          const write = { entries, hardState };
          this.inFlight = write;
          const durable = this.hardState;
          if (
            hardState !== null &&
            (hardState.term !== durable.term || hardState.vote !== durable.vote)
          )
            this.onVoteInFlight?.(hardState);
          this.queue.after(this.rng.between(0.2, 4), () => {
            if (!alive() || this.inFlight !== write) return;
            this.inFlight = null;
            this.makeDurable(write.entries, write.hardState);
            this.onDurable?.();
            deliver(resolve);
          });
        }),
      compact: async (index) => {
        const before = this.offset;
        this.compact(index);
        if (this.offset > before) this.onCompacted?.(this.offset);
      },
    };
  }

  /**
   * LMDB mode: the node's store is durable at `meta` (flushed, installed, or reopened
   * there). Recorded as the disk's snapshot, without touching the log: compaction may not
   * pass it, and the durability invariant counts it as holding every entry up to it.
   */
  noteDurableStore(meta: SnapshotMeta): void {
    if (this.snapshot !== null && this.snapshot.meta.index >= meta.index) return;
    this.snapshot = { meta, image: new Uint8Array() };
  }

  /** The WAL's reset: the log now ends at (index, term) and holds nothing before or after. */
  resetLog(index: number, term: number): void {
    if (this.entries.length > 0) this.shrinks++;
    this.entries = [];
    this.offset = index;
    this.offsetTerm = term;
  }

  /**
   * A SnapshotStore for one incarnation over the in-memory state machine `fsm`;
   * `incoming` holds images received from leaders.
   */
  snapshots(
    alive: () => boolean,
    deliver: (fn: () => void) => void,
    incoming: Map<number, Uint8Array>,
    fsm: MemoryStore,
    onInstallDurable: (meta: SnapshotMeta) => void = () => {},
  ): SnapshotStore {
    const save = (meta: SnapshotMeta, image: Uint8Array, installed = () => {}) =>
      new Promise<void>((resolve) => {
        this.queue.after(this.rng.between(0.5, 8), () => {
          if (!alive()) return;
          this.installSnapshot({ meta, image });
          installed();
          deliver(resolve);
        });
      });
    return {
      capture: (meta) => save(meta, fsm.snapshot()),
      install: async (meta) => {
        const image = incoming.get(meta.index);
        if (image === undefined) throw new Error(`sim: snapshot image ${meta.index} missing`);
        // The blobs come with the image and are swapped in with it, atomically (state/).
        await save(meta, image, () => onInstallDurable(meta));
        fsm.restore(image);
      },
    };
  }

  /**
   * The node crashed: its write in flight is lost, or (with `tornP`) a prefix survives.
   * If the write changed the term or vote, the HARDSTATE sync before the log write may
   * have completed (half the time): the new term and vote survive either way.
   */
  crash(tornP: number): string {
    const write = this.inFlight;
    this.inFlight = null;
    if (write === null) return "";
    const notes: string[] = [];
    const voted = write.hardState;
    const current = this.hardState;
    if (
      voted !== null &&
      (voted.term !== current.term || voted.vote !== current.vote) &&
      this.rng.chance(0.5)
    ) {
      this.hardState = { term: voted.term, vote: voted.vote, commit: current.commit };
      notes.push(`term ${voted.term} vote ${voted.vote} reached HARDSTATE`);
    }
    if (!this.rng.chance(tornP)) return notes.join("; ");
    const records = write.entries.length + (write.hardState ? 1 : 0);
    const kept = this.rng.int(records + 1);
    const entries = write.entries.slice(0, kept);
    const hs = kept > write.entries.length ? write.hardState : null;
    if (kept > 0 && voted !== null && notes.length === 0 && hs === null) {
      // Records of the log write reached the disk, so the HARDSTATE sync before it had
      // completed (WAL.recordVote): the new term and vote survive with them.
      if (voted.term !== current.term || voted.vote !== current.vote) {
        this.hardState = { term: voted.term, vote: voted.vote, commit: current.commit };
        notes.push(`term ${voted.term} vote ${voted.vote} reached HARDSTATE`);
      }
    }
    this.makeDurable(entries, hs);
    notes.push(`torn write: ${kept}/${records} records survived`);
    return notes.join("; ");
  }

  /**
   * Stores a snapshot. As in §7: if the log holds the snapshot's last entry, the entries
   * after it are kept; otherwise the whole log is replaced by the snapshot.
   */
  private installSnapshot(snapshot: StoredSnapshot): void {
    const { index, term } = snapshot.meta;
    if (this.snapshot !== null && this.snapshot.meta.index >= index) return;
    this.snapshot = snapshot;
    const held = index === this.offset ? this.offsetTerm : this.entryAt(index)?.term;
    if (held !== term) {
      if (this.entries.length > 0) this.shrinks++;
      this.entries = [];
      this.offset = index;
      this.offsetTerm = term;
    }
  }

  /** Drops durable entries up to `index` (a durable snapshot must cover them). */
  private compact(index: number): void {
    if (index <= this.offset) return;
    if (this.snapshot === null || this.snapshot.meta.index < index) {
      throw new Error(`sim disk: compaction to ${index} without a snapshot covering it`);
    }
    const term = this.entryAt(index)?.term;
    if (term === undefined) return;
    this.entries = this.entries.slice(index - this.offset);
    this.offset = index;
    this.offsetTerm = term;
  }

  private makeDurable(entries: readonly Entry[], hardState: HardState | null): void {
    const fresh = entries.filter((e) => e.index > this.offset);
    const first = fresh[0];
    if (first !== undefined) {
      if (first.index > this.lastIndex() + 1) {
        throw new Error(`sim disk: gap writing ${first.index} after ${this.lastIndex()}`);
      }
      if (first.index <= this.lastIndex()) this.shrinks++;
      this.entries.length = first.index - this.offset - 1;
      for (const e of fresh) this.entries.push(e);
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
