/**
 * Bounds on what one client can make a node hold, each default next to its reason (the
 * table in docs/security.md "Resource limits" mirrors this file). A bound that is hit
 * costs the client that hit it — a paused stream or a `resource_exhausted` error — and
 * never the node or its other clients.
 */

/** The node's resource bounds; tests and `dfs server` flags may lower them. */
export interface ResourceLimits {
  /**
   * Answers of one BatchStream call that are being worked on or written but not yet taken
   * by the client. Past it the server stops reading that stream's requests until answers
   * drain (HTTP/2 flow control then holds the client back). The client library keeps one
   * batch per tick in flight per node, far below this.
   */
  readonly streamAnswersInFlight: number;
  /** Bytes of answers of one BatchStream written but not yet taken by the client; same effect. */
  readonly streamAnswerBytes: number;
  /**
   * Uploads in progress on one connection. Each holds up to a chunk being cut plus
   * {@link UPLOAD_WINDOW_CHUNKS} chunks in Raft (about 9 MiB at worst); a real client
   * streams a few files at once.
   */
  readonly uploadsPerConnection: number;
  /** Uploads in progress on the node (the leader), whoever sends them. */
  readonly uploadsPerNode: number;
  /**
   * An upload that does not send {@link uploadMinProgressBytes} (or finish) within each
   * window of this length is closed as stalled and its chunks freed: a healthy client
   * sends a chunk every few milliseconds, while a stalled one would otherwise hold its
   * slot and buffers until the state machine's 15-minute sweep. Time the node spends
   * storing the upload's chunks (its stream paused) does not count.
   */
  readonly uploadIdleMs: number;
  /**
   * Progress an upload must make in each {@link uploadIdleMs} window. Any byte used to
   * restart the window, so one byte a minute per upload held the node's upload slots
   * forever; this asks for about 1 KiB/s (64 KiB a minute), far below any real link.
   */
  readonly uploadMinProgressBytes: number;
}

/** The defaults; see each field's doc comment for the reason. */
export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  streamAnswersInFlight: 16,
  streamAnswerBytes: 8 * 1024 * 1024,
  uploadsPerConnection: 8,
  uploadsPerNode: 32,
  uploadIdleMs: 60_000,
  uploadMinProgressBytes: 64 * 1024,
};

/**
 * HTTP/2 streams (calls) one connection may have open at once on the client port. The
 * client library uses one BatchStream and a handful of calls per connection; a thousand
 * open calls on one connection is an attack (each costs buffers and a handler).
 */
export const CLIENT_MAX_CONCURRENT_STREAMS = 128;

/**
 * The server pings an idle connection after this long and drops it if no answer comes
 * within {@link CLIENT_KEEPALIVE_TIMEOUT_MS}: half-open connections (a client host that
 * vanished) are freed in minutes rather than at the OS's TCP timeout of hours.
 */
export const CLIENT_KEEPALIVE_TIME_MS = 2 * 60 * 1000;

/** How long a keepalive ping may go unanswered before the connection is closed. */
export const CLIENT_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * A connection with no call open for this long is closed (GOAWAY); the client library
 * reconnects transparently on its next call. Bounds connections a client opens and abandons.
 */
export const CLIENT_MAX_CONNECTION_IDLE_MS = 5 * 60 * 1000;

/**
 * HTTP/2 streams (calls) one connection may have open at once on the peer port. A node
 * opens one long-lived `Stream` per peer on its peer connection and runs InstallSnapshot
 * on a connection of its own (one transfer per follower at a time), so a real peer needs
 * one or two. Nodes that share a process (an embedding program, the integration tests)
 * share one connection per destination through grpc-js's subchannel pool, one `Stream`
 * each; 8 covers seven of them plus a stream being replaced. Past the cap the server
 * refuses new streams (SETTINGS_MAX_CONCURRENT_STREAMS): a grpc-js client queues them
 * until one ends, so a hostile peer cannot make one connection cost a thousand handlers.
 */
export const PEER_MAX_CONCURRENT_STREAMS = 8;

/**
 * The peer port pings a connection after this long without traffic and closes it if no
 * answer comes within {@link PEER_KEEPALIVE_TIMEOUT_MS}: a peer host that vanished (power
 * loss, partition) holds no socket for hours. Peers ping every 10 s themselves, so a live
 * one never waits on this.
 */
export const PEER_KEEPALIVE_TIME_MS = 60_000;

/** How long a keepalive ping on the peer port may go unanswered before the connection closes. */
export const PEER_KEEPALIVE_TIMEOUT_MS = 20_000;

/**
 * A peer connection with no call open for this long is closed (GOAWAY). A live peer's
 * `Stream` never idles; snapshot connections idle between transfers and are redialled on
 * the next one. Bounds connections a stranger opens and abandons.
 */
export const PEER_MAX_CONNECTION_IDLE_MS = 5 * 60 * 1000;
