/**
 * Public surface of the dfs client library: import from here, not from the files behind
 * it, so those can be reorganised without breaking callers.
 */
/** The typed error every call rejects with, so users of the library need no api/ import. */
export {
  type ByteSpan,
  DfsError,
  type DfsErrorCode,
  MemberChangeError,
  type MemberChangeReason,
  type Metadata,
} from "../api/index.ts";
/** What `status()` returns: the node's view of the cluster, as the server sends it. */
export type { StatusResponse } from "../gen/dfs.ts";
/** Changes and reads of users and roles (`authChange`, `authRead`), docs/auth.md. */
export type {
  AuthChange,
  AuthInfo,
  KeyPermission,
  PermissionRange,
  S3AccessKey,
  S3Credentials,
  S3CredentialsQuery,
} from "./auth-admin.ts";
/** The metadata key a call's token travels in, for tools making raw gRPC calls. */
export { AUTHORIZATION_METADATA } from "./auth-interceptor.ts";
/** What `authenticate()` returns: a token and when it expires. */
export type { IssuedToken } from "./auth-token.ts";
/** TLS material for the client port (CA, and a client certificate when required). */
export type { ClientTls } from "./channel-pool.ts";
/**
 * Low-level pieces for readers pinned to one node (verify's workload): they bypass
 * DfsClient's leader finding and retries on purpose, to catch a stale old leader.
 */
export { ChannelPool } from "./channel-pool.ts";
/** The client itself, its options and the results of its calls. */
export {
  type DeleteResult,
  DfsClient,
  type DfsClientOptions,
  type DownloadOptions,
  type GetOptions,
  type GetResult,
  type ListEntry,
  type ListOptions,
  type MemberStatus,
  memberStatuses,
  type NewMember,
  type PutOptions,
  type PutResult,
  type RangeOptions,
  type StatResult,
  type UploadOptions,
  type UploadResult,
} from "./dfs-client.ts";
/** `host:port` parsing, shared with the CLI's endpoint and peer flags (IPv6 included). */
export { type HostPort, type HostPortResult, parseHostPort } from "./endpoints.ts";
/** What `upload()` accepts: bytes, a re-openable function, or a one-shot stream. */
export type { UploadSource } from "./file-sources.ts";
/** What a download reports before its bytes arrive (size, checksum) and its handle. */
export type { FileInfo, OpenDownload } from "./file-transfer.ts";
/** Maps any failure of a call to the typed DfsError callers branch on. */
export { toDfsError } from "./grpc-errors.ts";
/** Default deadline of a call, retries included; the CLI shows it in `--timeout` help. */
export { DEFAULT_TIMEOUT_MS } from "./retry.ts";
/** One unary call with a deadline on a stub from {@link ChannelPool}. */
export { callUnary } from "./unary-call.ts";
