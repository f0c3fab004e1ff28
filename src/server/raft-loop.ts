/**
 * The one event loop of a node (DESIGN.md "Data flow"): ticks the core, and for each
 * Ready persists entries and hard state with one fsync, then sends messages, applies
 * committed entries and serves confirmed reads (a leader sends its appends before its own
 * fsync, and its commit notices after the answers they would delay: see splitMessages and
 * answersFirst). Proposals and reads that arrive while a Ready is being persisted are
 * batched into the next one: that is the group commit.
 */
import { DfsError } from "../api/errors.ts";
import type { ApplyResult, StateMachine } from "../fsm/index.ts";
import {
  type Entry,
  type HardState,
  InvariantError,
  type Message,
  NotLeaderError,
  type RawNode,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
  type SnapshotRequest,
} from "../raft/index.ts";
import type { LoopClock } from "./loop-clock.ts";

/** What a committed proposal produced. */
export interface CommitOutcome {
  readonly index: number;
  readonly result: ApplyResult;
}

/** Where the loop makes entries and hard state durable (the WAL, or the simulator's disk). */
export interface LogWriter {
  /** Resolves only once everything passed is durable (fsync returned). */
  save(entries: readonly Entry[], hardState: HardState | null): Promise<void>;
  /** Drops durable entries up to `index` (a durable snapshot covers them). */
  compact?(index: number): Promise<void>;
  /** A snapshot replaced the log: it now ends at (index, term) and holds nothing before. */
  reset?(index: number, term: number): Promise<void>;
}

/** Durable snapshots of the state machine (the node's on-disk store, or the simulator's disk). */
export interface SnapshotStore {
  /**
   * Makes the state machine's state through `meta.index` durable as a snapshot, so the log
   * before it may go. (An on-disk store writes what it still holds in memory and syncs.)
   */
  capture(meta: SnapshotMeta): Promise<void>;
  /**
   * Durably replaces the state machine's state with the snapshot at `meta` received from
   * the leader (the transport fetched and verified it before handing the core the
   * InstallSnapshot message).
   */
  install(meta: SnapshotMeta): Promise<void>;
}

/** When to snapshot and how much log to keep (see the defaults' rationale in config.ts). */
export interface SnapshotPolicy {
  readonly store: SnapshotStore;
  /** Take a snapshot once this many entries were applied since the last one. */
  readonly everyEntries: number;
  /** ... or once this many bytes of entries were applied since the last one. */
  readonly everyBytes?: number;
  /** Entries kept after a snapshot, so briefly lagging followers still get appends. */
  readonly keepEntries: number;
  /** ... but never more than this many bytes of them (the log tail lives in memory). */
  readonly keepBytes?: number;
  /**
   * Lowest index still needed after a snapshot being streamed to a follower (Infinity if
   * none): compaction stops short of it, so the follower can continue from its snapshot
   * with appends instead of needing another snapshot forever (etcd #2662, #4055).
   */
  readonly pinnedIndex?: () => number;
}

/** Where the loop sends messages to peers (the gRPC transport, or the simulated network). */
export interface MessageSink {
  send(messages: readonly Message[]): void;
}

/** The part of a logger the loop uses. */
export interface LoopLogger {
  info(fields: object, message: string): void;
}

/** Collaborators of the loop; all owned by the node. */
export interface RaftLoopDeps {
  readonly node: RawNode;
  readonly wal: LogWriter;
  readonly transport: MessageSink;
  readonly fsm: StateMachine;
  readonly tickMs: number;
  readonly clock: LoopClock;
  readonly logger: LoopLogger;
  /** Absent: the log is never compacted. */
  readonly snapshots?: SnapshotPolicy;
  /** Client address of a node id, for NOT_LEADER hints. */
  readonly addressOf: (id: number) => string | undefined;
  /** Persisting failed: the node cannot go on safely (the state on disk is unknown). */
  readonly onFatal: (error: Error) => void;
  /**
   * Whether a failed write failed for lack of space. Then the loop does not stop: it
   * holds still (like a paused node: no ticks, messages dropped, writes and linearizable
   * reads refused, serializable reads still served) and retries the same write every
   * {@link DISK_FULL_RETRY_MS} until space is freed. Absent: every failure is fatal.
   */
  readonly lackOfSpace?: (error: Error) => Promise<boolean>;
}

