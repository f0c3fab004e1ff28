/**
 * Protobuf and gRPC helpers shared by the layers that speak them (fsm, transport,
 * server): the only module other layers import from wire/.
 */

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
/** The server wraps every gRPC service it registers (client and peer) in this guard. */
export { type GuardedService, type GuardReport, guardService } from "./guarded-service.ts";
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
