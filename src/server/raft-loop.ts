/**
 * The one event loop of a node (see docs/architecture.md#the-loop): ticks the core, hands
 * it peer messages, proposals and reads, and drains its Readys one at a time through the
 * ReadyHandler (loop/ready-handler.ts), which persists before sending what depends on the
 * write (loop/message-order.ts). Proposals and reads that arrive while a Ready is being
 * persisted are batched into the next one (loop/waiters.ts): that is the group commit.
 * Snapshots and compaction: loop/snapshot-policy.ts; a full disk: loop/disk-full-guard.ts.
 */
import { DfsError, MemberChangeError } from "../api/index.ts";
import {
  ConfigChangeError,
  type Entry,
  type HardState,
  InvariantError,
  type Membership,
  type Message,
  type NodeId,
  NotLeaderError,
  type Role,
  type SnapshotRequest,
  type SoftState,
  type Status,
} from "../raft/index.ts";
import { DiskFullGuard } from "./loop/disk-full-guard.ts";
import type { CommitOutcome, RaftLoopDeps } from "./loop/ports.ts";
import { ReadyHandler } from "./loop/ready-handler.ts";
import { Snapshotter } from "./loop/snapshot-policy.ts";
import { REQUEST_TIMEOUT_MS, Waiters } from "./loop/waiters.ts";

export { type LoopClock, SYSTEM_CLOCK } from "./loop/clock.ts";
export { DISK_FULL_RETRY_MS } from "./loop/disk-full-guard.ts";
export type {
  CommitOutcome,
  LogWriter,
  LoopCore,
  LoopEvents,
  LoopLogger,
  LoopStateMachine,
  MessageSink,
  RaftLoopDeps,
  SnapshotPolicy,
  SnapshotStore,
} from "./loop/ports.ts";

/** Ticks between sweeps for requests whose deadline passed. */
const EXPIRE_EVERY_TICKS = 20;

/**
 * Longest proposals wait for a leadership transfer to settle (40 ticks = 2 s by default;
 * the core abandons a transfer after an election timeout).
 */
const TRANSFER_HOLD_TICKS = 40;

/** A proposed configuration change waiting to be applied here. */
interface ConfigWaiter {
  readonly index: number;
  readonly term: number;
  readonly deadline: number;
  readonly resolve: (index: number) => void;
  readonly reject: (error: Error) => void;
}

/** Drives one RawNode. */
export class RaftLoop {
  private readonly d: RaftLoopDeps;
  private readonly waiters: Waiters;
  private readonly guard: DiskFullGuard;
  private readonly ready: ReadyHandler;
  private cancelTicks: (() => void) | undefined;
  private drainScheduled = false;
  private draining: Promise<void> | null = null;
  private stopped = false;
  private role: Role = "follower";
  private ticks = 0;
  private configWaiters: ConfigWaiter[] = [];
  /** Proposals are held until this tick while a leadership transfer settles (0: none). */
  private holdUntilTick = 0;
  /** The leader this node knew after the last Ready (to count leader changes). */
  private leader = 0;
  /** The loop stopped on a fatal error (not asked to). */
  private halted = false;
  /** When the Ready being handled started (clock ms; 0: none in progress). */
  private readyStartedAt = 0;

  constructor(deps: RaftLoopDeps, recoveredHardState: HardState) {
    this.d = deps;
    deps.snapshotOutcomes?.listen((peer, ok) => this.reportSnapshot(peer, ok));
    const isStopped = (): boolean => this.stopped;
    this.waiters = new Waiters((error) => this.translate(error));
    this.guard = new DiskFullGuard({
      clock: deps.clock,
      logger: deps.logger,
      ...(deps.lackOfSpace !== undefined ? { lackOfSpace: deps.lackOfSpace } : {}),
      isStopped,
      onFull: (error) => this.waiters.failAll(error),
    });
    const snapshots = new Snapshotter({
      node: deps.node,
      wal: deps.wal,
      fsm: deps.fsm,
      guard: this.guard,
      ...(deps.snapshots !== undefined ? { policy: deps.snapshots } : {}),
      now: () => deps.clock.now(),
    });
    this.ready = new ReadyHandler(
      {
        ...deps,
        guard: this.guard,
        waiters: this.waiters,
        snapshots,
        isStopped,
        onRole: (role) => this.onRole(role),
        ...(deps.onMembership !== undefined ? { onMembership: deps.onMembership } : {}),
        onApplied: (entries) => this.settleConfigs(entries),
      },
      recoveredHardState,
    );
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
    const error = new DfsError("unavailable", "node is shutting down");
    this.waiters.failAll(error);
    this.failConfigs(error);
  }

