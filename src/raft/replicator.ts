/**
 * A leader's replication to its followers (§5.3, §7): one Progress per follower, the
 * appends, heartbeats and snapshots that keep each one's log in step, and what their
 * answers say. Created when a node becomes leader and dropped when it stops leading; the
 * leader's term never changes in between. Commit decisions stay with Raft (maybeCommit),
 * which reads the followers' match indexes from here.
 */
import type { RaftLog } from "./log.ts";
import type { AppendResponse, HeartbeatResponse, Message, SnapshotMeta } from "./messages.ts";
import { Progress, type ProgressState } from "./progress.ts";
import type { NodeId } from "./types.ts";

/** A message before the core stamps its sender. */
export type Outgoing = Message extends infer M
  ? M extends Message
    ? Omit<M, "from">
    : never
  : never;

/** A leader's view of one follower, as reported by {@link Replicator.view}. */
export interface PeerProgress {
  /** Highest index known to be replicated on the follower. */
  readonly match: number;
  /** Next index the leader sends. */
  readonly next: number;
  readonly state: ProgressState;
  /** Heard from since the last check-quorum round. */
  readonly recentActive: boolean;
  /** Ticks since the follower last answered (0: this tick). */
  readonly idleTicks: number;
  /** Appends sent and not yet acknowledged (pipelining depth; 0 outside replicate state). */
  readonly inflight: number;
}

/** What a leader's replicator works with. */
export interface ReplicatorInit {
  readonly term: number;
  readonly peers: readonly NodeId[];
  /** The core's logical time in ticks, to know whom we heard from lately. */
  readonly clock: () => number;
  readonly log: RaftLog;
  readonly maxMsgBytes: number;
  readonly maxInflight: number;
  /** Entry bytes in flight per follower (RaftConfig.maxInflightBytes; 0: unbounded). */
  readonly maxInflightBytes?: number;
  /** The newest durable snapshot, sent to a follower that needs compacted entries. */
  readonly latestSnapshot: () => SnapshotMeta | null;
  readonly send: (m: Outgoing) => void;
}

/** The leader side of log replication, for one term. */
export class Replicator {
  private readonly progress = new Map<NodeId, Progress>();
  /** Tick at which each follower last answered (a new follower counts as just heard). */
  private readonly lastHeard = new Map<NodeId, number>();
  private peers: readonly NodeId[];

  constructor(private readonly o: ReplicatorInit) {
    this.peers = [];
    this.setPeers(o.peers);
  }

  /**
   * Follows a configuration change: a new member gets a progress (probing from the end of
   * the log), a removed one loses it after one last append carrying the commit index, so
   * it can learn it was removed.
   */
  setPeers(peers: readonly NodeId[]): void {
    for (const id of peers) {
      if (this.progress.has(id)) continue;
      const pr = new Progress(
        this.o.log.lastIndex() + 1,
        this.o.maxInflight,
        this.o.maxInflightBytes ?? 0,
      );
      pr.recentActive = true;
      this.progress.set(id, pr);
      this.lastHeard.set(id, this.o.clock());
    }
    for (const id of this.progress.keys()) {
      if (peers.includes(id)) continue;
      this.sendAppend(id, true);
      this.progress.delete(id);
      this.lastHeard.delete(id);
    }
    this.peers = [...peers];
  }

  /** The match index of the voters among the followers. */
  matches(voters: ReadonlySet<NodeId>): number[] {
    const out: number[] = [];
    for (const [id, pr] of this.progress) if (voters.has(id)) out.push(pr.match);
    return out;
  }

  /** One follower's match index (0 if it is not a follower). */
  matchOf(id: NodeId): number {
    return this.progress.get(id)?.match ?? 0;
  }

  /** Followers that answered at or after tick `since`. */
  heardSince(since: number): Set<NodeId> {
    const out = new Set<NodeId>();
    for (const [id, at] of this.lastHeard) if (at >= since) out.add(id);
    return out;
  }

  /** Copies of each follower's progress. */
  view(): ReadonlyMap<NodeId, PeerProgress> {
    const out = new Map<NodeId, PeerProgress>();
    for (const [id, pr] of this.progress) {
      out.set(id, {
        match: pr.match,
        next: pr.next,
        state: pr.state,
        recentActive: pr.recentActive,
        idleTicks: this.o.clock() - (this.lastHeard.get(id) ?? 0),
        inflight: pr.inflightCount,
      });
    }
    return out;
  }

  /** Check-quorum: how many voting followers talked to us since the last check. Resets the marks. */
  takeActiveVoters(voters: ReadonlySet<NodeId>): number {
    let active = 0;
    for (const [id, pr] of this.progress) {
      if (pr.recentActive && voters.has(id)) active++;
      pr.recentActive = false;
    }
    return active;
  }

