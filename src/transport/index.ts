/** Public surface of the peer transport: the only module other layers import from transport/. */
/** Raft messages to and from their protobuf form (tests and tools build peer traffic with it). */
export { fromWire, toWire } from "./codec.ts";
/** What the server gives the transport to send chunks kept in its blob store in full. */
export { type EntryRehydrator, RehydrationError } from "./entry-rehydrator.ts";
/** The edge check of every peer message before step(): senders, terms, indexes, kinds. */
export {
  type BatchVerdict,
  checkBatch,
  checkChunk,
  type PeerIdentity,
  type Refusal,
} from "./message-checks.ts";
/** Who sent a peer call (mutual TLS); the server wires it into the peer service. */
export {
  type AuthenticatedCall,
  PeerAuthenticator,
  type PeerAuthorizer,
} from "./peer-auth.ts";
/** Counting and rate-limited logging of refused peer messages; the server owns one. */
export {
  DROP_LOG_INTERVAL_MS,
  type DropLog,
  type PeerDropReason,
  PeerDrops,
} from "./peer-drops.ts";
/** Largest peer message; the server sizes its peer listener's limits to it. */
export { PEER_MESSAGE_BYTES } from "./peer-link.ts";
/** The peer transport the server sends through, and the peer service it registers. */
export {
  type PeerServiceOptions,
  PeerTransport,
  type PeerTransportOptions,
  peerService,
} from "./peer-transport.ts";
/** Admission of incoming snapshots, so one slow install cannot starve the node. */
export {
  leaderAdmission,
  type SnapshotAdmission,
  SnapshotGate,
  type SnapshotTicket,
} from "./snapshot-gate.ts";
/** Streams a snapshot to a follower apart from heartbeats; the server starts it. */
export {
  type OutgoingSnapshot,
  SnapshotSender,
  type SnapshotSenderOptions,
} from "./snapshot-sender.ts";
/** What the server does with a snapshot that arrives (disk check, then install). */
export {
  type IncomingSnapshot,
  SNAPSHOT_SPACE_CHECK_BYTES,
  type SnapshotInbox,
} from "./snapshot-service.ts";
