/**
 * Clients waiting inside the loop: proposals until their entry applies, linearizable reads
 * until their ReadIndex round is confirmed and the state machine has applied up to its
 * index (see docs/architecture.md#the-loop). Proposals and reads that arrive while a Ready
 * is being persisted are queued and handed to the core together on the next drain: that
 * is the group commit.
 */
import { DfsError } from "../../api/index.ts";
import type { ApplyResult } from "../../fsm/index.ts";
import { type Entry, InvariantError, type ReadState } from "../../raft/index.ts";
import type { CommitOutcome, LoopCore } from "./ports.ts";

/** Longest a request waits inside the node before failing as unavailable (indeterminate). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Longest a follower's read waits for the leader's READ_INDEX_RESP. The request or its
 * answer may be lost, or the leader may have lost its place without this node noticing
 * yet; the client then retries, here or elsewhere, instead of waiting 30 s. Two seconds
 * is many round trips, and still under the client's retry budget.
 */
export const FOLLOWER_READ_TIMEOUT_MS = 2_000;

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  readonly deadline: number;
}

type Proposal = Waiter<CommitOutcome> & { readonly data: Uint8Array };
type Read = Waiter<void>;

/** Reads sharing one ReadIndex request, and whom it was asked of. */
interface ReadRound {
  readonly waiters: Read[];
  /** The term and leader when the request went out (the leader's own id on a leader). */
  readonly term: number;
  readonly leader: number;
  /** Asked of another node (a follower's read): the leader's answer comes over the network. */
  readonly remote: boolean;
  readonly deadline: number;
}

/** Proposals and reads from their arrival until they are answered. */
export class Waiters {
  private proposalQueue: Proposal[] = [];
  private readonly pendingProposals = new Map<number, Waiter<CommitOutcome> & { term: number }>();
  private readQueue: Read[] = [];
  private readonly readsByContext = new Map<number, ReadRound>();
  private readsAwaitingApply: { index: number; waiters: Read[] }[] = [];
  private nextReadContext = 1;

  /**
   * @param translate turns what the core threw on refusing a proposal or read (not the
   *   leader, log full) into what the client hears.
   */
  constructor(private readonly translate: (error: unknown) => Error) {}

  /** Queues a proposal for the next drain; resolves once its entry applied here. */
  propose(data: Uint8Array, deadline: number): Promise<CommitOutcome> {
    return new Promise((resolve, reject) => {
      this.proposalQueue.push({ data, resolve, reject, deadline });
    });
  }

  /** Queues a linearizable read; resolves once it may be served from the state machine. */
  read(deadline: number): Promise<void> {
    return new Promise((resolve, reject) => this.readQueue.push({ resolve, reject, deadline }));
  }

  /** Hands the queued proposals to the core as one batch (one broadcast). */
  flushProposals(node: Pick<LoopCore, "propose">): void {
    if (this.proposalQueue.length === 0) return;
    const batch = this.proposalQueue;
    this.proposalQueue = [];
    try {
      const positions = node.propose(batch.map((p) => p.data));
      positions.forEach((pos, i) => {
        const w = batch[i] as Proposal;
        this.pendingProposals.set(pos.index, { ...w, term: pos.term });
      });
    } catch (error) {
      if (error instanceof InvariantError) {
        // The core appended before its check failed: fail-stop like any other invariant
        // failure (the drain halts), and these clients hear the halt's answer with the rest.
        this.proposalQueue = [...batch, ...this.proposalQueue];
        throw error;
      }
      // Not the leader, or the log is full: refused before the core changed anything.
      for (const w of batch) w.reject(this.translate(error));
    }
  }

  /**
   * Asks for one read index for every queued read: a round of the leader's own, or on a
   * follower one READ_INDEX to the leader (reads arriving together share it).
   */
  flushReads(node: Pick<LoopCore, "readIndex" | "softState">, now: number): void {
    if (this.readQueue.length === 0) return;
    const waiters = this.readQueue;
    this.readQueue = [];
    const context = this.nextReadContext++;
    try {
      const { term, leader, role } = node.softState();
      node.readIndex(context);
      const remote = role !== "leader";
      const first = (waiters[0] as Read).deadline;
      const deadline = remote ? Math.min(first, now + FOLLOWER_READ_TIMEOUT_MS) : first;
      this.readsByContext.set(context, { waiters, term, leader, remote, deadline });
    } catch (error) {
      if (error instanceof InvariantError) {
        this.readQueue = [...waiters, ...this.readQueue]; // as in flushProposals
        throw error;
      }
      for (const w of waiters) w.reject(this.translate(error));
    }
  }

  /** An entry applied: answer the proposal that put it there (if it is still ours). */
  settle(entry: Entry, result: ApplyResult): void {
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

  /** Confirmed read rounds: their reads wait until `applied` reaches the round's index. */
  acceptReadStates(states: readonly ReadState[], applied: number): void {
    for (const rs of states) {
      const round = this.readsByContext.get(rs.context);
      if (round === undefined) continue;
      this.readsByContext.delete(rs.context);
      this.readsAwaitingApply.push({ index: rs.index, waiters: round.waiters });
    }
    this.serveReads(applied);
  }

  /** Answers every confirmed read whose index the state machine has applied. */
  serveReads(applied: number): void {
    const ready = this.readsAwaitingApply.filter((r) => r.index <= applied);
    if (ready.length === 0) return;
    this.readsAwaitingApply = this.readsAwaitingApply.filter((r) => r.index > applied);
    for (const r of ready) for (const w of r.waiters) w.resolve();
  }

  /**
   * The term or the leader changed: a round asked of another leader or in another term
   * (this node stopped leading, or the leader a follower asked is gone) will never be
   * confirmed, so its reads fail now and their clients retry.
   */
  rejectReadsNotOf(term: number, leader: number, error: () => Error): void {
    if (this.readsByContext.size === 0) return;
    for (const [context, round] of this.readsByContext) {
      if (round.term === term && round.leader === leader) continue;
      this.readsByContext.delete(context);
      const e = error();
      for (const w of round.waiters) w.reject(e);
    }
  }

  /** Fails proposals and unconfirmed reads whose deadline passed (outcome unknown). */
  expire(now: number): void {
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
    for (const [context, round] of this.readsByContext) {
      if (round.deadline < now) {
        this.readsByContext.delete(context);
        for (const w of round.waiters) w.reject(timeout);
      }
    }
  }

  /** Fails every waiting request with `error`. */
  failAll(error: Error): void {
    for (const w of this.proposalQueue) w.reject(error);
    for (const w of this.pendingProposals.values()) w.reject(error);
    for (const w of this.readQueue) w.reject(error);
    for (const r of this.readsByContext.values()) for (const w of r.waiters) w.reject(error);
    for (const r of this.readsAwaitingApply) for (const w of r.waiters) w.reject(error);
    this.proposalQueue = [];
    this.pendingProposals.clear();
    this.readQueue = [];
    this.readsByContext.clear();
    this.readsAwaitingApply = [];
  }
}
