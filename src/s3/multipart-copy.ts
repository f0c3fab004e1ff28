/**
 * UploadPartCopy's source: `x-amz-copy-source` (`/bucket/key` or `bucket/key`, URL-encoded,
 * maybe `?versionId=`) and `x-amz-copy-source-range: bytes=A-B` (inclusive), read from the
 * cluster as a stream: a part copied from a 5 GiB object is never held in memory.
 */
import { DfsError } from "../client/index.ts";
import type { S3Context } from "./context.ts";
import { S3Error, s3Errors } from "./errors.ts";
import { objectKey, parseCopySource } from "./objects.ts";

/** A byte range of the source, inclusive at both ends as in HTTP. */
export interface CopyRange {
  readonly first: number;
  readonly last: number;
}

/** The range of `x-amz-copy-source-range` (`bytes=A-B`), or null when absent. */
export function parseCopyRange(header: string | undefined): CopyRange | null {
  if (header === undefined) return null;
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (m === null || Number(m[1]) > Number(m[2]))
    throw s3Errors.invalidArgument("x-amz-copy-source-range must be bytes=first-last");
  return { first: Number(m[1]), last: Number(m[2]) };
}

/**
 * The bytes to copy, streamed: only the range's chunks are read from the cluster, and
 * from the version a stat saw (a concurrent overwrite fails the copy instead of mixing).
 * NoSuchKey for a missing source, InvalidArgument for a range past its end.
 */
export async function copySource(ctx: S3Context): Promise<AsyncIterable<Uint8Array>> {
  const { bucket, key } = parseCopySource(String(ctx.headers["x-amz-copy-source"] ?? ""));
  const range = parseCopyRange(ctx.headers["x-amz-copy-source-range"] as string | undefined);
  const source = objectKey(bucket, key);
  try {
    const info = await ctx.client.stat(source);
    if (range !== null && range.last >= info.size)
      throw s3Errors.invalidArgument(
        `Range specified is not valid for source object of size: ${info.size}`,
      );
    const window =
      range === null ? {} : { offset: range.first, length: range.last - range.first + 1 };
    const { chunks } = await ctx.client.download(source, { ...window, ifVersion: info.version });
    return chunks;
  } catch (error) {
    if (error instanceof DfsError && error.code === "not_found")
      throw new S3Error("NoSuchKey", "The specified copy source does not exist.", 404, {
        Key: key,
      });
    throw error;
  }
}
