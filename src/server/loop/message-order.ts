/**
 * When each message of a Ready may leave (see docs/architecture.md#persistence-rules):
 *
 * - Anything that promises this node's durable state — votes, append acks, anything sent
 *   from a term or vote not yet on disk — goes out only after the Ready's fsync.
 * - A leader's appends, heartbeats and snapshots promise nothing about its own disk, so
 *   they go out before its fsync (Raft thesis §10.2.1): leader and followers write in
 *   parallel, and the leader counts itself toward a commit only after its own fsync.
 * - A leader's Ready that writes nothing but commits entries (an ack arrived) applies and
 *   answers its clients first and sends its commit notices (appends without entries,
 *   which nobody waits on) after: at one put in flight this takes two message sends off
 *   each put's path.
 */
import type { HardState, Message, Ready } from "../../raft/index.ts";

/** A Ready's messages by when they may be sent. */
export interface SendPlan {
  /** Before the fsync. */
  readonly early: readonly Message[];
  /** After the fsync, before applying. */
  readonly late: readonly Message[];
  /** After the answers settled by this Ready's apply are on their way. */
  readonly afterApply: readonly Message[];
}

/** True when two hard states agree on term and vote (the commit index may differ). */
export function sameTermAndVote(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote;
}

/** True when `hs` (a Ready's hard state; null: unchanged) asks for no new term or vote on disk. */
function termAndVoteDurable(hs: HardState | null, persisted: HardState): boolean {
  return hs === null || sameTermAndVote(hs, persisted);
}

/** Sorts a Ready's messages into {@link SendPlan} slots, keeping their order within each. */
export function planSends(rd: Ready, persisted: HardState): SendPlan {
  if (rd.softState.role !== "leader" || !termAndVoteDurable(rd.hardState, persisted)) {
    return { early: [], late: rd.messages, afterApply: [] };
  }
  const answersFirst =
    rd.snapshot === null && rd.entries.length === 0 && rd.committedEntries.length > 0;
  const early: Message[] = [];
  const late: Message[] = [];
  const afterApply: Message[] = [];
  for (const m of rd.messages) {
    if (!promisesNothing(m)) late.push(m);
    else if (answersFirst && isCommitNotice(m)) afterApply.push(m);
    else early.push(m);
  }
  return { early, late, afterApply };
}

/**
 * A leader's message that says nothing about its own disk. A read index is a commit
 * index, durable on a majority already.
 */
function promisesNothing(m: Message): boolean {
  return (
    m.type === "append" ||
    m.type === "heartbeat" ||
    m.type === "snapshot" ||
    m.type === "readIndexResp"
  );
}

/** An append that carries no entries: it only moves a follower's commit index forward. */
function isCommitNotice(m: Message): boolean {
  return m.type === "append" && m.entries.length === 0;
}
