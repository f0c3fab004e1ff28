/** Public surface of the peer transport. */
export { fromWire, toWire } from "./codec.ts";
export { PeerTransport, type PeerTransportOptions, peerService } from "./peer-transport.ts";
