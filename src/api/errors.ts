/**
 * The typed errors of the client API, shared by server and client so both sides speak
 * one vocabulary. On the wire an error is a gRPC status plus trailing metadata
 * `dfs-error` (one of {@link DfsErrorCode}) and, for `not_leader`, `dfs-leader`.
 */

/** Every error a client can see, by meaning rather than by transport detail. */
export type DfsErrorCode =
  | "not_found"
  | "not_leader"
  | "unavailable"
  | "invalid_argument"
  | "too_large"
  | "precondition_failed"
  /**
   * A bound on a shared resource was reached: too many uploads at once on the
   * connection or the node, or an upload closed as stalled. The request itself may be
   * fine; retry later or with less at once. (Other bounds answer otherwise: a stream's
   * queued answers pause it, and a session's forgotten results answer `unavailable`.)
   * See docs/security.md "Resource limits".
   */
  | "resource_exhausted"
  /**
   * Auth is on and the call carried no credentials, a wrong password, or a token that
   * expired or was revoked (user deleted, password changed). Log in again. See docs/auth.md.
   */
  | "unauthenticated"
  /** The caller is known but lacks the permission; the message names the one missing. */
  | "permission_denied"
  | "internal";

/** Trailing-metadata key that carries the {@link DfsErrorCode}. */
export const ERROR_CODE_METADATA = "dfs-error";

/** Trailing-metadata key that carries the leader's client address (host:port), if known. */
export const LEADER_METADATA = "dfs-leader";

/** A failed client operation, typed so callers (and the CLI's exit codes) can branch on it. */
export class DfsError extends Error {
  /**
   * @param code what went wrong
   * @param message one human line, safe to print to a user
   * @param leaderHint for `not_leader`: the leader's address if this node knows it
   */
  constructor(
    readonly code: DfsErrorCode,
    message: string,
    readonly leaderHint?: string,
  ) {
    super(message);
    this.name = "DfsError";
  }
}

/** Trailing-metadata key that carries a refused membership change's {@link MemberChangeReason}. */
export const REASON_METADATA = "dfs-reason";

/**
 * Why a membership change or leadership transfer was refused (MemberAdd, MemberPromote,
 * MemberRemove, LeaderTransfer). The first six come from the Raft core, the rest from the
 * leader's own checks before it proposes:
 *
 * - `pending`: another change (or the new leader's first entry) is not committed yet; retry.
 * - `not_single_change`: more than one member would change at once.
 * - `invalid`: the resulting configuration would be invalid (e.g. no voter left).
 * - `transferring`: a leadership transfer is under way; retry after it.
 * - `no_quorum`: the new voters could not form a quorum among members heard from lately
 *   (a majority is down): the change would make the cluster unavailable.
 * - `bad_target`: a transfer's target is not another voter.
 * - `duplicate_id`: the id is already a member.
 * - `duplicate_address`: the peer or client address is already a member's.
 * - `not_found`: no member has that id.
 * - `learner_lagging`: the learner trails the leader's log by more than a small bound;
 *   promote it once it caught up.
 * - `last_voter`: removing (or demoting) the only voter is refused.
 * - `removed_id`: the id was removed before and is never reused; pick a new one.
 * - `not_learner`: promote was asked for a member that already votes.
 */
export type MemberChangeReason =
  | "pending"
  | "not_single_change"
  | "invalid"
  | "transferring"
  | "no_quorum"
  | "bad_target"
  | "duplicate_id"
  | "duplicate_address"
  | "not_found"
  | "learner_lagging"
  | "last_voter"
  | "removed_id"
  | "not_learner";

/** Every {@link MemberChangeReason}, for checks at the edge. */
export const MEMBER_CHANGE_REASONS: readonly MemberChangeReason[] = [
  "pending",
  "not_single_change",
  "invalid",
  "transferring",
  "no_quorum",
  "bad_target",
  "duplicate_id",
  "duplicate_address",
  "not_found",
  "learner_lagging",
  "last_voter",
  "removed_id",
  "not_learner",
];

/**
 * A refused membership change: code `precondition_failed` (gRPC FAILED_PRECONDITION, exit
 * code 4 in the CLI unless it maps reasons itself) with the {@link MemberChangeReason}.
 */
export class MemberChangeError extends DfsError {
  constructor(
    readonly reason: MemberChangeReason,
    message: string,
  ) {
    super("precondition_failed", message);
    this.name = "MemberChangeError";
  }
}

/** True for a known {@link MemberChangeReason}. */
export function isMemberChangeReason(value: unknown): value is MemberChangeReason {
  return MEMBER_CHANGE_REASONS.includes(value as MemberChangeReason);
}