  /** Hands messages from peers to the core (dropped while the disk is full). */
  deliver(messages: readonly Message[]): void {
    if (this.stopped || this.guard.isFull) return;
    const stepAll = (): void => {
      for (const m of messages) this.d.node.step(m);
    };
    if (!this.stepped(stepAll)) return;
    this.scheduleDrain();
  }

  /** Proposes a command; resolves once it is committed and applied here. */
  propose(data: Uint8Array): Promise<CommitOutcome> {
    this.assertLeader();
    this.d.metrics?.proposed();
    const done = this.waiters.propose(data, this.deadline());
    this.scheduleDrain();
    return done;
  }

  /** Resolves when a linearizable read may be served from the local state machine (ReadIndex). */
  linearizableRead(): Promise<void> {
    this.assertLeader();
    const done = this.waiters.read(this.deadline());
    this.scheduleDrain();
    return done;
  }

  /**
   * Hands the core an InstallSnapshot whose image the transport received completely and
   * verified; returns whether the core will install it (the next Ready carries it) or
   * ignored it (this node already has everything it covers).
   */
  deliverSnapshot(m: SnapshotRequest): boolean {
    if (this.stopped || this.guard.isFull) return false;
    if (!this.stepped(() => this.d.node.step(m))) return false;
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

  /**
   * Proposes `next` as the whole new configuration (one member changed); resolves with its
   * index once it committed and was applied here. Throws at once (MemberChangeError with
   * the core's reason, or NOT_LEADER) when the core refuses it.
   */
  proposeMembership(next: Membership): Promise<number> {
    this.assertLeader();
    let position: { index: number; term: number };
    try {
      position = this.d.node.proposeMembership(next);
    } catch (error) {
      throw this.translateChange(error);
    }
    const done = new Promise<number>((resolve, reject) => {
      this.configWaiters.push({ ...position, deadline: this.deadline(), resolve, reject });
    });
    this.scheduleDrain();
    return done;
  }

  /**
   * Starts handing leadership to `to` (0: the most caught-up voter); returns the target.
   * Throws NOT_LEADER or MemberChangeError (`bad_target`, ...) when the core refuses.
   */
  transferLeadership(to: NodeId = 0): NodeId {
    this.assertLeader();
    let target: NodeId;
    try {
      target = this.d.node.transferLeadership(to);
    } catch (error) {
      throw this.translateChange(error);
    }
    this.scheduleDrain();
    return target;
  }

  /** The core's status (term, log positions, membership, each follower's progress). */
  status(): Status {
    return this.d.node.status();
  }

  /** True once the loop stopped (asked to, or on a fatal error). */
  get isStopped(): boolean {
    return this.stopped;
  }

  /**
   * What the health probes look at (server/http/probes.ts): whether the loop halted on a
   * fatal error, whether it holds still on a full disk, and for how long the Ready being
   * handled has been in progress (0: none).
   */
  health(): { halted: boolean; diskFull: boolean; readyBusyMs: number } {
    const started = this.readyStartedAt;
    return {
      halted: this.halted,
      diskFull: this.guard.isFull,
      readyBusyMs: started === 0 ? 0 : this.d.clock.now() - started,
    };
  }

  /** Throws the typed error a client should see unless this node can take writes now. */
  checkLeader(): void {
    this.assertLeader();
  }

  /** Current role and leader, for status and redirects. */
  softState(): SoftState {
    return this.d.node.softState();
  }

  // ---- loop ---------------------------------------------------------------------------

  /**
   * Runs an input to the core; false if it threw. The core drops bad peer input itself, so
   * a throw is its own invariant check failing (a bug): stop before anything of that state
   * is persisted or acknowledged.
   */
  private stepped(input: () => void): boolean {
    try {
      input();
      return true;
    } catch (error) {
      this.halt(error as Error);
      return false;
    }
  }

  private onTick(): void {
    if (!this.guard.isFull) {
      if (!this.stepped(() => this.d.node.tick())) return;
      this.d.fsm.writeBehindIfDue?.();
    }
    if (++this.ticks % EXPIRE_EVERY_TICKS === 0) {
      this.waiters.expire(this.d.clock.now());
      this.expireConfigs(this.d.clock.now());
    }
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.drainScheduled || this.stopped) return;
    this.drainScheduled = true;
    this.d.clock.defer(() => {
      this.drainScheduled = false;
      if (this.draining === null)
        this.draining = this.drain().finally(() => (this.draining = null));
    });
  }

  private async drain(): Promise<void> {
    try {
      for (;;) {
        if (!this.holdForTransfer()) this.waiters.flushProposals(this.d.node);
        this.waiters.flushReads(this.d.node);
        if (this.stopped || !this.d.node.hasReady()) return;
        this.readyStartedAt = this.d.clock.now();
        await this.ready.handle(this.d.node.ready());
        this.readyStartedAt = 0;
      }
    } catch (error) {
      if (this.stopped) return; // stopped while waiting for disk space: nothing to report
      this.halt(error as Error);
    }
  }

