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

/**
 * Size of one chunk of a streamed file: each chunk is one Raft entry, so the same 1 MiB
 * bound as a single value keeps heartbeats from queueing behind a huge entry.
 */
export const FILE_CHUNK_BYTES = 1024 * 1024;

/** Chunks of one upload in flight through Raft at once: keeps the pipe full, bounds memory. */
export const UPLOAD_WINDOW_CHUNKS = 8;
