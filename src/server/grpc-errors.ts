/**
 * Maps typed DfsErrors onto gRPC statuses plus the `dfs-error` / `dfs-leader` trailing
 * metadata the client library reads (see src/api/errors.ts).
 */
import * as grpc from "@grpc/grpc-js";
import {
  DfsError,
  type DfsErrorCode,
  ERROR_CODE_METADATA,
  LEADER_METADATA,
  MemberChangeError,
  REASON_METADATA,
} from "../api/index.ts";

const STATUS: Record<DfsErrorCode, grpc.status> = {
  not_found: grpc.status.NOT_FOUND,
  not_leader: grpc.status.FAILED_PRECONDITION,
  unavailable: grpc.status.UNAVAILABLE,
  invalid_argument: grpc.status.INVALID_ARGUMENT,
  too_large: grpc.status.RESOURCE_EXHAUSTED,
  precondition_failed: grpc.status.FAILED_PRECONDITION,
  resource_exhausted: grpc.status.RESOURCE_EXHAUSTED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  permission_denied: grpc.status.PERMISSION_DENIED,
  internal: grpc.status.INTERNAL,
};

/** Converts any thrown value into a gRPC error for the client; unknown errors become `internal`. */
export function toServiceError(error: unknown): Partial<grpc.StatusObject> {
  const dfs = error instanceof DfsError ? error : new DfsError("internal", String(error));
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, dfs.code);
  if (dfs.leaderHint) metadata.set(LEADER_METADATA, dfs.leaderHint);
  if (dfs instanceof MemberChangeError) metadata.set(REASON_METADATA, dfs.reason);
  return { code: STATUS[dfs.code], details: dfs.message, metadata };
}

/**
 * The gRPC status of a DfsError code (`code` as the wire carries it; an unknown one is
 * UNKNOWN), for the client API metrics of requests answered inside a stream.
 */
export function grpcStatusOf(code: string): grpc.status {
  return (STATUS as Record<string, grpc.status | undefined>)[code] ?? grpc.status.UNKNOWN;
}
