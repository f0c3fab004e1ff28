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