/** How often a node whose disk is full retries its pending write. */
export const DISK_FULL_RETRY_MS = 1000;

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

/** Longest a request waits inside the node before failing as unavailable (indeterminate). */
const REQUEST_TIMEOUT_MS = 30_000;

/** Drives one RawNode. */
export class RaftLoop {
  private readonly d: RaftLoopDeps;
  private cancelTicks: (() => void) | undefined;
  private drainScheduled = false;
  private draining: Promise<void> | null = null;
  private stopped = false;
  private proposalQueue: (Waiter<CommitOutcome> & { data: Uint8Array })[] = [];
  private readonly pendingProposals = new Map<number, Waiter<CommitOutcome> & { term: number }>();
  private readQueue: Waiter<void>[] = [];
  /** Messages waiting for this Ready's answers to go out first (see answersFirst). */
  private heldMessages: Message[] = [];
  private readonly readsByContext = new Map<number, Waiter<void>[]>();
  private readsAwaitingApply: { index: number; waiters: Waiter<void>[] }[] = [];
  private nextReadContext = 1;
  private persistedHardState: HardState;
  private latestHardState: HardState;
  private role: Role = "follower";
  private ticks = 0;
  /** Index of the newest durable snapshot (0 before any). */
  private lastSnapshotIndex = 0;
  /** Bytes of entries applied since that snapshot. */
  private bytesSinceSnapshot = 0;
  /** The last write failed for lack of space and is being retried. */
  private diskFull = false;

  constructor(deps: RaftLoopDeps, recoveredHardState: HardState) {
    this.d = deps;
    this.lastSnapshotIndex = deps.node.status().compacted.index;
    this.persistedHardState = recoveredHardState;
    this.latestHardState = recoveredHardState;
  }

  /** Starts ticking; recovered committed entries are applied on the first drain. */
  start(): void {
    this.cancelTicks = this.d.clock.every(this.d.tickMs, () => this.onTick());
    this.scheduleDrain();
  }

  /** Stops the loop, waits for an in-progress persist, and fails every waiting request. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTicks?.();
    await this.draining;
    this.failAll(new DfsError("unavailable", "node is shutting down"));
  }

  /** Hands messages from peers to the core (dropped while the disk is full). */
  deliver(messages: readonly Message[]): void {
    if (this.stopped || this.diskFull) return;
    try {
      for (const m of messages) this.d.node.step(m);
    } catch (error) {
      // The core drops bad peer input itself; a throw here is its own invariant check
      // failing (a bug): stop before anything of that state is persisted or acknowledged.
      this.halt(error as Error);
      return;
    }
    this.scheduleDrain();
  }

  /** Proposes a command; resolves once it is committed and applied here. */
  propose(data: Uint8Array): Promise<CommitOutcome> {
    this.assertLeader();
    return new Promise((resolve, reject) => {
      this.proposalQueue.push({ data, resolve, reject, deadline: this.deadline() });
      this.scheduleDrain();
    });
  }

  /** Resolves when a linearizable read may be served from the local state machine (ReadIndex). */
  linearizableRead(): Promise<void> {
    this.assertLeader();
    return new Promise((resolve, reject) => {
      this.readQueue.push({ resolve, reject, deadline: this.deadline() });
      this.scheduleDrain();
    });
  }

  /**
   * Hands the core an InstallSnapshot whose image the transport received completely and
   * verified; returns whether the core will install it (the next Ready carries it) or
   * ignored it (this node already has everything it covers).
   */
  deliverSnapshot(m: SnapshotRequest): boolean {
    if (this.stopped || this.diskFull) return false;
    try {
      this.d.node.step(m);
    } catch (error) {
      this.halt(error as Error); // an invariant check failed: see deliver
      return false;
    }
    const pending = this.d.node.pendingSnapshot();
    this.scheduleDrain();
    return (
      pending !== null && pending.index === m.snapshot.index && pending.term === m.snapshot.term
    );
  }

