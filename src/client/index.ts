/**
 * Public surface of the dfs client library: import from here, not from the files behind
 * it, so those can be reorganised without breaking callers.
 */
export { DfsError, type DfsErrorCode } from "../api/index.ts";
export type { StatusResponse } from "../gen/dfs.ts";
export type { ClientTls } from "./channel-pool.ts";
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
  type UploadSource,
} from "./dfs-client.ts";
export { type HostPort, type HostPortResult, parseHostPort } from "./endpoints.ts";
export type { FileInfo, OpenDownload } from "./file-transfer.ts";
export { DEFAULT_TIMEOUT_MS } from "./retry.ts";
