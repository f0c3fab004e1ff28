/**
 * Public surface of the dfs client library: import from here, not from the files behind
 * it, so those can be reorganised without breaking callers.
 */
export { DfsError, type DfsErrorCode } from "../api/index.ts";
export type { StatusResponse } from "../gen/dfs.ts";
export type { ClientTls } from "./channel-pool.ts";
/**
 * Low-level pieces for readers pinned to one node (verify's workload): they bypass
 * DfsClient's leader finding and retries on purpose, to catch a stale old leader.
 */
export { ChannelPool } from "./channel-pool.ts";
export {
  type DeleteResult,
  DfsClient,
  type DfsClientOptions,
  type GetOptions,
  type GetResult,
  type ListEntry,
  type ListOptions,
  type PutOptions,
  type PutResult,
  type StatResult,
  type UploadOptions,
  type UploadResult,
} from "./dfs-client.ts";
export { type HostPort, type HostPortResult, parseHostPort } from "./endpoints.ts";
export type { UploadSource } from "./file-sources.ts";
export type { FileInfo, OpenDownload } from "./file-transfer.ts";
/** Maps any failure of a call to the typed DfsError callers branch on. */
export { toDfsError } from "./grpc-errors.ts";
export { DEFAULT_TIMEOUT_MS } from "./retry.ts";
/** One unary call with a deadline on a stub from {@link ChannelPool}. */
export { callUnary } from "./unary-call.ts";