  /** Stops for good: nothing more is persisted, sent or acknowledged; the node reports why. */
  private halt(error: Error): void {
    this.stopped = true;
    this.halted = true;
    this.cancelTicks?.();
    const failure = new DfsError(
      "unavailable",
      error instanceof InvariantError
        ? "node stopped on an internal error (a Raft invariant check failed)"
        : "node failed to persist its log",
    );
    this.waiters.failAll(failure);
    this.failConfigs(failure);
    this.d.onFatal(error);
  }

  /**
   * While this leader hands over (the core refuses proposals then), proposals wait in the
   * queue instead of failing at once with no useful hint; once the transfer is over they
   * go to the core (abandoned: this node still leads) or fail with NOT_LEADER naming the
   * new leader as soon as it is known, so clients go straight there. Bounded by
   * TRANSFER_HOLD_TICKS, after which they fail as before.
   */
  private holdForTransfer(): boolean {
    const ss = this.d.node.softState();
    if (ss.role === "leader") {
      if (this.d.node.status().transferee === 0) {
        this.holdUntilTick = 0;
        return false;
      }
      if (this.holdUntilTick === 0) this.holdUntilTick = this.ticks + TRANSFER_HOLD_TICKS;
      return this.ticks < this.holdUntilTick;
    }
    return this.holdUntilTick !== 0 && ss.leader === 0 && this.ticks < this.holdUntilTick;
  }

  /** Resolves configuration changes now applied, and fails those another leader overwrote. */
  private settleConfigs(entries: readonly Entry[]): void {
    if (this.configWaiters.length === 0) return;
    const last = entries[entries.length - 1];
    if (last === undefined) return;
    const open: ConfigWaiter[] = [];
    for (const w of this.configWaiters) {
      const e = entries.find((x) => x.index === w.index);
      if (e === undefined && w.index > last.index) open.push(w);
      else if (e !== undefined && e.term === w.term) w.resolve(w.index);
      else
        w.reject(
          new DfsError(
            "unavailable",
            "leadership changed before the configuration change committed; list the members and retry if it is missing",
          ),
        );
    }
    this.configWaiters = open;
  }

  private expireConfigs(now: number): void {
    const late = this.configWaiters.filter((w) => w.deadline <= now);
    if (late.length === 0) return;
    this.configWaiters = this.configWaiters.filter((w) => w.deadline > now);
    for (const w of late) {
      w.reject(
        new DfsError(
          "unavailable",
          "the configuration change did not commit in time; list the members to see whether it took effect",
        ),
      );
    }
  }

  private failConfigs(error: Error): void {
    const all = this.configWaiters;
    this.configWaiters = [];
    for (const w of all) w.reject(error);
  }

  private onRole(role: Role): void {
    if (this.d.metrics !== undefined) this.noteLeader();
    if (role === this.role) return;
    const previous = this.role;
    this.role = role;
    const ss = this.d.node.softState();
    this.d.logger.info({ role, term: ss.term, leader: ss.leader }, `role ${previous} -> ${role}`);
    // Unconfirmed reads can no longer be confirmed by this node; writes may still commit.
    if (previous === "leader") this.waiters.rejectUnconfirmedReads(this.notLeader());
  }

  /** Counts a change of the leader this node knows (etcd's leader_changes_seen_total). */
  private noteLeader(): void {
    const { leader } = this.d.node.softState();
    if (leader === this.leader) return;
    this.leader = leader;
    this.d.metrics?.leaderChanged();
  }

  // ---- helpers --------------------------------------------------------------------------

  private assertLeader(): void {
    if (this.stopped) throw new DfsError("unavailable", "node is shutting down");
    this.guard.refuseIfFull();
    if (this.d.node.softState().role !== "leader") throw this.notLeader();
  }

  /** The client-facing error for a refused configuration change or transfer. */
  private translateChange(error: unknown): Error {
    if (error instanceof ConfigChangeError)
      return new MemberChangeError(error.reason, error.message);
    return this.translate(error);
  }

  private notLeader(known: NodeId = 0): DfsError {
    const ss = this.d.node.softState();
    const leader =
      known !== 0 && known !== ss.leader ? known : ss.role === "leader" ? 0 : ss.leader;
    const hint = leader === 0 ? undefined : this.d.addressOf(leader);
    return new DfsError(
      "not_leader",
      hint ? `not the leader; leader is ${hint}` : "not the leader; no leader known",
      hint,
    );
  }

  private translate(error: unknown): Error {
    // During a transfer the core names the transferee: the leader-to-be.
    if (error instanceof NotLeaderError) return this.notLeader(error.leader);
    return error instanceof Error ? error : new Error(String(error));
  }

  private deadline(): number {
    return this.d.clock.now() + REQUEST_TIMEOUT_MS;
  }
}