  /** Sends every follower what it lacks (a commit advanced, or new entries to replicate). */
  broadcastAppend(): void {
    for (const peer of this.peers) this.sendAppend(peer, true);
  }

  /**
   * Sends every follower the entries just proposed, in as many appends as its window
   * allows, not only the first `maxMsgBytes` of them: a batch of proposals larger than one
   * append (several uploads' chunks at once) otherwise left the rest waiting for the
   * follower's ack, and a driver that keeps only a lighter form of persisted entries (the
   * blob store's chunks) then had to read them back from disk to send them
   * (bench/README.md, session 7).
   */
  broadcastProposals(): void {
    for (const peer of this.peers) {
      this.sendAppend(peer, true);
      this.sendAppendsWhileOpen(peer);
    }
  }

  /** Heartbeats to every follower; `context` names the ReadIndex round their acks confirm. */
  broadcastHeartbeat(context: number): void {
    for (const peer of this.peers) {
      const pr = this.progress.get(peer) as Progress;
      const commit = Math.min(pr.match, this.o.log.committed);
      this.o.send({ type: "heartbeat", to: peer, term: this.o.term, commit, context });
    }
  }

  /**
   * Sends the follower its next batch of entries if flow control allows. With
   * `sendIfEmpty`, an empty append still goes out to carry a new commit index.
   * Returns whether anything was sent.
   */
  sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const log = this.o.log;
    const prevIndex = pr.next - 1;
    const prevTerm = log.termAt(prevIndex);
    if (prevTerm === undefined) return this.sendSnapshot(to, pr);
    const entries = log.slice(pr.next, log.lastIndex() + 1, this.o.maxMsgBytes);
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.o.send({
      type: "append",
      to,
      term: this.o.term,
      prevIndex,
      prevTerm,
      entries,
      commit: log.committed,
    });
    let bytes = 0;
    for (const e of entries) bytes += log.bytesOf(e);
    pr.sentEntries(prevIndex + entries.length, entries.length, bytes);
    return true;
  }

  /** Sends as many appends as the follower's window allows (pipelining). */
  sendAppendsWhileOpen(to: NodeId): void {
    while (this.sendAppend(to, false)) {
      // keep filling the window
    }
  }

  /**
   * Takes a follower's answer to an append; returns true when its match index advanced
   * (then the leader may commit, and should keep the follower's window full).
   */
  onAppendResponse(m: AppendResponse): boolean {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return false;
    pr.recentActive = true;
    this.lastHeard.set(m.from, this.o.clock());
    if (m.reject) {
      this.onRejectedAppend(pr, m);
      return false;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppendsWhileOpen(m.from);
      return false;
    }
    if (pr.state === "probe") pr.becomeReplicate();
    else if (pr.state === "snapshot" && pr.match >= pr.pendingSnapshot) {
      // Installed. If we compacted past it meanwhile, probing sends a newer snapshot.
      pr.becomeProbe();
      if (pr.match + 1 >= this.o.log.firstIndex()) pr.becomeReplicate();
    }
    return true;
  }

  /** Takes a follower's answer to a heartbeat; false if the sender is no follower of ours. */
  onHeartbeatResponse(m: HeartbeatResponse): boolean {
    const pr = this.progress.get(m.from);
    if (pr === undefined) return false;
    pr.recentActive = true;
    this.lastHeard.set(m.from, this.o.clock());
    pr.probeSent = false;
    if (pr.state === "replicate" && pr.inflightFull()) pr.freeFirstOne();
    // Even an empty append: if earlier appends were lost, the follower's rejection of it is
    // how the leader learns of the gap while idle (probe from match + 1).
    if (pr.match < this.o.log.lastIndex()) this.sendAppend(m.from, true);
    return true;
  }

  /**
   * How sending a snapshot to `to` ended. On failure the follower is probed again after its
   * next heartbeat reply, which re-sends a snapshot if still needed.
   */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (pr === undefined || pr.state !== "snapshot") return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true;
  }

  private onRejectedAppend(pr: Progress, m: AppendResponse): void {
    let hint = m.rejectHint;
    if (m.hintTerm > 0) hint = this.o.log.findConflictByTerm(m.rejectHint, m.hintTerm).index;
    if (!pr.maybeDecrTo(m.index, hint)) return;
    if (pr.state === "replicate") pr.becomeProbe();
    this.sendAppend(m.from, true);
  }

  /** The follower needs compacted entries: send the newest snapshot instead (§7). */
  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    const snap = this.o.latestSnapshot();
    const compacted = this.o.log.compactedTo().index;
    if (snap === null || snap.index < compacted) {
      throw new Error(`raft: log compacted to ${compacted} without a snapshot covering it`);
    }
    this.o.send({ type: "snapshot", to, term: this.o.term, snapshot: snap });
    pr.becomeSnapshot(snap.index);
    return true;
  }
}
