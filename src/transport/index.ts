/** Public surface of the peer transport. */
export { fromWire, toWire } from "./codec.ts";
export {
  type AuthenticatedCall,
  PeerAuthenticator,
  type PeerAuthorizer,
} from "./peer-auth.ts";
export { PEER_MESSAGE_BYTES } from "./peer-link.ts";
export { PeerTransport, type PeerTransportOptions, peerService } from "./peer-transport.ts";
export {
  type OutgoingSnapshot,
  SnapshotSender,
  type SnapshotSenderOptions,
} from "./snapshot-sender.ts";
export type { IncomingSnapshot, SnapshotInbox } from "./snapshot-service.ts";
