/**
 * Protobuf and gRPC helpers shared by the layers that speak them (fsm, transport,
 * server): the only module other layers import from wire/.
 */

/** The file-transfer codecs themselves (tests compare them with the generated ones). */
export {
  decodeDownloadResponse,
  decodeUploadRequest,
  encodeDownloadData,
  encodeDownloadResponse,
  encodeUploadRequest,
  soleBytesField,
} from "./bulk-codecs.ts";
/**
 * Finding an upload_chunk command's parts in a payload without copying its data: the
 * write path cuts chunks out for the blob store, the transport refuses stored forms.
 */
export {
  type ChunkFrame,
  type ChunkScan,
  isStoredChunkPayload,
  type StoredChunkInfo,
  scanChunkPayload,
} from "./chunk-frame.ts";
/**
 * The Dfs service with copy-saving codecs for file transfers: servers register it,
 * clients call through its stub.
 */
export { DFS_SERVICE, DfsStub } from "./dfs-service.ts";
/**
 * Messages framed in place: the peer link's batches become the very buffer HTTP/2
 * writes, so the link can release it once written (issue 22, memory by design).
 */
export {
  allocBodyWithRoom,
  EncodedMessage,
  frameOf,
  GRPC_HEADER_BYTES,
  installInPlaceFraming,
  installInPlaceServerFraming,
  serializeEncoded,
} from "./framed-message.ts";
/** The server wraps every gRPC service it registers (client and peer) in this guard. */
export {
  type GuardedService,
  type GuardReport,
  guardService,
  malformedReason,
} from "./guarded-service.ts";
/**
 * Exact-size protobuf writing for the messages that carry values: the state machine's
 * payload commands and the transport's peer batches encode bulk bytes once.
 */
export {
  bytesFieldSize,
  lengthDelimitedSize,
  ProtoWriter,
  presentUintFieldSize,
  uintFieldSize,
  utf8Length,
  varintSize,
} from "./proto-writer.ts";
/** Releasing a large buffer's memory once its last reader is done with it. */
export { MIN_RELEASE_BYTES, releaseBuffer } from "./release.ts";
