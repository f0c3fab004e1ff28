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