  /**
   * The transport reports how streaming a snapshot to `to` ended; on failure the core
   * retries after the follower's next heartbeat reply.
   */
  reportSnapshot(to: number, ok: boolean): void {
    if (this.stopped) return;
    this.d.node.reportSnapshot(to, ok);
    this.scheduleDrain();
  }

  /** Throws the typed error a client should see unless this node can take writes now. */
  checkLeader(): void {
    this.assertLeader();
  }

  /** Current role and leader, for status and redirects. */
  softState(): { role: Role; leader: number; term: number } {
    return this.d.node.softState();
  }

  // ---- loop ---------------------------------------------------------------------------

  private onTick(): void {
    if (!this.diskFull) {
      try {
        this.d.node.tick();
      } catch (error) {
        this.halt(error as Error); // an invariant check failed: see deliver
        return;
      }
      this.d.fsm.writeBehindIfDue?.();
    }
    if (++this.ticks % 20 === 0) this.expireWaiters();
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    this.d.clock.defer(() => {
      this.drainScheduled = false;
      if (this.draining === null)
        this.draining = this.drain().finally(() => (this.draining = null));
      else this.drainScheduled = false;
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        this.flushProposals();
        this.flushReads();
        if (this.stopped || !this.d.node.hasReady()) return;
        await this.handleReady(this.d.node.ready());
      }
    } catch (error) {
      if (this.stopped) return; // stopped while waiting for disk space: nothing to report
      this.halt(error as Error);
    }
  }

  /** Stops for good: nothing more is persisted, sent or acknowledged; the node reports why. */
  private halt(error: Error): void {
    this.stopped = true;
    this.cancelTicks?.();
    this.failAll(
      new DfsError(
        "unavailable",
        error instanceof InvariantError
          ? "node stopped on an internal error (a Raft invariant check failed)"
          : "node failed to persist its log",
      ),
    );
    this.d.onFatal(error);
  }

  private async handleReady(rd: Ready): Promise<void> {
    this.sendHeldMessages();
    if (rd.snapshot !== null) await this.installSnapshot(rd.snapshot);
    const { early, late } = this.splitMessages(rd);
    if (this.answersFirst(rd)) {
      const notices = early.filter(isCommitNotice);
      this.d.transport.send(early.filter((m) => !isCommitNotice(m)));
      await this.retryWhileDiskFull(() => this.persist(rd)); // notes the commit; writes nothing
      this.d.transport.send(late);
      await this.retryWhileDiskFull(async () => this.apply(rd.committedEntries));
      this.holdUntilAnswered(notices);
    } else {
      this.d.transport.send(early);
      await this.retryWhileDiskFull(() => this.persist(rd));
      this.d.transport.send(late);
      await this.retryWhileDiskFull(async () => this.apply(rd.committedEntries));
    }
    this.acceptReadStates(rd.readStates);
    this.d.node.advance(rd);
    this.onSoftState(rd.softState.role);
    await this.maybeSnapshot();
  }

  /**
   * A leader's Ready that writes nothing to its log but commits entries (an ack arrived):
   * its commit notices (appends without entries) tell followers what they may apply, which
   * nobody waits on, while the clients whose writes just committed do. Such a Ready applies
   * and answers first and sends its notices after; its other messages (heartbeats with a
   * ReadIndex context, catch-up appends, snapshots) go out before the apply, as always. At
   * one put in flight this takes two message sends off each put's path.
   */
  private answersFirst(rd: Ready): boolean {
    if (rd.softState.role !== "leader" || rd.snapshot !== null) return false;
    if (rd.entries.length > 0 || rd.committedEntries.length === 0) return false;
    const hs = rd.hardState;
    const p = this.persistedHardState;
    return hs === null || (hs.term === p.term && hs.vote === p.vote);
  }

  /**
   * Sends `messages` (commit notices) once the answers settled by this Ready's apply are
   * on their way: those run as promise continuations, all before a deferred call. Anything
   * still held when the next Ready is handled goes out first, so messages to a peer keep
   * their order.
   */
  private holdUntilAnswered(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    for (const m of messages) this.heldMessages.push(m);
    this.d.clock.defer(() => this.sendHeldMessages());
  }

