/**
 * The receiving edge's rules for peer traffic: a batch is for this
 * cluster and this node and comes from a member; each message in it is of a known type,
 * from the batch's sender, for this node, and well formed (the core's own content rules,
 * raft/message-rules.ts: terms and indexes within MAX_TERM/MAX_INDEX, known entry kinds,
 * contiguous entries with sane terms, consistent snapshot metadata), and no upload chunk
 * in the stored form (its bytes left behind in the sender's blob store). Snapshot metadata
 * only arrives with its image over InstallSnapshot, never in a batch. Pure: the service
 * counts and logs what these return (see peer-drops.ts).
 */
import type { MessageBatch, RaftMessage, SnapshotChunk } from "../gen/raft.ts";
import {
  decodeMembership,
  EntryKind,
  isIndex,
  isTerm,
  type Membership,
  type Message,
  messageFault,
} from "../raft/index.ts";
import { isStoredChunkPayload } from "../wire/index.ts";
import { fromWire } from "./codec.ts";
import type { PeerDropReason } from "./peer-drops.ts";

/** Who this node is, as the checks need it. */
export interface PeerIdentity {
  readonly selfId: number;
  readonly clusterId: string;
  /**
   * True for a sender this node accepts: anyone not removed from the configuration and
   * not this node (a member added by a configuration this node has not learned yet must
   * reach it; the core accepts unknown ids too).
   */
  readonly isMember: (id: number) => boolean;
  /**
   * Null when sender `id` may present member identity `identity` (its data dir's), else
   * why not (the configuration binds `id` to another data dir). Without it, no check.
   */
  readonly identityFault?: (id: number, identity: string) => string | null;
}

/** One refusal: the counter it goes to and a one-line reason for the log. */
export interface Refusal {
  readonly reason: PeerDropReason;
  readonly detail: string;
}

/** A batch's outcome: refused as a whole, or the messages that passed and those dropped. */
export type BatchVerdict =
  | { readonly refused: Refusal }
  | { readonly refused: null; readonly messages: Message[]; readonly dropped: Refusal[] };

/**
 * Checks the batch header. A batch from another cluster, for another node or from a
 * non-member is refused whole (the caller answers with an error so a misconfigured peer
 * sees why); otherwise each message is checked on its own and only the bad ones dropped
 * (Raft tolerates the loss of any message).
 */
export function checkBatch(batch: MessageBatch, self: PeerIdentity): BatchVerdict {
  const header = headerRefusal(batch.clusterId, batch.from, batch.to, batch.identity, self);
  if (header !== null) return { refused: header };
  const messages: Message[] = [];
  const dropped: Refusal[] = [];
  for (const w of batch.messages) {
    const checked = checkMessage(w, batch.from, self.selfId);
    if ("reason" in checked) dropped.push(checked);
    else messages.push(checked);
  }
  return { refused: null, messages, dropped };
}

/** Checks one wire message of a batch from `sender`; returns the core message or a refusal. */
export function checkMessage(w: RaftMessage, sender: number, selfId: number): Message | Refusal {
  if (w.from !== sender) {
    return refusal("sender_mismatch", `message from ${w.from} in a batch from ${sender}`);
  }
  if (w.to !== selfId) return refusal("wrong_addressee", `message for node ${w.to}`);
  const m = fromWire(w);
  if (m === null) return refusal("unknown_type", `unknown message type ${w.type}`);
  if (m.type === "snapshot") {
    return refusal("snapshot_outside_transfer", "snapshot metadata without its image");
  }
  const fault = messageFault(m);
  if (fault !== null) return refusal(fault, `${m.type} of term ${m.term}: ${fault}`);
  if (m.type === "append") {
    const stored = m.entries.find(
      (e) => e.kind === EntryKind.Normal && isStoredChunkPayload(e.data),
    );
    if (stored !== undefined) {
      return refusal(
        "stored_chunk",
        `append of term ${m.term}: entry ${stored.index} is a chunk without its bytes (stored form)`,
      );
    }
  }
  return m;
}

/**
 * Checks one InstallSnapshot chunk's header: cluster, addressee, a member sender, and
 * snapshot metadata a leader of `term` could send.
 */
export function checkChunk(c: SnapshotChunk, self: PeerIdentity): Refusal | null {
  const header = headerRefusal(c.clusterId, c.from, c.to, c.identity, self);
  if (header !== null) return header;
  if (!isTerm(c.term) || !isTerm(c.logTerm) || !isIndex(c.index)) {
    return refusal("index_range", `snapshot term ${c.term} at (${c.index}, ${c.logTerm})`);
  }
  if (c.term < 1 || c.index < 1 || c.logTerm < 1 || c.logTerm > c.term) {
    return refusal("snapshot_meta", `snapshot (${c.index}, ${c.logTerm}) in term ${c.term}`);
  }
  if (c.membership.length > 0 && chunkMembership(c) === null) {
    return refusal(
      "bad_config",
      `snapshot (${c.index}, ${c.logTerm}) carries an invalid configuration`,
    );
  }
  return null;
}

/**
 * The configuration a chunk carries (the one in force at the snapshot's index): undefined
 * when it carries none (an older sender), null when the bytes are not a valid one.
 */
export function chunkMembership(c: SnapshotChunk): Membership | null | undefined {
  if (c.membership.length === 0) return undefined;
  return decodeMembership(c.membership);
}

function headerRefusal(
  clusterId: string,
  from: number,
  to: number,
  identity: string,
  self: PeerIdentity,
): Refusal | null {
  if (clusterId !== self.clusterId) {
    return refusal(
      "wrong_cluster",
      `cluster id mismatch: this node is in cluster ${self.clusterId}, sender in ${clusterId}`,
    );
  }
  if (to !== self.selfId) {
    return refusal("wrong_addressee", `message for node ${to} reached node ${self.selfId}`);
  }
  if (from === self.selfId) {
    return refusal("not_member", `message claims to come from this node (${from}) itself`);
  }
  if (!self.isMember(from)) {
    return refusal("not_member", `node ${from} is not a member of this cluster`);
  }
  const wrongIdentity = self.identityFault?.(from, identity) ?? null;
  if (wrongIdentity !== null) return refusal("identity_mismatch", wrongIdentity);
  return null;
}

function refusal(reason: PeerDropReason, detail: string): Refusal {
  return { reason, detail };
}
