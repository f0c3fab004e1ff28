/**
 * The Raft consensus state machine for one node (Ongaro & Ousterhout, "In Search of an
 * Understandable Consensus Algorithm", and the thesis for pre-vote, check-quorum and
 * ReadIndex). Pure: input arrives through `tick`, `step`, `propose` and `readIndex`;
 * output accumulates as messages, entries to persist and read states that the driver
 * collects through a Ready (see raw-node.ts). No I/O, timers, clocks or global randomness.
 */
import type { RaftConfig } from "./config.ts";
import { validateRaftConfig } from "./config.ts";
import { ConfigChangeError, NotLeaderError } from "./errors.ts";
import { assertInvariants, type InvariantWatch, watchInvariants } from "./invariants.ts";
import { isAdoptableTerm, MAX_INDEX, MAX_TERM, stepTowards } from "./limits.ts";
import { type LogInit, type LogView, RaftLog } from "./log.ts";
import {
  changedMembers,
  decodeMembership,
  encodeMembership,
  type Membership,
  membershipFault,
  voterIds,
  votersOnly,
} from "./membership.ts";
import { type DropReason, messageFault } from "./message-rules.ts";
import type {
  AppendRequest,
  AppendResponse,
  Heartbeat,
  HeartbeatResponse,
  Message,
  ReadIndexRequest,
  ReadIndexResponse,
  SnapshotMeta,
  SnapshotRequest,
  TimeoutNow,
  VoteRequest,
  VoteResponse,
} from "./messages.ts";
import { committedIndex, majority, tallyVotes } from "./quorum.ts";
import { ReadOnlyQueue, type ReadRequest, type ReadState } from "./read-only.ts";
import { type Outgoing, type PeerProgress, Replicator } from "./replicator.ts";
import { type Entry, EntryKind, type HardState, NONE, type NodeId, type Role } from "./types.ts";

/** What a restarted node recovered from disk. */
export interface RaftInit {
  readonly hardState: HardState;
  readonly log: LogInit;
  /** The newest durable snapshot, if any (a leader sends it to followers that fell behind). */
  readonly snapshot?: SnapshotMeta;
  /**
   * The configuration in force at the log's applied index (the state machine keeps it).
   * Absent on a node that was never started: then `RaftConfig.voters` bootstraps it.
   * Configuration entries after the applied index and known committed are replayed.
   */
  readonly membership?: Membership;
}

/** A configuration that took effect, and the index of the entry that carried it (0: bootstrap). */
export interface ActiveMembership {
  readonly index: number;
  readonly membership: Membership;
}

/** Where a proposal landed; the driver resolves the client when this index applies with this term. */
export interface ProposalPosition {
  readonly index: number;
  readonly term: number;
}

/** One Raft node's consensus state. Only RawNode drives it outside this folder (and tests). */
export class Raft {
  readonly id: NodeId;
  readonly #log: RaftLog;
  #term: number;
  #vote: NodeId;
  #role: Role = "follower";
  /** The leader of the current term, if known. */
  #leader: NodeId = NONE;
  /** Outgoing messages, drained by the driver after persisting. */
  #msgs: Message[] = [];
  /** Confirmed read rounds, drained by the driver. */
  #readStates: ReadState[] = [];
  /** A snapshot received from the leader that the driver must install (next Ready). */
  #snapshotToInstall: SnapshotMeta | null = null;
  /**
   * Peer messages this core refused, per reason (a malformed or impossible message is
   * dropped like a lost one, never thrown): what the node can expose as counters.
   */
  readonly #drops = new Map<DropReason, number>();
  /** The newest durable snapshot this node can send. */
  private latestSnapshot: SnapshotMeta | null;

