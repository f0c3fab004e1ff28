/**
 * Limits of the client API. One place, so server validation, client checks and the
 * docs agree.
 */

/**
 * Largest value a single put may carry. Every put is one Raft entry, and entries stay at
 * or under 1 MiB (etcd, LogCabin and Consul keep the same bound) so heartbeats are never
 * stuck behind a huge entry. Larger files arrive with chunked uploads.
 */
export const MAX_VALUE_BYTES = 1024 * 1024;

/** Longest key in UTF-8 bytes; paths beyond this are almost certainly a mistake. */
export const MAX_KEY_BYTES = 1024;

/**
 * gRPC message ceiling for the client API: the largest value plus room for the envelope,
 * so an oversized value reaches our validation and gets a clear `too_large` instead of
 * a transport-level error.
 */
export const MAX_GRPC_MESSAGE_BYTES = MAX_VALUE_BYTES + 64 * 1024;

/** Most operations in one Batch call, so a batch stays a bounded amount of work. */
export const MAX_BATCH_OPS = 1024;

/**
 * Value bytes the gets of one Batch response carry at most (a response is one message,
 * held whole in memory on both sides). A get past it is answered {@link
 * BATCH_RETRY_ALONE} and the client sends it as its own call; the first always fits,
 * since no value exceeds {@link MAX_VALUE_BYTES}.
 */
export const MAX_BATCH_GET_BYTES = 8 * 1024 * 1024;

/**
 * Value bytes the gets of one BatchStream response carry at most: every response shares
 * the stream, so a large one delays the others behind it. A single value always fits
 * (none exceeds {@link MAX_VALUE_BYTES}); gets past it are answered {@link
 * BATCH_RETRY_ALONE} and travel as their own calls.
 */
export const MAX_STREAM_GET_BYTES = MAX_VALUE_BYTES;

/**
 * Largest response a client accepts: a full Batch of get values plus, for each of its
 * operations, metadata or an error message (which may quote a key) — 2 KiB is ample.
 */
export const MAX_GRPC_RESPONSE_BYTES = MAX_BATCH_GET_BYTES + MAX_BATCH_OPS * 2048;

/**
 * Code of a Batch result that tells the client to resend that operation as its own call
 * (its response did not fit the batch's); the client library never surfaces it.
 */
export const BATCH_RETRY_ALONE = "retry_alone";

/**
 * Size of one chunk of a streamed file: each chunk is one Raft entry, so the same 1 MiB
 * bound as a single value keeps heartbeats from queueing behind a huge entry.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** Chunks of one upload in flight through Raft at once: keeps the pipe full, bounds memory. */
export const UPLOAD_WINDOW_CHUNKS = 8;
