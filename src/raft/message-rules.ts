/**
 * What a well-formed Raft message looks like, judged from the message alone: numbers in
 * range, log positions that can exist, entries that form a valid run of log. The core
 * runs these checks on every message it steps (so nothing malformed reaches its log or
 * WAL, whatever the transport did) and the transport runs them at the edge to count and
 * log refusals per sender. Pure and cheap: O(entries).
 */
import { MAX_INDEX, MAX_TERM } from "./limits.ts";
import { decodeMembership, membershipFault } from "./membership.ts";
import type { AppendRequest, AppendResponse, Message } from "./messages.ts";
import { EntryKind } from "./types.ts";

/**
 * Why a message was refused; each value is a counter name, so they are stable strings.
 * The first group is judged from the message alone (this module); the second needs the
 * receiver's state (the core) and the third the transport's context.
 */
export type DropReason =
  | "term_range"
  | "index_range"
  | "log_position"
  | "entry_kind"
  | "entries_not_contiguous"
  | "entry_term"
  | "reject_hint"
  | "snapshot_meta"
  | "bad_config"
  | "not_member"
  | "not_voter"
  | "term_jump"
  | "second_leader"
  | "ack_beyond_log"
  | "commit_beyond_log"
  | "wrong_addressee"
  | "wrong_cluster"
  | "sender_mismatch"
  | "unknown_type"
  | "snapshot_outside_transfer"
  | "undecodable";

/** A term a message may carry: 0 (a fresh node's answers) up to MAX_TERM. */
export function isTerm(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_TERM;
}

/** An index (or commit, hint, snapshot index) a message may carry: 0 up to MAX_INDEX. */
export function isIndex(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_INDEX;
}

/** True for an entry kind this version knows how to store and apply. */
export function isKnownEntryKind(kind: number): kind is EntryKind {
  return kind === EntryKind.Normal || kind === EntryKind.Noop || kind === EntryKind.Config;
}

/**
 * Checks `m` on its own; returns why it is malformed, or null. Requests (votes, appends,
 * heartbeats, snapshots) are sent by a node that has reached term >= 1; answers may carry
 * term 0 (a fresh node refusing a pre-vote).
 */
export function messageFault(m: Message): DropReason | null {
  if (!isTerm(m.term)) return "term_range";
  switch (m.type) {
    case "preVote":
    case "vote":
      if (m.term < 1) return "term_range";
      return positionFault(m.lastLogIndex, m.lastLogTerm, m.term);
    case "preVoteResp":
    case "voteResp":
    case "heartbeatResp":
      return null;
    case "heartbeat":
      if (m.term < 1) return "term_range";
      return isIndex(m.commit) ? null : "index_range";
    case "timeoutNow":
      if (m.term < 1) return "term_range";
      return isIndex(m.commit) ? null : "index_range";
    case "readIndex":
      if (m.term < 1) return "term_range";
      return isIndex(m.context) ? null : "index_range";
    case "readIndexResp":
      if (m.term < 1) return "term_range";
      return isIndex(m.index) && isIndex(m.context) ? null : "index_range";
    case "append":
      return appendFault(m);
    case "appendResp":
      return appendRespFault(m);
    case "snapshot": {
      if (m.term < 1) return "term_range";
      const s = m.snapshot;
      if (!isIndex(s.index) || !isTerm(s.term)) return "index_range";
      if (s.index < 1 || s.term < 1 || s.term > m.term) return "snapshot_meta";
      if (s.membership !== undefined && membershipFault(s.membership) !== null) return "bad_config";
      return null;
    }
    default:
      return "unknown_type";
  }
}

/**
 * A log position (index, term) as the sender of a message in `term` can hold it: index 0
 * exactly when term 0 (the empty log), and no entry from a term after the message's.
 */
function positionFault(index: number, term: number, messageTerm: number): DropReason | null {
  if (!isIndex(index) || !isTerm(term)) return "index_range";
  if ((index === 0) !== (term === 0) || term > messageTerm) return "log_position";
  return null;
}

/**
 * An append is a run of log after (prevIndex, prevTerm): entries at prevIndex+1, +2, …,
 * of known kinds, with terms that never go back, never below prevTerm and never above
 * the leader's term (a leader only sends entries it holds, all from its term or before).
 */
function appendFault(m: AppendRequest): DropReason | null {
  if (m.term < 1) return "term_range";
  const position = positionFault(m.prevIndex, m.prevTerm, m.term);
  if (position !== null) return position;
  if (!isIndex(m.commit) || !isIndex(m.prevIndex + m.entries.length)) return "index_range";
  let previousTerm = m.prevTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i] as AppendRequest["entries"][number];
    if (e.index !== m.prevIndex + 1 + i) return "entries_not_contiguous";
    if (!isTerm(e.term) || e.term < 1 || e.term < previousTerm || e.term > m.term) {
      return "entry_term";
    }
    if (!isKnownEntryKind(e.kind)) return "entry_kind";
    if (e.kind === EntryKind.Config && decodeMembership(e.data) === null) return "bad_config";
    previousTerm = e.term;
  }
  return null;
}

/**
 * An answer to an append: indexes in range; a refusal's hint (the follower's best guess
 * at a match) is at or before the refused prevIndex, from a term no later than its own.
 */
function appendRespFault(m: AppendResponse): DropReason | null {
  if (!isIndex(m.index) || !isIndex(m.rejectHint) || !isTerm(m.hintTerm)) return "index_range";
  if (m.reject && (m.rejectHint > m.index || m.hintTerm > m.term)) return "reject_hint";
  return null;
}
