/**
 * What an S3 operation handler gets: the parsed request (bucket, key, query), the
 * verified caller's DfsClient, the body already decoded from aws-chunked and verified,
 * and the response. Built by the gateway once SigV4 passed; handlers never see raw
 * signing material.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { DfsClient } from "../client/index.ts";

/** Who sent a request, once its signature was verified. */
export interface S3Caller {
  /** The access key that signed it ("" for an anonymous request). */
  readonly accessKey: string;
  /** The dfs user it acts as when the cluster's auth is on; null when auth is off. */
  readonly user: string | null;
}

/** One S3 request as a handler sees it. */
export interface S3Context {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** `x-amz-request-id` of this request (also in error documents). */
  readonly requestId: string;
  readonly method: string;
  /** The bucket ("" for service-level calls such as ListBuckets). */
  readonly bucket: string;
  /** The object key, decoded ("" for bucket- and service-level calls). */
  readonly key: string;
  readonly query: URLSearchParams;
  /** Lower-case request headers. */
  readonly headers: IncomingHttpHeaders;
  /** A client acting as the caller: the cluster checks its permissions (docs/s3.md). */
  readonly client: DfsClient;
  readonly caller: S3Caller;
  /** The region this gateway answers for (any region in a signature is accepted). */
  readonly region: string;
  /**
   * The payload bytes, once: aws-chunked framing removed, chunk signatures, Content-MD5
   * and `x-amz-checksum-*` (header or trailer) verified as they pass. A mismatch throws
   * an S3Error (`BadDigest`, `SignatureDoesNotMatch`, `XAmzContentSHA256Mismatch`) from
   * the iteration BEFORE it ends, so an upload fed from it is never committed.
   */
  readonly body: AsyncIterable<Buffer>;
  /** The payload length when known in advance (decoded length for aws-chunked). */
  readonly contentLength: number | undefined;
  /** Hex MD5 of the payload, valid once `body` has been read to its end. */
  bodyMd5(): string;
}

/** The dfs key of object `key` in `bucket`: `bucket/key` (docs/s3.md "Mapping"). */
export function dfsKey(bucket: string, key: string): string {
  return key === "" ? bucket : `${bucket}/${key}`;
}
