/**
 * Configuration of the pure Raft core. Everything that varies between production and
 * simulation (time, randomness) comes in through here, so the core stays deterministic.
 */
import type { Entry, NodeId } from "./types.ts";

/** Settings of one Raft node. Times are in ticks; the caller decides what a tick is. */
export interface RaftConfig {
  /** This node's id (non-zero). */
  readonly id: NodeId;
  /**
   * The voters that bootstrap a new cluster, including this node; used only when the node
   * has no configuration of its own yet (RaftInit.membership absent). Empty for a node
   * that joins a running cluster: it has no configuration, never campaigns, and learns one
   * from the leader's log or snapshot.
   */
  readonly voters: readonly NodeId[];
  /**
   * Base election timeout; the actual one is drawn from [electionTick, 2*electionTick) on
   * every reset so that split votes resolve quickly (§5.2). Must exceed heartbeatTick.
   */
  readonly electionTick: number;
  /** Ticks between leader heartbeats. */
  readonly heartbeatTick: number;
  /**
   * Pre-vote (thesis §9.6): a node first asks whether it could win before bumping its term,
   * so a partitioned node that rejoins cannot depose a healthy leader.
   */
  readonly preVote: boolean;
  /**
   * Check-quorum: a leader that has not heard from a majority within an election timeout
   * steps down, and followers that heard from a leader recently ignore vote requests
   * (leader lease). Together with pre-vote this prevents livelock under partial partitions.
   */
  readonly checkQuorum: boolean;
  /** Upper bound on entry bytes in one AppendEntries message (at least one entry is sent). */
  readonly maxMsgBytes: number;
  /** AppendEntries messages in flight to one follower in replicate state (pipelining window). */
  readonly maxInflight: number;
  /**
   * Entry bytes (as {@link entryBytes} counts them) in flight to one follower in replicate
   * state, past which the leader waits for acks (etcd-io/raft's MaxInflightBytes); one
   * append may pass it. Absent or 0: only {@link maxInflight} bounds the window. A driver
   * whose transport holds a bounded amount per peer sets it at or below that amount, so
   * the window never sends what the transport would have to drop.
   */
  readonly maxInflightBytes?: number;
  /**
   * Bytes an entry stands for when sizing appends and apply batches. Default: its data's
   * length. The server passes one that counts a chunk kept in the node's blob store by
   * the chunk's length, since the entry is rehydrated to that size before it is sent
   * (see {@link RawNode.replacePersisted}); it must be pure and cheap.
   */
  readonly entryBytes?: (entry: Entry) => number;
  /** Seeded source of uniform numbers in [0, 1); the only randomness the core uses. */
  readonly random: () => number;
  /**
   * Also run the invariant checks that scan the log tail and outgoing messages after every
   * input (see invariants.ts; the O(1) ones always run). On in tests and the simulator.
   */
  readonly checkInvariants?: boolean;
}

/** Throws if a configuration could not possibly work; catches wiring mistakes at startup. */
export function validateRaftConfig(config: RaftConfig): void {
  if (config.id <= 0) throw new Error("raft: id must be positive");
  if (config.voters.length > 0 && !config.voters.includes(config.id)) {
    throw new Error("raft: id must be one of the voters (or voters empty, to join a cluster)");
  }
  if (new Set(config.voters).size !== config.voters.length) {
    throw new Error("raft: duplicate voter ids");
  }
  if (config.heartbeatTick <= 0) throw new Error("raft: heartbeatTick must be positive");
  if (config.electionTick <= config.heartbeatTick) {
    throw new Error("raft: electionTick must be greater than heartbeatTick");
  }
  if (config.maxInflight <= 0) throw new Error("raft: maxInflight must be positive");
  if ((config.maxInflightBytes ?? 0) < 0)
    throw new Error("raft: maxInflightBytes must not be negative");
}
