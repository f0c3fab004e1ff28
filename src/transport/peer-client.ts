/**
 * The gRPC client of the RaftPeer service with our exact-size batch serializer in place
 * of the generated one (see batch-encoder.ts); paths, deserializers and the snapshot
 * stream are the generated ones.
 */
import { makeGenericClientConstructor } from "@grpc/grpc-js";
import { type RaftPeerClient, RaftPeerService } from "../gen/raft.ts";
import { encodeMessageBatch, serializeBatch } from "./batch-encoder.ts";

/**
 * RaftPeerService whose batch-carrying calls serialize through {@link encodeMessageBatch};
 * the stream also takes batches the link encoded itself ({@link serializeBatch}).
 */
const PEER_SERVICE = {
  ...RaftPeerService,
  deliver: { ...RaftPeerService.deliver, requestSerialize: encodeMessageBatch },
  stream: { ...RaftPeerService.stream, requestSerialize: serializeBatch },
};

/** Drop-in for the generated RaftPeerClient, used for every outgoing peer connection. */
export const PeerClient = makeGenericClientConstructor(
  PEER_SERVICE,
  "dfs.raft.v1.RaftPeer",
) as unknown as typeof RaftPeerClient;