  private sendHeldMessages(): void {
    if (this.heldMessages.length === 0 || this.stopped) return;
    const messages = this.heldMessages;
    this.heldMessages = [];
    this.d.transport.send(messages);
  }

  /**
   * A leader's appends and heartbeats promise nothing about its own disk, so they go out
   * while it writes its log (Raft thesis §10.2.1): leader and followers fsync in parallel,
   * and the leader counts itself toward a commit only after its own fsync (onStable).
   * Everything else — votes, acks, anything from a term or vote not yet durable — waits.
   */
  private splitMessages(rd: Ready): { early: readonly Message[]; late: readonly Message[] } {
    const durableTerm =
      rd.hardState === null ||
      (rd.hardState.term === this.persistedHardState.term &&
        rd.hardState.vote === this.persistedHardState.vote);
    if (rd.softState.role !== "leader" || !durableTerm) return { early: [], late: rd.messages };
    const early: Message[] = [];
    const late: Message[] = [];
    for (const m of rd.messages) {
      if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") early.push(m);
      else late.push(m);
    }
    return { early, late };
  }

  /**
   * A snapshot from the leader replaces our state: install it durably, then record in the
   * log that it starts after the snapshot (a crash between the two is repaired at start:
   * the state machine is ahead of the log).
   */
  private async installSnapshot(meta: SnapshotMeta): Promise<void> {
    const policy = this.d.snapshots;
    if (policy === undefined) {
      throw new Error(`snapshot ${meta.index}@${meta.term} to install but snapshots are off`);
    }
    await policy.store.install(meta);
    // The store already holds the snapshot durably; resetting the log may wait for space.
    await this.retryWhileDiskFull(async () => this.d.wal.reset?.(meta.index, meta.term));
    this.lastSnapshotIndex = meta.index;
    this.bytesSinceSnapshot = 0;
    this.serveReads();
  }

  /**
   * Every `everyEntries` applied entries (or `everyBytes`): make the state machine durable
   * as a snapshot, then let the core and the log forget entries before it (keeping a tail
   * for slow followers, and whatever a snapshot in flight still needs).
   */
  private async maybeSnapshot(): Promise<void> {
    const policy = this.d.snapshots;
    const applied = this.d.fsm.appliedIndex;
    if (policy === undefined || !this.snapshotDue(policy, applied)) return;
    const term = this.d.node.termAt(applied);
    if (term === undefined) return;
    const meta = { index: applied, term };
    if (!(await this.captured(policy, meta))) return;
    this.lastSnapshotIndex = applied;
    this.bytesSinceSnapshot = 0;
    this.d.node.snapshotTaken(meta);
    const compactTo = this.compactionPoint(policy, applied);
    if (compactTo > this.d.node.status().compacted.index) {
      this.d.node.compact(compactTo);
      try {
        await this.d.wal.compact?.(compactTo);
      } catch (error) {
        // No room for a new segment: keep the old ones; the next snapshot compacts further.
        if (!(await this.d.lackOfSpace?.(error as Error))) throw error;
        this.d.logger.info(
          { err: (error as Error).message },
          "log compaction postponed: disk full",
        );
      }
    }
  }

  /**
   * Captures a snapshot; false if the disk is too full to write the store now (nothing is
   * compacted then; the next applied batch tries again).
   */
  private async captured(policy: SnapshotPolicy, meta: SnapshotMeta): Promise<boolean> {
    try {
      await policy.store.capture(meta);
      return true;
    } catch (error) {
      if (!(await this.d.lackOfSpace?.(error as Error))) throw error;
      this.d.logger.info({ err: (error as Error).message }, "snapshot postponed: disk full");
      return false;
    }
  }

  private snapshotDue(policy: SnapshotPolicy, applied: number): boolean {
    if (applied - this.lastSnapshotIndex >= policy.everyEntries) return true;
    return policy.everyBytes !== undefined && this.bytesSinceSnapshot >= policy.everyBytes;
  }

