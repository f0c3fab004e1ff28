/**
 * The driver-facing interface of the core (etcd-io/raft's Ready/Advance): the driver
 * feeds inputs, then repeatedly takes a Ready, persists its entries and hard state
 * (fsync), sends its messages, applies its committed entries, and calls `advance`.
 * Inputs may arrive between `ready()` and `advance()`; they land in the next Ready.
 */
import type { RaftConfig } from "./config.ts";
import type { Membership } from "./membership.ts";
import type { DropReason } from "./message-rules.ts";
import type { Message, SnapshotMeta } from "./messages.ts";
import { type ActiveMembership, type ProposalPosition, Raft, type RaftInit } from "./raft.ts";
import type { ReadState } from "./read-only.ts";
import type { PeerProgress } from "./replicator.ts";
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
  /**
   * The configuration now in force, when it changed since the previous Ready (a
   * configuration entry became known committed, or a snapshot brought one): the driver
   * updates whom it can reach and how. Null when unchanged.
   */
  readonly membership: ActiveMembership | null;
}

/** Upper bound on entry bytes handed to the state machine per Ready, so applying stays incremental. */
const MAX_APPLY_BYTES = 64 * 1024 * 1024;

/**
 * What a node reports about itself (etcd's `Status()`): a copy, so holding it changes
 * nothing. `progress` is the leader's view of each follower (empty on a non-leader).
 */
export interface Status {
  readonly id: NodeId;
  readonly term: number;
  readonly vote: NodeId;
  readonly role: Role;
  readonly leader: NodeId;
  /** Highest index known committed. */
  readonly commit: number;
  /** Highest index handed to the state machine and acknowledged through `advance`. */
  readonly applied: number;
  /** Index of the first entry still in the log (after compaction: compacted + 1). */
  readonly firstIndex: number;
  readonly lastIndex: number;
  /** Highest index known durable here. */
  readonly stableIndex: number;
  /** Index and term of the last entry folded into a snapshot (0, 0 before any). */
  readonly compacted: { readonly index: number; readonly term: number };
  readonly progress: ReadonlyMap<NodeId, PeerProgress>;
  /** The configuration in force and the index of the entry that set it (0: bootstrap). */
  readonly membership: ActiveMembership;
  /** Index of a configuration change this leader proposed that is not committed yet (0: none). */
  readonly pendingConfig: number;
  /** The voter a leadership transfer is handing over to (0: none under way). */
  readonly transferee: NodeId;
}

/** How testing.ts reaches the Raft inside a RawNode (set by RawNode's static block). */
let coreOf: (node: RawNode) => Raft;

/** Test-only: the Raft a RawNode wraps. Import it from testing.ts, never from src/. */
export function rawNodeCoreForTesting(node: RawNode): Raft {
  return coreOf(node);
}

/** Wraps a Raft node with Ready/advance bookkeeping; the only way other layers reach the core. */
export class RawNode {
  readonly #raft: Raft;
  static {
    coreOf = (node) => node.#raft;
  }
  private lastHardState: HardState;
  /** The configuration the driver was last told about (Ready.membership). */
  private lastMembership: ActiveMembership;

  constructor(config: RaftConfig, init: RaftInit) {
    this.#raft = new Raft(config, init);
    this.lastHardState = this.#raft.hardState();
    this.lastMembership = this.#raft.membership;
  }

  // ---- inputs ---------------------------------------------------------------------------

  /** See {@link Raft.tick}. */
  tick(): void {
    this.#raft.tick();
  }

  /** See {@link Raft.step}. Messages addressed to another node are dropped (counted). */
  step(message: Message): void {
    this.#raft.step(message);
  }

  /** See {@link Raft.propose}. */
  propose(commands: readonly Uint8Array[]): ProposalPosition[] {
    return this.#raft.propose(commands);
  }

  /** See {@link Raft.proposeMembership}. */
  proposeMembership(next: Membership): ProposalPosition {
    return this.#raft.proposeMembership(next);
  }

  /**
   * See {@link Raft.transferLeadership}: hands leadership to `to` (0: the most caught-up
   * voter); returns the target. Throws NotLeaderError or ConfigChangeError.
   */
  transferLeadership(to: NodeId = 0): NodeId {
    return this.#raft.transferLeadership(to);
  }

  /** See {@link Raft.readIndex}. */
  readIndex(context: number): void {
    this.#raft.readIndex(context);
  }

  /** Starts a (pre-)election now instead of waiting for the timeout (etcd's `Campaign`). */
  campaign(kind: "preVote" | "vote" = "preVote"): void {
    this.#raft.campaign(kind);
  }

