/**
 * What every layer shares: error kinds, key and size rules, limits, peer identities, the
 * Node flags of a server process. The only module other layers import from api/; it
 * imports nothing else of ours.
 */

/** Byte ranges and the chunks holding them, so ranged reads agree on every edge. */
export {
  type ByteSpan,
  type ChunkSpan,
  chunksOf,
  resolveSpan,
  sliceOfChunk,
} from "./byte-range.ts";
/** Request checks, so client and server refuse a bad key or value with one message. */
export { checkKey, checkValueSize } from "./checks.ts";
/** The typed client-API errors and their wire metadata, one vocabulary for both sides. */
export {
  DfsError,
  type DfsErrorCode,
  ERROR_CODE_METADATA,
  isMemberChangeReason,
  LEADER_METADATA,
  MEMBER_CHANGE_REASONS,
  MemberChangeError,
  type MemberChangeReason,
  REASON_METADATA,
} from "./errors.ts";
/** Headers of write forwarding: a relayed request, and a client asking not to be relayed. */
export { FORWARDED_METADATA, NO_FORWARD_METADATA } from "./forwarding.ts";
/** Size and count bounds of the client API, shared so both sides and the docs agree. */
export {
  BATCH_RETRY_ALONE,
  FILE_CHUNK_BYTES,
  MAX_BATCH_GET_BYTES,
  MAX_BATCH_OPS,
  MAX_GRPC_MESSAGE_BYTES,
  MAX_GRPC_RESPONSE_BYTES,
  MAX_KEY_BYTES,
  MAX_STREAM_GET_BYTES,
  MAX_VALUE_BYTES,
  UPLOAD_WINDOW_CHUNKS,
} from "./limits.ts";
/** Metadata kept with values and files: its bounds and the check both sides apply. */
export {
  checkMetadata,
  MAX_METADATA_BYTES,
  MAX_METADATA_ENTRIES,
  type Metadata,
  metadataProblem,
  sortedMetadata,
} from "./metadata.ts";
/** Node flags every server process runs with: the server checks them, launchers pass them. */
export { hasServerNodeFlags, SERVER_NODE_FLAGS } from "./node-flags.ts";
/** The node-certificate naming rule, shared by `dfs certs` and the peer listener. */
export { memberIdOfCommonName, NODE_CN_PREFIX, nodeCommonName } from "./peer-identity.ts";
/** Default peer port = client port + this offset; the CLI, the server and launchers agree. */
export { PEER_PORT_OFFSET } from "./peer-ports.ts";
/** Startup failures raised by storage, the state machine and the server; the CLI maps them. */
export { StartupError, type StartupErrorKind } from "./startup-error.ts";
/** The running dfs version (package.json): `dfs --version` and every node's status report it. */
export { dfsVersion } from "./version.ts";
