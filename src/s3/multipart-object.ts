/**
 * What Create needs from the rest of the gateway: that the bucket exists, and the
 * object's metadata as it will be stored (Content-Type, x-amz-meta-*, the standard
 * headers), in the dfs metadata map GetObject reads (docs/s3.md "Mapping").
 */
import { DfsError } from "../client/index.ts";
import type { S3Context } from "./context.ts";
import { s3Errors } from "./errors.ts";

/** The dfs key marking a bucket (i21-gateway's layout). */
const BUCKET_MARKERS = ".dfs-s3-buckets";

/** Headers kept as object metadata besides `x-amz-meta-*`. */
const KEPT = [
  "content-type",
  "cache-control",
  "content-disposition",
  "content-encoding",
  "content-language",
  "expires",
];

/** NoSuchBucket unless the request's bucket exists. */
export async function bucketMustExist(ctx: S3Context): Promise<void> {
  try {
    await ctx.client.stat(`${BUCKET_MARKERS}/${ctx.bucket}`);
  } catch (error) {
    if (error instanceof DfsError && error.code === "not_found")
      throw s3Errors.noSuchBucket(ctx.bucket);
    throw error;
  }
}

/** The metadata of the object a CreateMultipartUpload will make. */
export function objectMetadataOf(ctx: S3Context): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(ctx.headers)) {
    if (typeof value !== "string") continue;
    if (KEPT.includes(name) || name.startsWith("x-amz-meta-")) out[name] = value;
  }
  if (out["content-type"] === undefined) out["content-type"] = "binary/octet-stream";
  return out;
}
