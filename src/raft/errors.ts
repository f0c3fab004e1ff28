/**
 * Errors the core raises to its driver. Named exports so the server can map each to a
 * client-facing error.
 */

/** A proposal or read reached a node that is not the leader; the client must go elsewhere. */
export class NotLeaderError extends Error {
  constructor(readonly leader: number) {
    super("not the leader");
    this.name = "NotLeaderError";
  }
}

/** Why the core refused a configuration change or a leadership transfer. */
export type ConfigRefusal =
  /** A change is proposed but not yet committed, or this leader has not yet committed an entry of its term. */
  | "pending"
  /** More than one member would change at once (one-at-a-time changes only). */
  | "not_single_change"
  /** The new configuration is malformed or has no voter. */
  | "invalid"
  /** A leadership transfer is under way; changes and proposals wait for it. */
  | "transferring"
  /** The new configuration's voters could not form a quorum from the members heard from recently. */
  | "no_quorum"
  /** The transfer target is not a voter, or is this node. */
  | "bad_target";

/**
 * The core refused a configuration change or leadership transfer; `reason` says why so the
 * server can map it to one clear client error.
 */
export class ConfigChangeError extends Error {
  constructor(
    readonly reason: ConfigRefusal,
    message: string,
  ) {
    super(message);
    this.name = "ConfigChangeError";
  }
}
