/**
 * Translation of gRPC failures into {@link DfsError}s, and the decision of what the retry
 * loop does with each. Callers of the client never see a gRPC status: the server's
 * `dfs-error` trailer says what happened; the status code is only a fallback for
 * failures that never reached a dfs server (refused connections, timeouts, proxies).
 */
import { type Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  DfsError,
  type DfsErrorCode,
  ERROR_CODE_METADATA,
  isMemberChangeReason,
  LEADER_METADATA,
  MemberChangeError,
  REASON_METADATA,
} from "../api/index.ts";

/**
 * What the retry loop should do after a failed attempt:
 * - `redirect`: the node named the leader; go there.
 * - `next`: this node cannot serve now (down, not leader, no quorum, too slow); try another.
 * - `fail`: a definite answer (not found, bad request, ...); retrying cannot change it.
 */
export type RetryAction = "redirect" | "next" | "fail";

/** A failed attempt, typed for the caller and classified for the retry loop. */
export interface AttemptFailure {
  readonly error: DfsError;
  readonly action: RetryAction;
}

const DFS_ERROR_CODES: ReadonlySet<string> = new Set<DfsErrorCode>([
  "not_found",
  "not_leader",
  "unavailable",
  "invalid_argument",
  "too_large",
  "precondition_failed",
  "resource_exhausted",
  "unauthenticated",
  "permission_denied",
  "internal",
]);

/**
 * The inverse of the server's code → status mapping, for errors without a `dfs-error`
 * trailer. Three statuses mean "this node, right now" rather than "this request", so they
 * become `unavailable` and send the loop to another node: the node is down or restarting
 * (UNAVAILABLE), it did not answer within the attempt deadline (DEADLINE_EXCEEDED), or it
 * dropped the call while shutting down (CANCELLED; the client itself only cancels on
 * close, which the loop checks separately).
 */
const CODE_BY_STATUS: ReadonlyMap<number, DfsErrorCode> = new Map<number, DfsErrorCode>([
  [status.NOT_FOUND, "not_found"],
  [status.FAILED_PRECONDITION, "precondition_failed"],
  [status.UNAVAILABLE, "unavailable"],
  [status.DEADLINE_EXCEEDED, "unavailable"],
  [status.CANCELLED, "unavailable"],
  [status.INVALID_ARGUMENT, "invalid_argument"],
  [status.RESOURCE_EXHAUSTED, "too_large"],
  [status.UNAUTHENTICATED, "unauthenticated"],
  [status.PERMISSION_DENIED, "permission_denied"],
]);

/**
 * How grpc-js words a message over its size limit, on either side ("Received message
 * larger than max", "Sent message larger than max", "... decompresses to a size larger
 * than ..."): that RESOURCE_EXHAUSTED is about this request (`too_large`, never retry);
 * any other one without a `dfs-error` trailer is a server's resource bound.
 */
const MESSAGE_TOO_LARGE = /larger than/i;

/** Narrows an unknown rejection to grpc-js's ServiceError (it carries a numeric `code`). */
export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === "number";
}

/** Maps any failure of one call to a {@link DfsError}; non-gRPC errors become `internal`. */
export function toDfsError(err: unknown): DfsError {
  if (err instanceof DfsError) return err;
  if (!isServiceError(err)) {
    return new DfsError("internal", err instanceof Error ? err.message : String(err));
  }
  const code = trailerCode(err.metadata) ?? fallbackCode(err);
  const hint = code === "not_leader" ? firstValue(err.metadata, LEADER_METADATA) : undefined;
  const message = trailerCode(err.metadata) ? err.details : transportMessage(err);
  const reason = firstValue(err.metadata, REASON_METADATA);
  if (code === "precondition_failed" && isMemberChangeReason(reason)) {
    return new MemberChangeError(reason, oneLine(message || err.message));
  }
  return new DfsError(code, oneLine(message || err.message), hint);
}

/** Maps a failure and decides what the retry loop does next. */
export function classifyFailure(err: unknown): AttemptFailure {
  const error = toDfsError(err);
  return { error, action: retryAction(error) };
}

function retryAction(error: DfsError): RetryAction {
  if (error.code === "not_leader") return error.leaderHint ? "redirect" : "next";
  return error.code === "unavailable" ? "next" : "fail";
}

function trailerCode(metadata: Metadata | undefined): DfsErrorCode | undefined {
  const value = firstValue(metadata, ERROR_CODE_METADATA);
  return value !== undefined && DFS_ERROR_CODES.has(value) ? (value as DfsErrorCode) : undefined;
}

function fallbackCode(err: ServiceError): DfsErrorCode {
  // A FAILED_PRECONDITION naming a leader is a redirect even if the code trailer got lost.
  if (err.code === status.FAILED_PRECONDITION && firstValue(err.metadata, LEADER_METADATA)) {
    return "not_leader";
  }
  if (err.code === status.RESOURCE_EXHAUSTED && !MESSAGE_TOO_LARGE.test(err.details)) {
    return "resource_exhausted";
  }
  return CODE_BY_STATUS.get(err.code) ?? "internal";
}

function firstValue(metadata: Metadata | undefined, key: string): string | undefined {
  const value = metadata?.get(key)[0];
  if (value === undefined) return undefined;
  const text = typeof value === "string" ? value : value.toString("utf8");
  return text === "" ? undefined : text;
}

/** What an attempt that got no answer before its deadline reports. */
export const NO_ANSWER = "no answer before the deadline";

/**
 * grpc-js describes transport failures for its own developers ("No connection
 * established. Last error: Error: connect ECONNREFUSED ... Resolution note: ..."); keep
 * the part a user can act on.
 */
function transportMessage(err: ServiceError): string {
  if (err.code === status.DEADLINE_EXCEEDED) return NO_ANSWER;
  const lastError = /Last error: (?:Error: )?(.*?)(?:\.? Resolution note:.*)?$/s.exec(err.details);
  return lastError?.[1] ?? err.details;
}

/** Server and transport messages may span lines; users get one. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
