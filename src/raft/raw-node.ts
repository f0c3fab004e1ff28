/**
 * The driver-facing interface of the core (etcd-io/raft's Ready/Advance): the driver
 * feeds inputs, then repeatedly takes a Ready, persists its entries and hard state
 * (fsync), sends its messages, applies its committed entries, and calls `advance`.
 * Inputs may arrive between `ready()` and `advance()`; they land in the next Ready.
 */
import type { RaftConfig } from "./config.ts";
import type { DropReason } from "./message-rules.ts";
import type { Message, SnapshotMeta } from "./messages.ts";
import { type ProposalPosition, Raft, type RaftInit } from "./raft.ts";
import type { ReadState } from "./read-only.ts";
import { type Entry, type HardState, hardStateEqual, type NodeId, type Role } from "./types.ts";

/** Volatile state worth reporting (status pages, logs); never persisted. */
export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
  readonly term: number;
}

/**
 * One batch of work for the driver, to be done in this order:
 * 0. if `snapshot` is set, install that received snapshot durably (state machine image
 *    and a log that now starts after it) before anything else;
 * 1. persist `entries` (superseding any stored at index >= entries[0].index) and
 *    `hardState` if non-null, with one fsync;
 * 2. only then send `messages` (they may promise the persisted state; a leader may send
 *    its appends and heartbeats earlier, and messages that promise nothing about its own
 *    disk, such as commit notices, later, even after advance);
 * 3. apply `committedEntries` in order and serve `readStates` once applied >= their index;
 * 4. call `advance(ready)`.
 */
export interface Ready {
  readonly softState: SoftState;
  readonly snapshot: SnapshotMeta | null;
  readonly hardState: HardState | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly committedEntries: readonly Entry[];
  readonly readStates: readonly ReadState[];
}

/** Upper bound on entry bytes handed to the state machine per Ready, so applying stays incremental. */
const MAX_APPLY_BYTES = 64 * 1024 * 1024;

/** Wraps a Raft node with Ready/advance bookkeeping. */
export class RawNode {
  readonly raft: Raft;
  private lastHardState: HardState;

  constructor(config: RaftConfig, init: RaftInit) {
    this.raft = new Raft(config, init);
    this.lastHardState = this.raft.hardState();
  }

  /** See {@link Raft.tick}. */
  tick(): void {
    this.raft.tick();
  }

  /** See {@link Raft.step}. Messages addressed to another node are dropped (counted). */
  step(message: Message): void {
    this.raft.step(message);
  }

  /** Peer messages the core refused so far, per reason (see {@link Raft.drops}). */
  droppedMessages(): ReadonlyMap<DropReason, number> {
    return this.raft.drops;
  }

  /** See {@link Raft.propose}. */
  propose(commands: readonly Uint8Array[]): ProposalPosition[] {
    return this.raft.propose(commands);
  }

  /** See {@link Raft.readIndex}. */
  readIndex(context: number): void {
    this.raft.readIndex(context);
  }

  /** See {@link Raft.reportSnapshot}. */
  reportSnapshot(to: number, ok: boolean): void {
    this.raft.reportSnapshot(to, ok);
  }

  /** See {@link Raft.snapshotTaken}. */
  snapshotTaken(meta: SnapshotMeta): void {
    this.raft.snapshotTaken(meta);
  }

  /** See {@link Raft.compact}. */
  compact(index: number): void {
    this.raft.compact(index);
  }

  /** Current role, leader and term. */
  softState(): SoftState {
    return { role: this.raft.role, leader: this.raft.leader, term: this.raft.term };
  }

  /** True when a Ready would contain work. */
  hasReady(): boolean {
    const r = this.raft;
    return (
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.snapshotToInstall !== null ||
      r.log.stableIndex < r.log.lastIndex() ||
      r.log.hasNextCommittedEntries() ||
      !hardStateEqual(r.hardState(), this.lastHardState)
    );
  }

  /** Collects the pending work; see {@link Ready} for what the driver must do with it. */
  ready(): Ready {
    const r = this.raft;
    const hs = r.hardState();
    const ready: Ready = {
      softState: this.softState(),
      snapshot: r.snapshotToInstall,
      hardState: hardStateEqual(hs, this.lastHardState) ? null : hs,
      entries: r.log.unstableEntries(),
      messages: r.msgs,
      committedEntries: r.log.nextCommittedEntries(MAX_APPLY_BYTES),
      readStates: r.readStates,
    };
    r.msgs = [];
    r.readStates = [];
    r.snapshotToInstall = null;
    return ready;
  }

  /** Marks a Ready as done: its entries are durable and its committed entries applied. */
  advance(ready: Ready): void {
    if (ready.hardState !== null) this.lastHardState = ready.hardState;
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    // A snapshot installed meanwhile may already have moved applied past these entries.
    if (lastApplied !== undefined && lastApplied.index > this.raft.log.applied) {
      this.raft.log.appliedTo(lastApplied.index);
    }
    const lastStable = ready.entries[ready.entries.length - 1];
    if (lastStable !== undefined) this.raft.onStable(lastStable.index, lastStable.term);
  }
}
