/**
 * The documents of ListParts and ListMultipartUploads, with S3's paging (max-parts /
 * part-number-marker; max-uploads / key-marker / upload-id-marker), prefix, delimiter
 * and `encoding-type=url`.
 */
import type { S3Context } from "./context.ts";
import { s3Errors } from "./errors.ts";
import { quoteEtag } from "./multipart-layout.ts";
import type { OpenUpload, PartRecord } from "./multipart-store.ts";
import type { XmlNode } from "./xml.ts";

/** Page size when the client gives none, and the largest it may ask for (S3's). */
const MAX_PAGE = 1000;

/** The ListPartsResult of `parts` (all of the upload's, in order) for this request. */
export function listPartsResult(
  ctx: S3Context,
  uploadId: string,
  parts: readonly PartRecord[],
): XmlNode {
  const max = pageSize(ctx, "max-parts");
  const marker = Number(ctx.query.get("part-number-marker") ?? "0") || 0;
  const after = parts.filter((p) => p.part > marker);
  const page = after.slice(0, max);
  const truncated = after.length > page.length;
  return {
    Bucket: ctx.bucket,
    Key: ctx.key,
    UploadId: uploadId,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.part ?? marker,
    MaxParts: max,
    IsTruncated: truncated,
    StorageClass: "STANDARD",
    Part: page.map((p) => ({
      PartNumber: p.part,
      LastModified: new Date(p.modTimeMs).toISOString(),
      ETag: quoteEtag(p.md5),
      Size: p.size,
    })),
  };
}

/** The ListMultipartUploadsResult of `uploads` (all open ones, sorted) for this request. */
export function listUploadsResult(ctx: S3Context, uploads: readonly OpenUpload[]): XmlNode {
  const q = ctx.query;
  const max = pageSize(ctx, "max-uploads");
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const keyMarker = q.get("key-marker") ?? "";
  const idMarker = q.get("upload-id-marker") ?? "";
  const url = q.get("encoding-type") === "url";
  const enc = (s: string) => (url ? encodeURIComponent(s).replace(/%2F/g, "/") : s);
  const items: XmlNode[] = [];
  const prefixes = new Set<string>();
  let last: OpenUpload | undefined;
  let truncated = false;
  for (const u of uploads.slice(firstAfter(uploads, keyMarker, idMarker))) {
    if (!u.key.startsWith(prefix)) continue;
    if (items.length + prefixes.size >= max) {
      truncated = true;
      break;
    }
    const cut = delimiter === "" ? -1 : u.key.indexOf(delimiter, prefix.length);
    if (cut >= 0) prefixes.add(u.key.slice(0, cut + delimiter.length));
    else
      items.push({
        Key: enc(u.key),
        UploadId: u.uploadId,
        Initiated: new Date(u.initiatedMs).toISOString(),
        StorageClass: "STANDARD",
      });
    last = u;
  }
  return {
    Bucket: ctx.bucket,
    KeyMarker: enc(keyMarker),
    UploadIdMarker: idMarker,
    NextKeyMarker: truncated && last ? enc(last.key) : "",
    NextUploadIdMarker: truncated && last ? last.uploadId : "",
    ...(url ? { EncodingType: "url" } : {}),
    Prefix: enc(prefix),
    ...(delimiter === "" ? {} : { Delimiter: enc(delimiter) }),
    MaxUploads: max,
    IsTruncated: truncated,
    Upload: items,
    CommonPrefixes: [...prefixes].map((p) => ({ Prefix: enc(p) })),
  };
}

/**
 * Where a page starts in the sorted list: after the upload (key-marker, upload-id-marker)
 * when both are given, else after every upload of keys up to key-marker.
 */
function firstAfter(uploads: readonly OpenUpload[], keyMarker: string, idMarker: string): number {
  if (keyMarker === "") return 0;
  const at = uploads.findIndex((u) => u.key === keyMarker && u.uploadId === idMarker);
  if (idMarker !== "" && at >= 0) return at + 1;
  const next = uploads.findIndex((u) => u.key > keyMarker);
  return next < 0 ? uploads.length : next;
}

function pageSize(ctx: S3Context, name: string): number {
  const text = ctx.query.get(name);
  if (text === null) return MAX_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0)
    throw s3Errors.invalidArgument(`${name} must be a non-negative integer`);
  return Math.min(n, MAX_PAGE);
}