  /** Where to compact to: keep `keepEntries` (at most `keepBytes`), never past a pin. */
  private compactionPoint(policy: SnapshotPolicy, applied: number): number {
    const status = this.d.node.status();
    let point = Math.min(applied - policy.keepEntries, status.stableIndex);
    if (policy.keepBytes !== undefined) {
      let kept = 0;
      for (let i = applied; i > Math.max(point, status.compacted.index); i--) {
        kept += this.d.node.entryAt(i)?.data.length ?? 0;
        if (kept > policy.keepBytes) {
          point = Math.min(i, status.stableIndex);
          break;
        }
      }
    }
    return Math.min(point, (policy.pinnedIndex?.() ?? Number.POSITIVE_INFINITY) - 1);
  }

  /**
   * Runs a disk write; if it fails for lack of space, holds the node still and retries the
   * same write until it succeeds (the WAL cut off any partial write; the store fails
   * before applying anything, its write-behind transaction rolled back), or the node stops.
   */
  private async retryWhileDiskFull(write: () => Promise<void>): Promise<void> {
    for (;;) {
      try {
        await write();
        if (this.diskFull) this.setDiskFull(false);
        return;
      } catch (error) {
        if (this.stopped || !(await this.d.lackOfSpace?.(error as Error))) throw error;
        if (!this.diskFull) this.setDiskFull(true, error as Error);
        await this.pause(DISK_FULL_RETRY_MS);
        if (this.stopped) throw error;
      }
    }
  }

