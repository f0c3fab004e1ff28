/**
 * S3's errors: a code, a message and an HTTP status, sent as S3's XML error document.
 * Handlers throw {@link S3Error}; the router turns it (or a DfsError, mapped here) into
 * the response, so no handler writes an error body itself.
 */
import { DfsError } from "../api/index.ts";

/** An S3 error as clients branch on it (`Code` in the XML, and the HTTP status). */
export class S3Error extends Error {
  constructor(
    /** S3's error code, e.g. `NoSuchKey`, `SignatureDoesNotMatch`. */
    readonly code: string,
    message: string,
    /** HTTP status of the response. */
    readonly status: number,
    /** Extra elements of the error document (e.g. `{ BucketName: "b" }`). */
    readonly extra: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "S3Error";
  }
}

/** The common S3 errors, so handlers use one spelling of each code and status. */
export const s3Errors = {
  noSuchBucket: (bucket: string) =>
    new S3Error("NoSuchBucket", "The specified bucket does not exist", 404, {
      BucketName: bucket,
    }),
  noSuchKey: (key: string) =>
    new S3Error("NoSuchKey", "The specified key does not exist.", 404, { Key: key }),
  invalidArgument: (message: string) => new S3Error("InvalidArgument", message, 400),
  invalidRequest: (message: string) => new S3Error("InvalidRequest", message, 400),
  malformedXml: (message = "The XML you provided was not well-formed") =>
    new S3Error("MalformedXML", message, 400),
  badDigest: (message: string) => new S3Error("BadDigest", message, 400),
  accessDenied: (message = "Access Denied") => new S3Error("AccessDenied", message, 403),
  notImplemented: (what: string) =>
    new S3Error("NotImplemented", `${what} is not implemented by the dfs gateway`, 501),
  internal: (message: string) =>
    new S3Error("InternalError", `We encountered an internal error: ${message}`, 500),
  preconditionFailed: () =>
    new S3Error(
      "PreconditionFailed",
      "At least one of the pre-conditions you specified did not hold",
      412,
    ),
} as const;

/** The S3 error for anything a handler threw: S3Errors as they are, DfsErrors mapped. */
export function toS3Error(error: unknown, key = ""): S3Error {
  if (error instanceof S3Error) return error;
  if (error instanceof DfsError) {
    switch (error.code) {
      case "not_found":
        return s3Errors.noSuchKey(key);
      case "invalid_argument":
        return s3Errors.invalidArgument(error.message);
      case "too_large":
        return new S3Error("EntityTooLarge", error.message, 400);
      case "precondition_failed":
        return s3Errors.preconditionFailed();
      case "permission_denied":
        return s3Errors.accessDenied(error.message);
      case "unauthenticated":
        return new S3Error("InvalidAccessKeyId", error.message, 403);
      case "resource_exhausted":
        return new S3Error("SlowDown", error.message, 503);
      case "unavailable":
      case "not_leader":
        return new S3Error("ServiceUnavailable", error.message, 503);
      default:
        return s3Errors.internal(error.message);
    }
  }
  return s3Errors.internal(error instanceof Error ? error.message : String(error));
}
