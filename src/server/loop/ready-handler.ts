/**
 * Handles one Ready in the order the persistence rules require (see
 * docs/architecture.md#persistence-rules and message-order.ts): install a received
 * snapshot; send what may go before the fsync; write entries and hard state with one
 * fsync; send the rest; apply committed entries and answer their clients; send commit
 * notices; serve confirmed reads; advance the core; snapshot if due.
 */
import type { ApplyResult } from "../../fsm/index.ts";
import type { ActiveMembership, Entry, HardState, Message, Ready, Role } from "../../raft/index.ts";
import type { LoopClock } from "./clock.ts";
import type { DiskFullGuard } from "./disk-full-guard.ts";
import { planSends, sameTermAndVote } from "./message-order.ts";
import type { LogWriter, LoopCore, LoopStateMachine, MessageSink } from "./ports.ts";
import type { Snapshotter } from "./snapshot-policy.ts";
import type { Waiters } from "./waiters.ts";

/** What the handler needs from the loop. */
export interface ReadyHandlerDeps {
  readonly node: Pick<LoopCore, "advance">;
  readonly wal: LogWriter;
  readonly transport: MessageSink;
  readonly fsm: Pick<LoopStateMachine, "appliedIndex" | "applyEntries">;
  readonly clock: LoopClock;
  readonly guard: DiskFullGuard;
  readonly waiters: Waiters;
  readonly snapshots: Snapshotter;
  readonly isStopped: () => boolean;
  /** The role this Ready was produced in (called after advance). */
  readonly onRole: (role: Role) => void;
  /** The configuration in force changed (called before this Ready's messages go out). */
  readonly onMembership?: (active: ActiveMembership) => void;
  /** Entries just applied (after their waiters were settled). */
  readonly onApplied?: (entries: readonly Entry[]) => void;
}

/** Persists, sends and applies Readys; remembers what hard state is durable. */
export class ReadyHandler {
  private persisted: HardState;
  private latest: HardState;
  /** Commit notices waiting for this Ready's answers to go out first. */
  private held: Message[] = [];

  constructor(
    private readonly d: ReadyHandlerDeps,
    recovered: HardState,
  ) {
    this.persisted = recovered;
    this.latest = recovered;
  }

  /** Does everything one Ready asks, in order; resolves once the core was advanced. */
  async handle(rd: Ready): Promise<void> {
    this.sendHeld();
    if (rd.snapshot !== null) {
      await this.d.snapshots.install(rd.snapshot);
      this.d.waiters.serveReads(this.d.fsm.appliedIndex);
    }
    if (rd.membership !== null) this.d.onMembership?.(rd.membership);
    const plan = planSends(rd, this.persisted);
    this.d.transport.send(plan.early);
    await this.d.guard.retry(() => this.persist(rd));
    this.d.transport.send(plan.late);
    await this.d.guard.retry(async () => this.apply(rd.committedEntries));
    this.holdUntilAnswered(plan.afterApply);
    this.d.waiters.acceptReadStates(rd.readStates, this.d.fsm.appliedIndex);
    this.d.node.advance(rd);
    this.d.wal.afterAdvance?.();
    this.d.onRole(rd.softState.role);
    await this.d.snapshots.maybeSnapshot();
  }

  /**
   * Writes entries and the hard state with one fsync before anything that depends on them
   * is sent. A change of commit index alone is not synced on its own: it only saves
   * re-learning the commit after a crash, so it rides along with the next write.
   */
  private async persist(rd: Ready): Promise<void> {
    if (rd.hardState !== null) this.latest = rd.hardState;
    const hs = this.latest;
    const termOrVoteChanged = !sameTermAndVote(hs, this.persisted);
    if (rd.entries.length === 0 && !termOrVoteChanged) return;
    const hsChanged = termOrVoteChanged || hs.commit !== this.persisted.commit;
    await this.d.wal.save(rd.entries, hsChanged ? hs : null);
    this.persisted = hs;
  }

  private apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const results = this.d.fsm.applyEntries(entries);
    entries.forEach((entry, i) => {
      this.d.snapshots.noteApplied(entry.data.length);
      this.d.waiters.settle(entry, results[i] as ApplyResult);
    });
    this.d.waiters.serveReads(this.d.fsm.appliedIndex);
    this.d.onApplied?.(entries);
  }

  /**
   * Sends `messages` (commit notices) once the answers settled by this Ready's apply are
   * on their way: those run as promise continuations, all before a deferred call. Anything
   * still held when the next Ready is handled goes out first, so messages to a peer keep
   * their order.
   */
  private holdUntilAnswered(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    for (const m of messages) this.held.push(m);
    this.d.clock.defer(() => this.sendHeld());
  }

  private sendHeld(): void {
    if (this.held.length === 0 || this.d.isStopped()) return;
    const messages = this.held;
    this.held = [];
    this.d.transport.send(messages);
  }
}