  private setDiskFull(full: boolean, error?: Error): void {
    this.diskFull = full;
    if (full) {
      this.d.logger.info(
        { err: error?.message },
        "disk full: refusing writes until space is freed; retrying every second",
      );
      this.failAll(diskFullError("the write's outcome is unknown"));
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

  /**
   * Writes entries and the hard state with one fsync before anything that depends on them
   * is sent. A change of commit index alone is not synced on its own: it only saves
   * re-learning the commit after a crash, so it rides along with the next write.
   */
  private async persist(rd: Ready): Promise<void> {
    if (rd.hardState !== null) this.latestHardState = rd.hardState;
    const hs = this.latestHardState;
    const p = this.persistedHardState;
    const termOrVoteChanged = hs.term !== p.term || hs.vote !== p.vote;
    if (rd.entries.length === 0 && !termOrVoteChanged) return;
    const hsChanged = termOrVoteChanged || hs.commit !== p.commit;
    await this.d.wal.save(rd.entries, hsChanged ? hs : null);
    this.persistedHardState = hs;
  }

  private apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const results = this.d.fsm.applyEntries(entries);
    entries.forEach((entry, i) => {
      this.bytesSinceSnapshot += entry.data.length;
      this.settleProposal(entry, results[i] as ApplyResult);
    });
    this.serveReads();
  }

  private settleProposal(entry: Entry, result: ApplyResult): void {
    const waiter = this.pendingProposals.get(entry.index);
    if (waiter === undefined) return;
    this.pendingProposals.delete(entry.index);
    if (waiter.term === entry.term) waiter.resolve({ index: entry.index, result });
    else
      waiter.reject(
        new DfsError(
          "unavailable",
          "leadership changed before the write committed; it was not applied",
        ),
      );
  }

  // ---- proposals and reads ------------------------------------------------------------

  private flushProposals(): void {
    if (this.proposalQueue.length === 0) return;
    const batch = this.proposalQueue;
    this.proposalQueue = [];
    try {
      const positions = this.d.node.propose(batch.map((p) => p.data));
      positions.forEach((pos, i) => {
        const w = batch[i] as Waiter<CommitOutcome>;
        this.pendingProposals.set(pos.index, { ...w, term: pos.term });
      });
    } catch (error) {
      if (error instanceof InvariantError) {
        // The core appended before its check failed: fail-stop like any other invariant
        // failure (drain halts), and these clients hear the halt's answer with the rest.
        this.proposalQueue = [...batch, ...this.proposalQueue];
        throw error;
      }
      // Not the leader, or the log is full: refused before the core changed anything.
      for (const w of batch) w.reject(this.translate(error));
    }
  }

  private flushReads(): void {
    if (this.readQueue.length === 0) return;
    const waiters = this.readQueue;
    this.readQueue = [];
    const context = this.nextReadContext++;
    try {
      this.d.node.readIndex(context);
      this.readsByContext.set(context, waiters);
    } catch (error) {
      if (error instanceof InvariantError) {
        this.readQueue = [...waiters, ...this.readQueue]; // as in flushProposals
        throw error;
      }
      for (const w of waiters) w.reject(this.translate(error));
    }
  }

  private acceptReadStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const waiters = this.readsByContext.get(rs.context);
      if (waiters === undefined) continue;
      this.readsByContext.delete(rs.context);
      this.readsAwaitingApply.push({ index: rs.index, waiters });
    }
    this.serveReads();
  }

  private serveReads(): void {
    const applied = this.d.fsm.appliedIndex;
    const ready = this.readsAwaitingApply.filter((r) => r.index <= applied);
    if (ready.length === 0) return;
    this.readsAwaitingApply = this.readsAwaitingApply.filter((r) => r.index > applied);
    for (const r of ready) for (const w of r.waiters) w.resolve();
  }

  private onSoftState(role: Role): void {
    if (role === this.role) return;
    const previous = this.role;
    this.role = role;
    const ss = this.d.node.softState();
    this.d.logger.info({ role, term: ss.term, leader: ss.leader }, `role ${previous} -> ${role}`);
    if (previous === "leader") {
      // Unconfirmed reads can no longer be confirmed by this node; writes may still commit.
      const error = this.notLeader();
      for (const waiters of this.readsByContext.values()) for (const w of waiters) w.reject(error);
      this.readsByContext.clear();
    }
  }

  // ---- helpers --------------------------------------------------------------------------

  private assertLeader(): void {
    if (this.stopped) throw new DfsError("unavailable", "node is shutting down");
    if (this.diskFull) throw diskFullError("retry on another node or once space is freed");
    if (this.d.node.softState().role !== "leader") throw this.notLeader();
  }

  private notLeader(): DfsError {
    const leader = this.d.node.softState().leader;
    const hint = leader === 0 ? undefined : this.d.addressOf(leader);
    return new DfsError(
      "not_leader",
      hint ? `not the leader; leader is ${hint}` : "not the leader; no leader known",
      hint,
    );
  }

  private translate(error: unknown): Error {
    if (error instanceof NotLeaderError) return this.notLeader();
    return error instanceof Error ? error : new Error(String(error));
  }

  private deadline(): number {
    return this.d.clock.now() + REQUEST_TIMEOUT_MS;
  }

  private expireWaiters(): void {
    const now = this.d.clock.now();
    const timeout = new DfsError(
      "unavailable",
      "timed out waiting for the cluster (outcome unknown)",
    );
    for (const [index, w] of this.pendingProposals) {
      if (w.deadline < now) {
        this.pendingProposals.delete(index);
        w.reject(timeout);
      }
    }
    for (const [context, waiters] of this.readsByContext) {
      if ((waiters[0]?.deadline ?? now) < now) {
        this.readsByContext.delete(context);
        for (const w of waiters) w.reject(timeout);
      }
    }
  }

  private failAll(error: Error): void {
    for (const w of this.proposalQueue) w.reject(error);
    for (const w of this.pendingProposals.values()) w.reject(error);
    for (const w of this.readQueue) w.reject(error);
    for (const ws of this.readsByContext.values()) for (const w of ws) w.reject(error);
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w.reject(error);
    this.proposalQueue = [];
    this.pendingProposals.clear();
    this.readQueue = [];
    this.readsByContext.clear();
    this.readsAwaitingApply = [];
  }
}

/** What a client hears from a node whose disk is full. */
function diskFullError(detail: string): DfsError {
  return new DfsError("unavailable", `this node's disk is full: writes are refused (${detail})`);
}

/** An append that carries no entries: it only moves a follower's commit index forward. */
function isCommitNotice(m: Message): boolean {
  return m.type === "append" && m.entries.length === 0;
}
