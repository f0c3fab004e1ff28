/**
 * Request headers of write forwarding (docs/architecture.md#the-put-path): a follower
 * relays a write it cannot propose to the leader, marking it so it is never relayed
 * twice; a client that follows leader hints itself asks for the hint instead.
 */

/** Set by a follower on a request it relays: the receiver never relays it again. */
export const FORWARDED_METADATA = "dfs-forwarded";

/**
 * Set by a client that wants NOT_LEADER with the leader's address rather than having a
 * follower relay its write (DfsClient sends it: it goes to the leader itself next time).
 */
export const NO_FORWARD_METADATA = "dfs-no-forward";
