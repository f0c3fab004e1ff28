/**
 * S3 object metadata ↔ the dfs metadata map. What S3 keeps with an object (Content-Type,
 * the standard representation headers, `x-amz-meta-*` user metadata, the ETag) is stored
 * verbatim in the dfs metadata map under these names, so GetObject, HeadObject,
 * CopyObject and multipart Complete all read and write the same thing.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { S3Error } from "./errors.ts";
import type { ObjectInfo } from "./store.ts";

/** Representation headers S3 stores and returns as sent. */
const STORED_HEADERS = [
  "content-type",
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
] as const;

/** Metadata key of the ETag (hex, without quotes; `<hex>-N` for multipart). */
export const ETAG_META = "etag";
/** S3's limit on the user metadata of an object (names and values, bytes). */
export const USER_METADATA_MAX_BYTES = 2048;
/** The Content-Type S3 answers for an object stored without one. */
export const DEFAULT_CONTENT_TYPE = "binary/octet-stream";

/** The metadata map of an object written by this request (ETag not included). */
export function objectMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const meta: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    let value = one(headers[name]);
    if (name === "content-encoding" && value !== undefined)
      value = value
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== "aws-chunked" && v !== "")
        .join(", ");
    if (value !== undefined && value !== "") meta[name] = value;
  }
  let userBytes = 0;
  for (const [name, raw] of Object.entries(headers)) {
    if (!name.startsWith("x-amz-meta-")) continue;
    const value = one(raw) ?? "";
    meta[name] = value;
    userBytes += Buffer.byteLength(name.slice(11)) + Buffer.byteLength(value);
  }
  if (userBytes > USER_METADATA_MAX_BYTES)
    throw new S3Error(
      "MetadataTooLarge",
      `Your metadata headers exceed the maximum allowed metadata size (${userBytes} of ${USER_METADATA_MAX_BYTES} bytes).`,
      400,
    );
  return meta;
}

/** The ETag of a stored object, quoted as S3 sends it. */
export function etagOf(info: ObjectInfo): string {
  return `"${info.metadata[ETAG_META] ?? info.sha256.slice(0, 32)}"`;
}

/** The response headers describing `info` (GetObject, HeadObject). */
export function objectHeaders(info: ObjectInfo): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {
    etag: etagOf(info),
    "last-modified": new Date(info.modTimeMs).toUTCString(),
    "content-type": info.metadata["content-type"] ?? DEFAULT_CONTENT_TYPE,
    "accept-ranges": "bytes",
  };
  for (const [name, value] of Object.entries(info.metadata)) {
    if (name === "content-type") continue;
    if ((STORED_HEADERS as readonly string[]).includes(name) || name.startsWith("x-amz-meta-"))
      out[name] = value;
  }
  return out;
}

function one(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
