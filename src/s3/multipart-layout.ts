/**
 * Where a multipart upload lives while it is open, and the arithmetic S3 clients check.
 * Parts are staged as ordinary dfs files under a reserved top-level prefix that no bucket
 * can take (S3 bucket names start with a letter or digit), so they never show in a bucket:
 *
 *   .dfs-s3-multipart/<bucket>/<uploadId>/upload        JSON: key, metadata, initiated
 *   .dfs-s3-multipart/<bucket>/<uploadId>/p/<00001>     the bytes of part 1
 *   .dfs-s3-multipart/<bucket>/<uploadId>/e/<00001>     JSON: ETag, size, SHA-256 of them
 *
 * The part record is written after its bytes: a part whose record is missing or names
 * other bytes (a concurrent re-upload) is not a part (docs/s3.md#multipart-uploads).
 */
import { createHash, randomBytes } from "node:crypto";

/** The reserved top-level prefix of staged uploads; hidden from every S3 listing. */
export const MULTIPART_PREFIX = ".dfs-s3-multipart";

/** S3's bounds: part numbers 1..10000, parts up to 5 GiB, all but the last at least 5 MiB. */
export const MAX_PART_NUMBER = 10_000;
/** The largest part S3 accepts (5 GiB); streamed, never held in memory. */
export const MAX_PART_BYTES = 5 * 1024 ** 3;
/** Every part but the last must have at least this many bytes (S3's EntityTooSmall). */
export const MIN_PART_BYTES = 5 * 1024 ** 2;

/** The dfs key prefix (no trailing '/') holding everything of one upload. */
export function uploadDir(bucket: string, uploadId: string): string {
  return `${MULTIPART_PREFIX}/${bucket}/${uploadId}`;
}

/** The dfs key prefix under which a bucket's open uploads are. */
export function bucketUploadsDir(bucket: string): string {
  return `${MULTIPART_PREFIX}/${bucket}`;
}

/** The key of an upload's record (what Create wrote). */
export function uploadRecordKey(bucket: string, uploadId: string): string {
  return `${uploadDir(bucket, uploadId)}/upload`;
}

/** The key of a part's bytes. */
export function partDataKey(bucket: string, uploadId: string, part: number): string {
  return `${uploadDir(bucket, uploadId)}/p/${padPart(part)}`;
}

/** The key of a part's record (ETag, size, SHA-256), written after its bytes. */
export function partRecordKey(bucket: string, uploadId: string, part: number): string {
  return `${uploadDir(bucket, uploadId)}/e/${padPart(part)}`;
}

/** Five digits, so that listing order is part order. */
function padPart(part: number): string {
  return String(part).padStart(5, "0");
}

/** A new upload id: 128 random bits, URL- and key-safe. */
export function newUploadId(): string {
  return randomBytes(16).toString("hex");
}

/** Whether `id` could be an upload id we issued (anything else is NoSuchUpload). */
export function isUploadId(id: string): boolean {
  return /^[0-9a-f]{32}$/.test(id);
}

/** The part number of `text`, or null when it is not an integer in 1..10000. */
export function parsePartNumber(text: string | null | undefined): number | null {
  if (text === null || text === undefined || !/^[0-9]{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n >= 1 && n <= MAX_PART_NUMBER ? n : null;
}

/** An ETag as S3 sends it: the hex digest in double quotes. */
export function quoteEtag(hex: string): string {
  return `"${hex}"`;
}

/**
 * The digest inside an ETag as a client sends it back: quotes optional, any case, and
 * the quotes possibly still as character references (Go's encoding/xml, hence rclone,
 * writes `"` as `&#34;`, which the XML parser leaves as is).
 */
export function unquoteEtag(etag: string): string {
  return etag
    .trim()
    .replace(/^(?:"|&#34;|&quot;)|(?:"|&#34;|&quot;)$/g, "")
    .toLowerCase();
}

/**
 * The ETag of a completed multipart object: MD5 over the binary MD5s of its parts, then
 * `-N` with N parts. Clients (aws s3, rclone) recompute it to check a download.
 */
export function multipartEtag(partMd5sHex: readonly string[]): string {
  const md5 = createHash("md5");
  for (const hex of partMd5sHex) md5.update(Buffer.from(hex, "hex"));
  return `${md5.digest("hex")}-${partMd5sHex.length}`;
}
