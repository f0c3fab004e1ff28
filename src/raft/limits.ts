/**
 * The largest term and index the cluster ever uses. Terms and indexes travel as protobuf
 * uint64 (decoded into JS numbers, exact below 2^53) and are stored in the WAL as u64s
 * that round-trip below 2^53. 2^52 leaves headroom: `term + 1` (a pre-vote or an
 * election) and `index + n` (a batch of proposals) stay exactly representable and
 * decodable by every peer. Transports drop messages above these; the core never
 * produces a term or index above them.
 */

/** Highest term a message may carry and a node may adopt (2^52). */
export const MAX_TERM = 2 ** 52;

/** Highest log index (and commit, hint or snapshot index) a message may carry (2^52). */
export const MAX_INDEX = 2 ** 52;
