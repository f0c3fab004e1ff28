/**
 * The largest term and index the cluster ever uses, and how far one message may move a
 * node's term. Terms and indexes travel as protobuf uint64 (decoded into JS numbers, exact
 * below 2^53) and are stored in the WAL as u64s that round-trip below 2^53. 2^52 leaves
 * headroom: `term + 1` (a pre-vote or an election) and `index + n` (a batch of proposals)
 * stay exactly representable and decodable by every peer. Transports drop messages above
 * these; the core never produces a term or index above them.
 *
 * A term ceiling alone is a trap: a node at MAX_TERM can never campaign again, and
 * without peer authentication one forged heartbeat at MAX_TERM (or MAX_TERM - 1, then one
 * election) would put every node there for good, since the term is durable. A lower
 * ceiling on what messages may carry does not help: every term an honest node reaches must
 * be one its peers accept, so the first election after adopting that ceiling would
 * produce a term nobody accepts, and the cluster is stuck again.
 *
 * So the jump one message may cause is bounded instead: a node adopts a message's term
 * only if it is at most MAX_TERM_STEP above its own. A message further ahead is dropped,
 * but the node still moves its term up by MAX_TERM_STEP, as if it had heard a term that
 * far ahead (raising a term is always safe in Raft, and a node that fell far behind its
 * peers must still be able to catch up with them, a step per message). Honest peers never
 * lead by 2^20 terms (a million elections without hearing from this node), so for them
 * this is plain Raft. A forged message moves a node at most 2^20 terms; putting the cluster
 * at MAX_TERM takes 2^32 forged messages, each adopted before the next counts, not one.
 *
 * Indexes need no such rule: a message cannot move a node's log index without the node
 * holding entries up to it (an append must match the node's log at prevIndex; a snapshot
 * comes with its image), and a heartbeat's commit past the node's log is ignored
 * (raft.ts, handleHeartbeat). Planting entries is forging data, which only peer
 * authentication (mutual TLS) prevents.
 */

/** Highest term a message may carry and a node may reach (2^52); no campaign goes past it. */
export const MAX_TERM = 2 ** 52;

/**
 * How far above a node's own term a message's term may be for the node to adopt it (2^20).
 * From further ahead the node only moves up this far (see the module doc).
 */
export const MAX_TERM_STEP = 2 ** 20;

/**
 * Whether a node in term `current` may move to `term` because a message carries it
 * (terms at or below `current` never move it).
 */
export function isAdoptableTerm(term: number, current: number): boolean {
  return term <= MAX_TERM && term - current <= MAX_TERM_STEP;
}

/** The term a node in `current` moves to on hearing a term too far ahead to adopt. */
export function stepTowards(current: number): number {
  return Math.min(current + MAX_TERM_STEP, MAX_TERM);
}

/** Highest log index (and commit, hint or snapshot index) a message may carry (2^52). */
export const MAX_INDEX = 2 ** 52;
