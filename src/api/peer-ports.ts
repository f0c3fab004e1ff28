/**
 * Where a member's peer listener is when `--peers` does not say: shared by the server,
 * the CLI's `--peers` parser and the local cluster harness.
 */

/**
 * Distance of the default peer port from the client port (50051 -> 60051). A fixed
 * offset lets the seed's `--peers 1@localhost:50051,...` keep working unchanged while
 * still giving every member a peer port of its own.
 */
export const PEER_PORT_OFFSET = 10_000;
