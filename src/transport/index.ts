/** Public surface of the peer transport. */
export { fromWire, toWire } from "./codec.ts";
export {
  type BatchVerdict,
  checkBatch,
  checkChunk,
  type PeerIdentity,
  type Refusal,
} from "./message-checks.ts";
export {
  type AuthenticatedCall,
  PeerAuthenticator,
  type PeerAuthorizer,
} from "./peer-auth.ts";
export {
  DROP_LOG_INTERVAL_MS,
  type DropLog,
  type PeerDropReason,
  PeerDrops,
} from "./peer-drops.ts";
export { PEER_MESSAGE_BYTES } from "./peer-link.ts";
export {
  type PeerServiceOptions,
  PeerTransport,
  type PeerTransportOptions,
  peerService,
} from "./peer-transport.ts";
export {
  leaderAdmission,
  type SnapshotAdmission,
  SnapshotGate,
  type SnapshotTicket,
} from "./snapshot-gate.ts";
export {
  type OutgoingSnapshot,
  SnapshotSender,
  type SnapshotSenderOptions,
} from "./snapshot-sender.ts";
export {
  type IncomingSnapshot,
  SNAPSHOT_SPACE_CHECK_BYTES,
  type SnapshotInbox,
} from "./snapshot-service.ts";