  private readonly config: RaftConfig;
  /** Every other member (voters and learners): whom a leader replicates to. */
  private peers: NodeId[] = [];
  /** Voting members of the active configuration. */
  private voters: ReadonlySet<NodeId> = new Set();
  /**
   * Configurations that took effect, oldest first: the active one is last. Older ones are
   * kept back to the compaction point, so a snapshot can name the configuration at its index.
   */
  private configs: ActiveMembership[] = [];
  /**
   * A leader proposes no configuration change while this index is not committed: the last
   * change it proposed, or on election its whole log, so it first commits an entry of its
   * own term — and with it every configuration an earlier leader committed (the 2015
   * one-at-a-time bug, see docs/membership.md).
   */
  private pendingConfigIndex = 0;
  /** The voter a leadership transfer goes to (NONE when none is under way). */
  #transferee: NodeId = NONE;
  /** Ticks since the transfer began; it is abandoned after an election timeout. */
  private transferElapsed = 0;
  /** Ticks since this node started, for "heard from recently" (see Replicator.lastHeard). */
  private ticks = 0;
  /** The leader side of replication; null unless leader. */
  private replicator: Replicator | null = null;
  private votes = new Map<NodeId, boolean>();
  private readonly readOnly = new ReadOnlyQueue();
  /** The requests each pending confirmation round answers (its own and followers'). */
  private roundRequests = new Map<number, ReadRequest[]>();
  /**
   * Names this leader's confirmation rounds (what heartbeats carry). The core numbers them
   * itself, since requests come from every node, each numbering its own contexts.
   */
  private lastRound = 0;
  /** Reads asked for before this leader committed an entry of its term (§6.4 step 1). */
  private pendingReads: ReadRequest[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  constructor(config: RaftConfig, init: RaftInit) {
    validateRaftConfig(config);
    this.config = config;
    this.id = config.id;
    this.#log = new RaftLog(init.log, config.entryBytes);
    this.#term = init.hardState.term;
    this.#vote = init.hardState.vote;
    this.latestSnapshot = init.snapshot ?? null;
    const base = init.membership ?? votersOnly(config.voters);
    const baseIndex = init.membership === undefined ? 0 : this.#log.applied;
    this.useMembership(base, baseIndex);
    this.activateCommitted(Math.max(baseIndex, this.#log.compactedTo().index));
    this.becomeFollower(this.#term, NONE);
  }

  // ---- queries (read-only: state changes only through the inputs below) ----------------

  get term(): number {
    return this.#term;
  }

  get vote(): NodeId {
    return this.#vote;
  }

  get role(): Role {
    return this.#role;
  }

  /** The leader of the current term, if known. */
  get leader(): NodeId {
    return this.#leader;
  }

  /** The log, read-only (cursors, entries, terms). */
  get log(): LogView {
    return this.#log;
  }

  /** Outgoing messages not yet taken by the driver. */
  get msgs(): readonly Message[] {
    return this.#msgs;
  }

  /** Confirmed read rounds not yet taken by the driver. */
  get readStates(): readonly ReadState[] {
    return this.#readStates;
  }

  /** A snapshot received from the leader that the next Ready asks to install, if any. */
  get snapshotToInstall(): SnapshotMeta | null {
    return this.#snapshotToInstall;
  }

  /** Peer messages this core refused so far, per reason. */
  get drops(): ReadonlyMap<DropReason, number> {
    return this.#drops;
  }

  /** The leader's view of each follower (empty unless leader). */
  progressOf(): ReadonlyMap<NodeId, PeerProgress> {
    return this.replicator?.view() ?? new Map();
  }

  /** The configuration in force here and the index of the entry that set it. */
  get membership(): ActiveMembership {
    return this.configs[this.configs.length - 1] as ActiveMembership;
  }

  /** The index of the newest configuration entry a leader proposed and has not seen committed. */
  get pendingConfig(): number {
    return this.pendingConfigIndex > this.#log.committed ? this.pendingConfigIndex : 0;
  }

  /** The voter a leadership transfer is handing over to, or NONE. */
  get transferee(): NodeId {
    return this.#transferee;
  }

  /** The configuration in force at `index` (which must not be before the compaction point). */
  membershipAt(index: number): Membership {
    let found = this.configs[0] as ActiveMembership;
    for (const c of this.configs) if (c.index <= index) found = c;
    return found.membership;
  }

  // ---- output the driver takes --------------------------------------------------------

  /** Removes and returns the outgoing messages. */
  takeMessages(): Message[] {
    const out = this.#msgs;
    this.#msgs = [];
    return out;
  }

  /** Removes and returns the confirmed read rounds. */
  takeReadStates(): ReadState[] {
    const out = this.#readStates;
    this.#readStates = [];
    return out;
  }

  /** Removes and returns the snapshot to install, if any. */
  takeSnapshotToInstall(): SnapshotMeta | null {
    const out = this.#snapshotToInstall;
    this.#snapshotToInstall = null;
    return out;
  }

  /** The driver applied entries up to `index`. */
  appliedTo(index: number): void {
    const watch = this.watch();
    this.#log.appliedTo(index);
    this.check(watch);
  }

  /** The durable part of this node's state, as it must be persisted. */
  hardState(): HardState {
    return { term: this.#term, vote: this.#vote, commit: this.#log.committed };
  }

  // ---- inputs -------------------------------------------------------------------------

  /** Advances logical time by one tick: election timeouts, heartbeats, check-quorum. */
  tick(): void {
    const watch = this.watch();
    this.ticks++;
    if (this.#role === "leader") this.tickLeader();
    else this.tickElection();
    this.check(watch);
  }

  /**
   * Appends commands to the log as one batch (one broadcast). Throws NotLeaderError on a
   * non-leader. Returns where each landed.
   */
  propose(commands: readonly Uint8Array[]): ProposalPosition[] {
    if (this.#role !== "leader") throw new NotLeaderError(this.#leader);
    // During a transfer, new entries would only make the transferee's log fall behind.
    if (this.#transferee !== NONE) throw new NotLeaderError(this.#transferee);
    const first = this.#log.lastIndex() + 1;
    if (first + commands.length - 1 > MAX_INDEX) {
      throw new Error(`raft: log index would pass MAX_INDEX (${MAX_INDEX})`);
    }
    const watch = this.watch();
    const entries = commands.map((data, i) => ({
      term: this.#term,
      index: first + i,
      kind: EntryKind.Normal,
      data,
    }));
    this.appendEntries(entries);
    this.replicator?.broadcastProposals();
    this.check(watch);
    return entries.map((e) => ({ index: e.index, term: e.term }));
  }

  /**
   * Asks for a linearizable read index for the request `context` (unique among this
   * node's). Its ReadState appears in a later Ready once a majority confirmed the leader
   * still led after the request: on the leader, from its own round; on a follower, when
   * the leader's READ_INDEX_RESP arrives (thesis §6.4). Throws NotLeaderError on a node
   * that knows no leader. A follower's request may get no answer (lost, or the leader
   * lost its place): the driver gives up on it when the term or the leader changes, or
   * after a timeout.
   */
  readIndex(context: number): void {
    if (this.#role !== "leader") {
      if (this.#role !== "follower" || this.#leader === NONE) {
        throw new NotLeaderError(this.#leader);
      }
      this.send({ type: "readIndex", to: this.#leader, term: this.#term, context });
      return;
    }
    const watch = this.watch();
    this.requestRead({ from: this.id, context });
    this.check(watch);
  }

  /**
   * Proposes `next` as the whole new configuration. One member may change at a time
   * (thesis §4.1), one change may be pending, and a new leader first commits an entry of
   * its own term. Refuses (ConfigChangeError) a change whose voters could not reach a
   * quorum among the members heard from within an election timeout, so a change never
   * makes a degraded cluster unavailable (etcd's strict reconfiguration check).
   */
  proposeMembership(next: Membership): ProposalPosition {
    if (this.#role !== "leader") throw new NotLeaderError(this.#leader);
    const fault = this.membershipChangeFault(next);
    if (fault !== null) throw fault;
    const watch = this.watch();
    const index = this.#log.lastIndex() + 1;
    const entry = { term: this.#term, index, kind: EntryKind.Config, data: encodeMembership(next) };
    this.appendEntries([entry]);
    this.pendingConfigIndex = index;
    this.replicator?.broadcastAppend();
    this.check(watch);
    return { index, term: this.#term };
  }

  /** Why `next` may not be proposed now, or null. */
  private membershipChangeFault(next: Membership): ConfigChangeError | null {
    if (this.#transferee !== NONE) {
      return new ConfigChangeError("transferring", "a leadership transfer is under way");
    }
    if (this.pendingConfigIndex > this.#log.committed) {
      return new ConfigChangeError(
        "pending",
        `a configuration change (or this leader's first entry) at index ${this.pendingConfigIndex} is not committed yet`,
      );
    }
    const invalid = membershipFault(next);
    if (invalid !== null)
      return new ConfigChangeError("invalid", `invalid configuration: ${invalid}`);
    const current = this.membership.membership;
    const changed = changedMembers(current, next);
    if (changed.length > 1) {
      return new ConfigChangeError(
        "not_single_change",
        `members ${changed.join(", ")} would change at once; change one member at a time`,
      );
    }
    const gone = current.members.filter((m) => !next.members.some((n) => n.id === m.id));
    const expected = [...new Set([...current.removed, ...gone.map((m) => m.id)])].sort(
      (a, b) => a - b,
    );
    const removed = [...next.removed].sort((a, b) => a - b);
    if (expected.length !== removed.length || expected.some((id, i) => removed[i] !== id)) {
      return new ConfigChangeError(
        "invalid",
        "the removed list must grow by exactly the members removed",
      );
    }
    const revived = next.members.find((m) => current.removed.includes(m.id));
    if (revived !== undefined) {
      return new ConfigChangeError("invalid", `id ${revived.id} was removed and is never reused`);
    }
    return this.quorumFault(next);
  }

  /** Could the voters of `next` form a quorum from this node and the members heard from lately? */
  private quorumFault(next: Membership): ConfigChangeError | null {
    const voters = voterIds(next);
    const heard = this.replicator?.heardSince(this.ticks - this.config.electionTick) ?? new Set();
    const reachable = voters.filter((id) => id === this.id || heard.has(id)).length;
    if (reachable >= majority(voters.length)) return null;
    return new ConfigChangeError(
      "no_quorum",
      `only ${reachable} of the ${voters.length} voters of the new configuration are reachable; a quorum needs ${majority(voters.length)}`,
    );
  }

  /**
   * Hands leadership to `to` (NONE: the most caught-up voter), thesis §3.10: proposals
   * stop, the target is brought up to date, then told to campaign at once (TimeoutNow).
   * Abandoned if it has not happened within an election timeout.
   */
  transferLeadership(to: NodeId): NodeId {
    if (this.#role !== "leader") throw new NotLeaderError(this.#leader);
    const target = to === NONE ? this.bestTransferTarget() : to;
    if (target === NONE || target === this.id || !this.voters.has(target)) {
      throw new ConfigChangeError(
        "bad_target",
        `node ${to === NONE ? "(none)" : to} is not another voter`,
      );
    }
    const watch = this.watch();
    this.#transferee = target;
    this.transferElapsed = 0;
    this.sendTimeoutNowIfCaughtUp();
    this.check(watch);
    return target;
  }

  /** The voter other than this node with the highest match index, or NONE. */
  private bestTransferTarget(): NodeId {
    let best = NONE;
    let bestMatch = -1;
    for (const [id, pr] of this.progressOf()) {
      if (this.voters.has(id) && pr.match > bestMatch) {
        best = id;
        bestMatch = pr.match;
      }
    }
    return best;
  }

  /** Sends TimeoutNow once the transferee holds the whole log; otherwise sends it entries. */
  private sendTimeoutNowIfCaughtUp(): void {
    const rep = this.replicator;
    const to = this.#transferee;
    if (rep === null || to === NONE) return;
    if (rep.matchOf(to) === this.#log.lastIndex()) {
      this.send({ type: "timeoutNow", to, term: this.#term, commit: this.#log.committed });
      if (!this.voters.has(this.id)) this.becomeFollower(this.#term, NONE); // handed over
    } else {
      rep.sendAppend(to, true);
    }
  }

  /**
   * Processes one message from a peer. Never throws on what a peer sent: a message that is
   * malformed, from a non-member, or impossible in this node's state (a second leader in
   * one term, an ack for entries this leader never had, a term too far ahead) is dropped
   * and counted in `drops`.
   */
  step(m: Message): void {
    const fault = this.refusal(m);
    if (fault !== null) {
      this.countDrop(fault);
      return;
    }
    const watch = this.watch();
    if (m.term > this.#term) {
      if (!isAdoptableTerm(m.term, this.#term)) this.refuseTermJump(m);
      else if (this.acceptHigherTerm(m)) this.dispatch(m);
    } else if (m.term < this.#term) {
      this.handleStaleTerm(m);
    } else {
      this.dispatch(m);
    }
    this.check(watch);
  }

  /** Why `m` must be dropped before it touches any state, or null. */
  private refusal(m: Message): DropReason | null {
    if (m.to !== this.id) return "wrong_addressee";
    // An id this node does not know yet may be a member added in a configuration it has
    // not learned (a new leader's appends must reach it); a removed id is refused for good.
    if (m.from === this.id) return "not_member";
    if (this.membership.membership.removed.includes(m.from) && !this.isHandOver(m)) {
      return "not_member";
    }
    const fault = messageFault(m);
    if (fault !== null) return fault;
    if (m.term !== this.#term) return null;
    const fromLeader =
      m.type === "append" ||
      m.type === "heartbeat" ||
      m.type === "snapshot" ||
      m.type === "timeoutNow" ||
      m.type === "readIndexResp";
    // At most one leader per term (§5.2): a leader hearing another "leader" of its own term,
    // or a follower hearing a second one, is listening to a broken or forged peer.
    if (
      fromLeader &&
      (this.#role === "leader" || (this.#leader !== NONE && this.#leader !== m.from))
    ) {
      return "second_leader";
    }
    // A follower can only acknowledge entries this leader sent it, so never past its log.
    if (m.type === "appendResp" && !m.reject && this.#role === "leader") {
      if (m.index > this.#log.lastIndex()) return "ack_beyond_log";
    }
    return null;
  }

  /**
   * The TimeoutNow of the leader we follow in this term, which a configuration it committed
   * just removed: it hands over (see handOver). By the time it arrives we may know of the
   * removal (the same leader's append told us), yet it is the last word of a legitimate
   * leader, not a removed node speaking up.
   */
  private isHandOver(m: Message): boolean {
    return m.type === "timeoutNow" && m.term === this.#term && m.from === this.#leader;
  }

  /** Counts a refused message (or a refused part of one, like a heartbeat's commit). */
  private countDrop(reason: DropReason): void {
    this.#drops.set(reason, (this.#drops.get(reason) ?? 0) + 1);
  }

  /** Notes what the invariant checks compare against after an input. */
  private watch(): InvariantWatch {
    return watchInvariants(this);
  }

  /** Asserts the core's invariants after an input (see invariants.ts). */
  private check(watch: InvariantWatch): void {
    assertInvariants(this, watch, this.config.checkInvariants === true);
  }

  // ---- term handling (§5.1) -------------------------------------------------------------

  /** Returns false when a higher-term message must be ignored. */
  private acceptHigherTerm(m: Message): boolean {
    const effect = this.higherTermEffect(m);
    if (effect === "ignore") return false;
    if (effect === "move") {
      const fromLeader = m.type === "append" || m.type === "heartbeat" || m.type === "snapshot";
      this.becomeFollower(m.term, fromLeader ? m.from : NONE);
    }
    return true;
  }

  /**
   * What a message of a higher term does to ours: `ignore` it, handle it and `keep` our
   * term, or `move` to its term first.
   */
  private higherTermEffect(m: Message): "ignore" | "keep" | "move" {
    if (m.type === "preVote" || m.type === "vote") {
      // Leader lease: while we hear from a live leader, refuse to help depose it — unless
      // that leader asked for this election itself (a transfer).
      const inLease =
        !m.transfer &&
        this.config.checkQuorum &&
        this.#leader !== NONE &&
        this.electionElapsed < this.config.electionTick;
      if (inLease) return "ignore";
    }
    if (m.type === "preVote") return "keep"; // a pre-vote never changes our term
    if (m.type === "preVoteResp" && !m.reject) return "keep"; // granted for our future term
    return "move";
  }

  /**
   * A term more than MAX_TERM_STEP ahead of ours (limits.ts): adopting it could leave the
   * cluster unable to campaign ever again if it was forged, so the message is dropped; but
   * where it would have moved our term, we move up by MAX_TERM_STEP (without a leader), so
   * a node that really fell that far behind its peers still catches up, a step per message.
   */
  private refuseTermJump(m: Message): void {
    this.countDrop("term_jump");
    if (this.higherTermEffect(m) === "move") this.becomeFollower(stepTowards(this.#term), NONE);
  }

  private handleStaleTerm(m: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (m.type === "append" || m.type === "heartbeat")
    ) {
      // A deposed leader that cannot learn the new term would never step down when
      // check-quorum or pre-vote keep us from electing on its heartbeats: tell it.
      this.ackAppend(m.from, 0);
    } else if (m.type === "preVote") {
      this.send({ type: "preVoteResp", to: m.from, term: this.#term, reject: true });
    }
  }

  private dispatch(m: Message): void {
    switch (m.type) {
      case "preVote":
      case "vote":
        this.handleVoteRequest(m);
        return;
      case "preVoteResp":
      case "voteResp":
        this.handleVoteResponse(m);
        return;
      case "append":
        this.handleAppend(m);
        return;
      case "appendResp":
        this.handleAppendResponse(m);
        return;
      case "heartbeat":
        this.handleHeartbeat(m);
        return;
      case "heartbeatResp":
        this.handleHeartbeatResponse(m);
        return;
      case "snapshot":
        this.handleSnapshot(m);
        return;
      case "timeoutNow":
        this.handleTimeoutNow(m);
        return;
      case "readIndex":
        this.handleReadIndex(m);
        return;
      case "readIndexResp":
        this.handleReadIndexResponse(m);
        return;
    }
  }

  // ---- roles ----------------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.#term) {
      this.#term = term;
      this.#vote = NONE;
    }
    this.#leader = NONE;
    this.resetElectionTimer();
    this.heartbeatElapsed = 0;
    this.votes = new Map();
    this.readOnly.reset();
    this.roundRequests.clear();
    this.pendingReads = [];
    this.replicator = null;
    this.#transferee = NONE;
    this.transferElapsed = 0;
  }

  /** Restarts the election timer with a fresh random timeout in [base, 2*base) (§5.2). */
  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const base = this.config.electionTick;
    this.randomizedElectionTimeout = base + Math.floor(this.config.random() * base);
  }

  private becomeFollower(term: number, leader: NodeId): void {
    this.reset(term);
    this.#role = "follower";
    this.#leader = leader;
  }

  private becomePreCandidate(): void {
    // Term and vote stay as they are: a pre-vote that fails must leave no trace.
    this.votes = new Map();
    this.resetElectionTimer();
    this.#role = "pre-candidate";
    this.#leader = NONE;
  }

  private becomeCandidate(): void {
    this.reset(this.#term + 1);
    this.#vote = this.id;
    this.#role = "candidate";
  }

  private becomeLeader(): void {
    this.reset(this.#term);
    this.#role = "leader";
    this.#leader = this.id;
    const replicator = new Replicator({
      term: this.#term,
      peers: this.peers,
      clock: () => this.ticks,
      log: this.#log,
      maxMsgBytes: this.config.maxMsgBytes,
      maxInflight: this.config.maxInflight,
      maxInflightBytes: this.config.maxInflightBytes ?? 0,
      latestSnapshot: () => this.latestSnapshot,
      send: (m) => this.send(m),
    });
    this.replicator = replicator;
    // A no-op of the new term lets earlier-term entries commit (§5.4.2, §8).
    this.appendEntries([
      {
        term: this.#term,
        index: this.#log.lastIndex() + 1,
        kind: EntryKind.Noop,
        data: new Uint8Array(0),
      },
    ]);
    // No configuration change until that no-op commits (see pendingConfigIndex).
    this.pendingConfigIndex = this.#log.lastIndex();
    replicator.broadcastAppend();
  }

  // ---- configuration --------------------------------------------------------------------

  /** Makes `membership` (carried by the entry at `index`) the configuration in force. */
  private useMembership(membership: Membership, index: number): void {
    this.configs.push({ index, membership });
    this.voters = new Set(voterIds(membership));
    this.peers = membership.members.map((m) => m.id).filter((id) => id !== this.id);
    this.replicator?.setPeers(this.peers);
  }

  /** Advances the commit index, putting into force any configuration it now covers. */
  private commitTo(index: number): void {
    const before = this.#log.committed;
    this.#log.commitTo(index);
    if (this.#log.committed > before) this.activateCommitted(before);
  }

  /** Puts into force, in order, each configuration entry in (after, committed]. */
  private activateCommitted(after: number): void {
    let changed = false;
    for (let i = after + 1; i <= this.#log.committed; i++) {
      const e = this.#log.entryAt(i);
      if (e === undefined || e.kind !== EntryKind.Config) continue;
      const membership = decodeMembership(e.data);
      if (membership === null) continue; // message-rules refuses such entries at the edge
      this.useMembership(membership, i);
      changed = true;
    }
    if (changed && this.#role === "leader" && !this.voters.has(this.id)) this.handOver();
  }

  /**
   * A leader that a committed configuration removed (or made a learner) transfers
   * leadership to the most caught-up voter and steps down once it sent the TimeoutNow (or
   * the transfer was abandoned), so its removal costs no election timeout (thesis
   * §4.2.2). Meanwhile it takes no proposals and no longer counts itself toward a commit.
   */
  private handOver(): void {
    this.replicator?.broadcastAppend();
    const target = this.bestTransferTarget();
    if (target === NONE) {
      this.becomeFollower(this.#term, NONE);
      return;
    }
    this.#transferee = target;
    this.transferElapsed = 0;
    this.sendTimeoutNowIfCaughtUp();
  }

  /**
   * The leader asked us to campaign now (a transfer). Only a voter can; first, its
   * commit index (our log matched the leader's whole log when it sent this, and only it
   * appends in its term) may put a configuration into force that makes us one.
   */
  private handleTimeoutNow(m: TimeoutNow): void {
    if (m.from !== this.#leader && this.#leader !== NONE) return;
    if (m.from === this.#leader) this.commitTo(Math.min(m.commit, this.#log.lastIndex()));
    if (!this.voters.has(this.id)) return;
    this.startCampaign("vote", true);
  }

  /** Drops configurations older than the one in force at `index` (after compaction). */
  private forgetConfigsBefore(index: number): void {
    let keepFrom = 0;
    for (let i = 0; i < this.configs.length; i++) {
      if ((this.configs[i] as ActiveMembership).index <= index) keepFrom = i;
    }
    this.configs = this.configs.slice(keepFrom);
  }

  // ---- elections (§5.2, thesis §9.6) ----------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      // Learners and nodes outside the configuration never campaign; but no leader was
      // heard within a timeout, so its lease is over here too: a voter that a committed
      // configuration promoted us to help elect (which we may not know yet) gets our vote.
      if (this.voters.has(this.id)) this.startCampaign(this.config.preVote ? "preVote" : "vote");
      else this.#leader = NONE;
    }
  }

  /** Starts a (pre-)election now, as if the election timeout had fired; used by tests. */
  campaign(kind: "preVote" | "vote"): void {
    const watch = this.watch();
    this.startCampaign(kind);
    this.check(watch);
  }

  private startCampaign(kind: "preVote" | "vote", transfer = false): void {
    if (this.#role === "leader") return;
    // Terms end at MAX_TERM (limits.ts): never produce one a peer could not decode.
    if (this.#term >= MAX_TERM) return;
    if (kind === "preVote") this.becomePreCandidate();
    else this.becomeCandidate();
    const term = kind === "preVote" ? this.#term + 1 : this.#term;
    this.votes.set(this.id, true);
    if (this.countVotes() === "won") {
      this.winElection(kind);
      return;
    }
    for (const peer of this.voters) {
      if (peer === this.id) continue;
      this.send({
        type: kind,
        to: peer,
        term,
        lastLogIndex: this.#log.lastIndex(),
        lastLogTerm: this.#log.lastTerm(),
        transfer,
      });
    }
  }

  private winElection(kind: "preVote" | "vote"): void {
    if (kind === "preVote") this.startCampaign("vote");
    else this.becomeLeader();
  }

  private handleVoteRequest(m: VoteRequest): void {
    const canVote =
      this.#vote === m.from ||
      (this.#vote === NONE && this.#leader === NONE) ||
      (m.type === "preVote" && m.term > this.#term);
    const grant = canVote && this.#log.isUpToDate(m.lastLogIndex, m.lastLogTerm);
    const respType = m.type === "preVote" ? "preVoteResp" : "voteResp";
    if (!grant) {
      this.send({ type: respType, to: m.from, term: this.#term, reject: true });
      return;
    }
    if (m.type === "vote") {
      this.electionElapsed = 0;
      this.#vote = m.from;
    }
    // A pre-vote grant answers in the asker's prospective term so it is not ignored as stale.
    this.send({ type: respType, to: m.from, term: m.term, reject: false });
  }

  private handleVoteResponse(m: VoteResponse): void {
    const expecting = m.type === "preVoteResp" ? "pre-candidate" : "candidate";
    if (this.#role !== expecting) return;
    if (!this.votes.has(m.from)) this.votes.set(m.from, !m.reject);
    const result = this.countVotes();
    if (result === "won") this.winElection(m.type === "preVoteResp" ? "preVote" : "vote");
    else if (result === "lost") this.becomeFollower(this.#term, NONE);
  }

  /** Tallies the votes of this configuration's voters (a learner's or stranger's never count). */
  private countVotes(): "won" | "lost" | "pending" {
    let granted = 0;
    let rejected = 0;
    for (const [id, v] of this.votes) {
      if (!this.voters.has(id)) continue;
      if (v) granted++;
      else rejected++;
    }
    return tallyVotes(granted, rejected, this.voters.size);
  }

  // ---- replication, follower side (§5.3) ------------------------------------------------

  private handleAppend(m: AppendRequest): void {
    this.becomeFollowerOf(m.from);
    if (m.prevIndex < this.#log.committed) {
      this.ackAppend(m.from, this.#log.committed);
      return;
    }
    const lastNew = this.#log.maybeAppend(m.prevIndex, m.prevTerm, m.entries);
    if (lastNew !== null) {
      this.commitTo(Math.min(m.commit, lastNew));
      this.ackAppend(m.from, lastNew);
      return;
    }
    const hint = this.#log.findConflictByTerm(
      Math.min(m.prevIndex, this.#log.lastIndex()),
      m.prevTerm,
    );
    this.send({
      type: "appendResp",
      to: m.from,
      term: this.#term,
      reject: true,
      index: m.prevIndex,
      rejectHint: hint.index,
      hintTerm: hint.term,
    });
  }

  /** Tells the leader `to` that our log matches its own through `index`. */
  private ackAppend(to: NodeId, index: number): void {
    this.send({
      type: "appendResp",
      to,
      term: this.#term,
      reject: false,
      index,
      rejectHint: 0,
      hintTerm: 0,
    });
  }

  private handleSnapshot(m: SnapshotRequest): void {
    this.becomeFollowerOf(m.from);
    const snap = m.snapshot;
    const ack = (index: number): void => this.ackAppend(m.from, index);
    if (snap.index <= this.#log.committed) {
      ack(this.#log.committed);
      return;
    }
    if (this.#log.matchTerm(snap.index, snap.term)) {
      // We already hold the entry the snapshot ends with: just learn the commit (§7).
      this.commitTo(snap.index);
      ack(snap.index);
      return;
    }
    this.#log.restore(snap.index, snap.term);
    const membership = snap.membership ?? this.membership.membership;
    this.configs = [];
    this.useMembership(membership, snap.index);
    const installed = { index: snap.index, term: snap.term, membership };
    this.#snapshotToInstall = installed;
    this.latestSnapshot = installed;
    ack(snap.index);
  }

  /**
   * A heartbeat carries no entries, so its commit is the leader's word that our log
   * matches its own up to there: an honest leader sends min(our match, its commit), never
   * past what we acknowledged. A commit beyond our last index therefore comes from a
   * broken or forged sender, or from a node that lost part of its log; clamping it to our
   * last index would commit a tail nobody verified (it may be a deposed leader's), so the
   * commit is ignored and counted. The rest is handled as usual: the leader is followed,
   * the election timer restarts and the answer carries the context, so the leader's
   * check-quorum and ReadIndex rounds still count us (Raft §5.3; etcd-io/raft treats
   * the same case as fatal, which a forged message must not be here).
   */
  private handleHeartbeat(m: Heartbeat): void {
    this.becomeFollowerOf(m.from);
    this.send({ type: "heartbeatResp", to: m.from, term: this.#term, context: m.context });
    if (m.commit <= this.#log.lastIndex()) {
      this.commitTo(m.commit);
      return;
    }
    this.countDrop("commit_beyond_log");
    // An honest leader's claim beyond our log means our log went backwards (a wiped or
    // restored data dir): say where it ends, as a rejected append would, so the leader
    // resends from there even while it has nothing new to send.
    this.send({
      type: "appendResp",
      to: m.from,
      term: this.#term,
      reject: true,
      index: m.commit,
      rejectHint: this.#log.lastIndex(),
      hintTerm: this.#log.lastTerm(),
    });
  }

  /** A valid leader of our term spoke: follow it and restart the election timer. */
  private becomeFollowerOf(leader: NodeId): void {
    if (this.#role !== "follower") this.becomeFollower(this.#term, leader);
    this.#leader = leader;
    this.electionElapsed = 0;
  }

  // ---- replication, leader side ---------------------------------------------------------

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.#transferee !== NONE && ++this.transferElapsed >= this.config.electionTick) {
      this.#transferee = NONE; // abandoned: the target did not win in time
      if (!this.voters.has(this.id)) {
        this.becomeFollower(this.#term, NONE); // removed: step down all the same
        return;
      }
    }
    if (this.electionElapsed >= this.config.electionTick) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.checkQuorumActive()) {
        this.becomeFollower(this.#term, NONE);
        return;
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTick) {
      this.heartbeatElapsed = 0;
      this.replicator?.broadcastHeartbeat(this.readOnly.lastContext());
    }
  }

  /** Check-quorum: did a majority (counting us) talk to us since the last check? Resets the marks. */
  private checkQuorumActive(): boolean {
    const active = (this.replicator?.takeActiveVoters(this.voters) ?? 0) + 1;
    return active >= majority(this.voters.size);
  }

  private appendEntries(entries: readonly Entry[]): void {
    this.#log.append(entries);
  }

  private handleAppendResponse(m: AppendResponse): void {
    const rep = this.replicator;
    if (this.#role !== "leader" || rep === null || !rep.onAppendResponse(m)) return;
    if (this.maybeCommit() && this.replicator !== null) rep.broadcastAppend();
    if (this.replicator === null) return; // stepped down: a configuration removed us
    if (m.from === this.#transferee) this.sendTimeoutNowIfCaughtUp();
    rep.sendAppendsWhileOpen(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponse): void {
    const rep = this.replicator;
    if (this.#role !== "leader" || rep === null || !rep.onHeartbeatResponse(m)) return;
    if (m.context === 0) return;
    if (!this.voters.has(m.from)) return; // only voters confirm leadership
    // Only the acks of today's voters count. The round holds this leader's own ack
    // (ReadOnlyQueue.add), worth nothing once a committed configuration removed it: during
    // the hand-over, the remaining voters that did not answer may already have elected a
    // newer leader. Likewise an ack from a voter removed since the round began.
    const acks = this.readOnly.recvAck(m.from, m.context, (id) => this.voters.has(id));
    if (acks >= majority(this.voters.size)) {
      for (const round of this.readOnly.advance(m.context)) {
        const requests = this.roundRequests.get(round.context) ?? [];
        this.roundRequests.delete(round.context);
        this.answerReads(round.index, requests);
      }
    }
  }

  /**
   * Advances the commit index to the highest index durable on a majority — counting this
   * node only up to its own fsynced index — but only over an entry of the current term
   * (§5.4.2, Figure 8). Returns whether it advanced.
   */
  private maybeCommit(): boolean {
    if (this.#role !== "leader") return false;
    const matches = this.replicator?.matches(this.voters) ?? [];
    if (this.voters.has(this.id)) matches.push(this.#log.stableIndex);
    const index = committedIndex(matches);
    if (index <= this.#log.committed || this.#log.termAt(index) !== this.#term) return false;
    this.commitTo(index);
    if (this.#role === "leader") this.releasePendingReads();
    return true;
  }

  // ---- ReadIndex (thesis §6.4) ----------------------------------------------------------

  private committedInCurrentTerm(): boolean {
    return this.#log.termAt(this.#log.committed) === this.#term;
  }

  /** A leader takes a read request (its own or a follower's). */
  private requestRead(request: ReadRequest): void {
    if (this.committedInCurrentTerm()) this.startRead([request]);
    else this.pendingReads.push(request);
  }

  /** Starts one confirmation round at the commit index for `requests`. */
  private startRead(requests: ReadRequest[]): void {
    if (this.voters.size === 1 && this.voters.has(this.id)) {
      this.answerReads(this.#log.committed, requests);
      return;
    }
    const round = ++this.lastRound;
    this.readOnly.add(this.#log.committed, round, this.id);
    this.roundRequests.set(round, requests);
    this.replicator?.broadcastHeartbeat(round);
  }

  /** Read requests confirmed at `index`: ours become ReadStates, followers' get answers. */
  private answerReads(index: number, requests: readonly ReadRequest[]): void {
    for (const r of requests) {
      if (r.from === this.id) this.#readStates.push({ index, context: r.context });
      else
        this.send({
          type: "readIndexResp",
          to: r.from,
          term: this.#term,
          index,
          context: r.context,
        });
    }
  }

  /**
   * Reads asked for before this leader's first commit: one round for all of them. A
   * leader's own reads keep their order (they share the round's index).
   */
  private releasePendingReads(): void {
    if (this.pendingReads.length === 0 || !this.committedInCurrentTerm()) return;
    const requests = this.pendingReads;
    this.pendingReads = [];
    this.startRead(requests);
  }

  /** A follower asks this node for a read index; only a leader answers (thesis §6.4). */
  private handleReadIndex(m: ReadIndexRequest): void {
    if (this.#role !== "leader") return; // the asker's timeout or term change fails it
    this.requestRead({ from: m.from, context: m.context });
  }

  /** The leader we follow confirmed a read index for one of our requests. */
  private handleReadIndexResponse(m: ReadIndexResponse): void {
    if (this.#role !== "follower" || m.from !== this.#leader) return;
    this.#readStates.push({ index: m.index, context: m.context });
  }

  // ---- output ---------------------------------------------------------------------------

  private send(m: Outgoing): void {
    this.#msgs.push({ ...m, from: this.id } as Message);
  }

  /**
   * The driver reports how sending a snapshot to `to` ended. On failure the follower is
   * probed again after its next heartbeat reply, which re-sends a snapshot if still needed.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    if (this.#role === "leader") this.replicator?.reportSnapshot(to, ok);
  }

  /** The driver made a snapshot at `meta` durable; later compaction may rely on it. */
  snapshotTaken(meta: SnapshotMeta): void {
    if (this.latestSnapshot === null || meta.index > this.latestSnapshot.index) {
      this.latestSnapshot = {
        ...meta,
        membership: meta.membership ?? this.membershipAt(meta.index),
      };
    }
  }

  /** Drops log entries up to `index` (covered by a durable snapshot or state machine). */
  compact(index: number): void {
    const snap = this.latestSnapshot;
    if (snap === null || snap.index < index)
      throw new Error(`raft: no snapshot covers compaction to ${index}`);
    const watch = this.watch();
    this.#log.compact(index);
    this.forgetConfigsBefore(index);
    this.check(watch);
  }

  /**
   * Swaps durable entries for an equivalent lighter form the driver persisted (see
   * {@link RaftLog.replacePersisted}); returns how many were swapped.
   */
  replacePersisted(entries: readonly Entry[]): number {
    const watch = this.watch();
    const replaced = this.#log.replacePersisted(entries);
    this.check(watch);
    return replaced;
  }

  /** The driver calls this once entries up to (index, term) are durable. */
  onStable(index: number, term: number): void {
    const watch = this.watch();
    this.#log.stableTo(index, term);
    if (this.maybeCommit()) this.replicator?.broadcastAppend();
    this.check(watch);
  }
}