  /** See {@link Raft.reportSnapshot}. */
  reportSnapshot(to: number, ok: boolean): void {
    this.#raft.reportSnapshot(to, ok);
  }

  /** See {@link Raft.snapshotTaken}. */
  snapshotTaken(meta: SnapshotMeta): void {
    this.#raft.snapshotTaken(meta);
  }

  /** See {@link Raft.compact}. */
  compact(index: number): void {
    this.#raft.compact(index);
  }

  /**
   * Swaps durable entries (index <= stableIndex, same index, term and kind) for the form
   * the driver persisted them in: an upload chunk whose bytes went to the node's blob
   * store is kept as its small stored form, so the log stops holding file data. Entries
   * truncated or not yet durable are skipped. Returns how many were swapped.
   */
  replacePersisted(entries: readonly Entry[]): number {
    return this.#raft.replacePersisted(entries);
  }

  // ---- queries --------------------------------------------------------------------------

  /** Current role, leader and term. */
  softState(): SoftState {
    return { role: this.#raft.role, leader: this.#raft.leader, term: this.#raft.term };
  }

  /** Term, role, log positions and (on a leader) each follower's progress. */
  status(): Status {
    const r = this.#raft;
    const log = r.log;
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.leader,
      commit: log.committed,
      applied: log.applied,
      firstIndex: log.firstIndex(),
      lastIndex: log.lastIndex(),
      stableIndex: log.stableIndex,
      compacted: log.compactedTo(),
      progress: r.progressOf(),
      membership: r.membership,
      pendingConfig: r.pendingConfig,
      transferee: r.transferee,
    };
  }

  /** The hard state as the core holds it now (persisted or about to be). */
  hardState(): HardState {
    return this.#raft.hardState();
  }

  /** Term of the entry at `index` if the log still holds it (or it is the compaction point). */
  termAt(index: number): number | undefined {
    return this.#raft.log.termAt(index);
  }

  /** The entry at `index` if the log still holds it (entries are immutable). */
  entryAt(index: number): Entry | undefined {
    return this.#raft.log.entryAt(index);
  }

  /**
   * The configuration in force at `index` (not before the compaction point): what a
   * snapshot taken at `index` must carry, so a restart from it knows its cluster.
   */
  membershipAt(index: number): Membership {
    return this.#raft.membershipAt(index);
  }

  /** The snapshot a received InstallSnapshot asks the next Ready to install, if any. */
  pendingSnapshot(): SnapshotMeta | null {
    return this.#raft.snapshotToInstall;
  }

  /** Peer messages the core refused so far, per reason (see {@link Raft.drops}). */
  droppedMessages(): ReadonlyMap<DropReason, number> {
    return new Map(this.#raft.drops);
  }

  // ---- Ready / advance ------------------------------------------------------------------

  /** True when a Ready would contain work. */
  hasReady(): boolean {
    const r = this.#raft;
    return (
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.snapshotToInstall !== null ||
      r.log.stableIndex < r.log.lastIndex() ||
      r.log.hasNextCommittedEntries() ||
      r.membership !== this.lastMembership ||
      !hardStateEqual(r.hardState(), this.lastHardState)
    );
  }

  /** Collects the pending work; see {@link Ready} for what the driver must do with it. */
  ready(): Ready {
    const r = this.#raft;
    const hs = r.hardState();
    return {
      softState: this.softState(),
      snapshot: r.takeSnapshotToInstall(),
      hardState: hardStateEqual(hs, this.lastHardState) ? null : hs,
      entries: r.log.unstableEntries(),
      messages: r.takeMessages(),
      committedEntries: r.log.nextCommittedEntries(MAX_APPLY_BYTES),
      readStates: r.takeReadStates(),
      membership: this.takeMembershipChange(),
    };
  }

  /** The configuration in force if the driver has not been told of it yet. */
  private takeMembershipChange(): ActiveMembership | null {
    const now = this.#raft.membership;
    if (now === this.lastMembership) return null;
    this.lastMembership = now;
    return now;
  }

  /** Marks a Ready as done: its entries are durable and its committed entries applied. */
  advance(ready: Ready): void {
    if (ready.hardState !== null) this.lastHardState = ready.hardState;
    const lastApplied = ready.committedEntries[ready.committedEntries.length - 1];
    // A snapshot installed meanwhile may already have moved applied past these entries.
    if (lastApplied !== undefined && lastApplied.index > this.#raft.log.applied) {
      this.#raft.appliedTo(lastApplied.index);
    }
    const lastStable = ready.entries[ready.entries.length - 1];
    if (lastStable !== undefined) this.#raft.onStable(lastStable.index, lastStable.term);
  }
}
