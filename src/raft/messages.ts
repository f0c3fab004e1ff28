/**
 * Messages exchanged between Raft peers, as a discriminated union on `type` so every
 * handler sees exactly the fields its message has. Every message carries the sender's
 * term: receiving a higher term is how a node learns it is out of date (§5.1).
 */
import type { Membership } from "./membership.ts";
import type { Entry, NodeId } from "./types.ts";

interface Envelope {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/**
 * RequestVote (§5.2) and its pre-vote twin (thesis §9.6). For a pre-vote `term` is the
 * term the sender *would* campaign in; the sender's own term is unchanged.
 */
export interface VoteRequest extends Envelope {
  readonly type: "preVote" | "vote";
  readonly lastLogIndex: number;
  readonly lastLogTerm: number;
  /**
   * Sent on the leader's own request (TimeoutNow, thesis §3.10): voters grant it even while
   * they still hear from that leader, which would otherwise make them refuse (the lease).
   */
  readonly transfer: boolean;
}

/** A vote (or pre-vote) granted or refused. */
export interface VoteResponse extends Envelope {
  readonly type: "preVoteResp" | "voteResp";
  readonly reject: boolean;
}

/** AppendEntries (§5.3): entries after (prevIndex, prevTerm) plus the leader's commit index. */
export interface AppendRequest extends Envelope {
  readonly type: "append";
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

/**
 * Answer to AppendEntries. Accepted: `index` is the follower's last matching index.
 * Rejected: `index` echoes the rejected prevIndex, and (`rejectHint`, `hintTerm`) let the
 * leader skip a whole conflicting term at once instead of one entry per round trip.
 */
export interface AppendResponse extends Envelope {
  readonly type: "appendResp";
  readonly reject: boolean;
  readonly index: number;
  readonly rejectHint: number;
  readonly hintTerm: number;
}

/**
 * Leader heartbeat. `commit` is capped at what the follower is known to hold, and
 * `context` names the newest pending ReadIndex round so acks confirm leadership for it.
 */
export interface Heartbeat extends Envelope {
  readonly type: "heartbeat";
  readonly commit: number;
  readonly context: number;
}

/** Acknowledges a heartbeat, echoing its ReadIndex context. */
export interface HeartbeatResponse extends Envelope {
  readonly type: "heartbeatResp";
  readonly context: number;
}

/** Identifies a snapshot: the last log entry it covers, and the configuration in force there. */
export interface SnapshotMeta {
  readonly index: number;
  readonly term: number;
  /**
   * The configuration as of `index` (a node that installs the snapshot adopts it). Absent
   * only where a caller hands the core a position and lets it fill the rest in.
   */
  readonly membership?: Membership;
}

/**
 * InstallSnapshot (§7): the follower needs entries the leader has compacted away. Only the
 * metadata travels in the message; the transport streams the image beside it and hands
 * this message to the follower's core once the image is complete and verified.
 */
export interface SnapshotRequest extends Envelope {
  readonly type: "snapshot";
  readonly snapshot: SnapshotMeta;
}

/**
 * A leader hands over (thesis §3.10): the addressee, whose log matches the leader's,
 * starts an election at once instead of waiting for its timeout.
 */
export interface TimeoutNow extends Envelope {
  readonly type: "timeoutNow";
  /**
   * The leader's commit index (at most what the addressee holds). A leader that a
   * configuration removed hands over and goes: should the append telling the addressee
   * of that commit be lost, this is its last chance to learn that the removal is in
   * force, without which a survivor of a two-voter cluster would wait for the removed
   * node's vote forever.
   */
  readonly commit: number;
}

/**
 * A follower asks the leader for a read index (thesis §6.4): `context` names the request
 * among this follower's own, and the leader echoes it back.
 */
export interface ReadIndexRequest extends Envelope {
  readonly type: "readIndex";
  readonly context: number;
}

/**
 * The leader's answer to a ReadIndexRequest, sent once a quorum confirmed it still led
 * after the request arrived: the follower serves the read once it applied `index`.
 */
export interface ReadIndexResponse extends Envelope {
  readonly type: "readIndexResp";
  readonly index: number;
  readonly context: number;
}

/** Every message one Raft node can send another. */
export type Message =
  | SnapshotRequest
  | VoteRequest
  | VoteResponse
  | AppendRequest
  | AppendResponse
  | Heartbeat
  | HeartbeatResponse
  | TimeoutNow
  | ReadIndexRequest
  | ReadIndexResponse;

/** The `type` tags, for transports that encode messages. */
export type MessageType = Message["type"];
