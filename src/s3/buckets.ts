/**
 * Buckets. A bucket is the first segment of every dfs key of its objects (`b/k`); since
 * dfs has no empty directories, a bucket also has a marker key `.dfs-s3-buckets/<b>`
 * written by CreateBucket, so an empty bucket exists and has a creation date. A top-level
 * dfs directory with a valid bucket name is a bucket too (data written by `dfs put` is
 * reachable over S3 without a CreateBucket). Names starting with '.' are never buckets,
 * so reserved prefixes (`.dfs-s3-buckets/`, `.dfs-s3-multipart/`) stay hidden.
 */
import { DfsError } from "../api/index.ts";
import type { DfsClient } from "../client/index.ts";
import type { S3Context } from "./context.ts";
import { S3Error, s3Errors } from "./errors.ts";
import { readSmallBody, sendEmpty, sendXml } from "./respond.ts";
import type { S3Route } from "./router.ts";

/** The dfs directory holding one marker key per bucket. */
export const BUCKET_MARKERS = ".dfs-s3-buckets";

/** The marker key of `bucket`. */
export function bucketMarker(bucket: string): string {
  return `${BUCKET_MARKERS}/${bucket}`;
}

/** Throws InvalidBucketName unless `name` follows S3's bucket naming rules. */
export function checkBucketName(name: string): void {
  const ok =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!ok)
    throw new S3Error("InvalidBucketName", "The specified bucket is not valid.", 400, {
      BucketName: name,
    });
}

/**
 * Whether `bucket` exists: its marker, or any key under it. `hidden` when the caller may
 * read neither the marker nor anything under it (answered AccessDenied, as S3 does).
 */
export async function bucketState(
  client: DfsClient,
  bucket: string,
): Promise<"exists" | "missing" | "hidden"> {
  let denied = false;
  try {
    await client.stat(bucketMarker(bucket));
    return "exists";
  } catch (error) {
    if (!(error instanceof DfsError)) throw error;
    if (error.code === "permission_denied") denied = true;
    else if (error.code !== "not_found") throw error;
  }
  if (!(await bucketEmpty(client, bucket))) return "exists";
  return denied ? "hidden" : "missing";
}

/**
 * Buckets seen to exist, per client (= per caller), for {@link BUCKET_SEEN_MS}: a stream
 * of small PutObjects then costs one write each, not a stat and a write. DeleteBucket
 * forgets its bucket at once on this gateway.
 */
const seen = new WeakMap<DfsClient, Map<string, number>>();
/** How long a bucket seen to exist is trusted without asking again. */
export const BUCKET_SEEN_MS = 1_000;

/** Throws NoSuchBucket (or AccessDenied) unless the request's bucket exists for the caller. */
export async function requireBucket(ctx: S3Context): Promise<void> {
  checkBucketName(ctx.bucket);
  const known = seen.get(ctx.client);
  if ((known?.get(ctx.bucket) ?? 0) > Date.now()) return;
  const state = await bucketState(ctx.client, ctx.bucket);
  if (state === "exists") {
    const map = known ?? new Map<string, number>();
    if (map.size > 10_000) map.clear();
    map.set(ctx.bucket, Date.now() + BUCKET_SEEN_MS);
    seen.set(ctx.client, map);
  }
  if (state === "missing") throw s3Errors.noSuchBucket(ctx.bucket);
  if (state === "hidden") throw s3Errors.accessDenied(`Access Denied to bucket ${ctx.bucket}`);
}

async function bucketEmpty(client: DfsClient, bucket: string): Promise<boolean> {
  for await (const _ of client.list(bucket, { pageSize: 1 })) return false;
  return true;
}

async function listBuckets(ctx: S3Context): Promise<void> {
  const created = new Map<string, number>();
  for await (const e of ctx.client.list(BUCKET_MARKERS)) {
    const name = e.name.slice(BUCKET_MARKERS.length + 1);
    if (!e.isDir && e.info !== undefined) created.set(name, e.info.modTimeMs);
  }
  for await (const e of ctx.client.list("")) {
    if (!e.isDir) continue;
    const name = e.name.slice(0, -1);
    if (!created.has(name) && validBucketName(name)) created.set(name, 0);
  }
  const buckets = [...created]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, ms]) => ({ Name: name, CreationDate: new Date(ms).toISOString() }));
  const owner = { ID: ctx.caller.user ?? "dfs", DisplayName: ctx.caller.user ?? "dfs" };
  sendXml(ctx, "ListAllMyBucketsResult", { Owner: owner, Buckets: { Bucket: buckets } });
}

function validBucketName(name: string): boolean {
  try {
    checkBucketName(name);
    return true;
  } catch {
    return false;
  }
}

async function createBucket(ctx: S3Context): Promise<void> {
  checkBucketName(ctx.bucket);
  await readSmallBody(ctx); // CreateBucketConfiguration: one region, nothing to keep
  try {
    await ctx.client.put(bucketMarker(ctx.bucket), new Uint8Array(0), { ifVersion: 0 });
  } catch (error) {
    if (error instanceof DfsError && error.code === "precondition_failed")
      throw new S3Error(
        "BucketAlreadyOwnedByYou",
        "Your previous request to create the named bucket succeeded and you already own it.",
        409,
        { BucketName: ctx.bucket },
      );
    throw error;
  }
  sendEmpty(ctx, 200, { location: `/${ctx.bucket}` });
}

async function deleteBucket(ctx: S3Context): Promise<void> {
  checkBucketName(ctx.bucket);
  if (!(await bucketEmpty(ctx.client, ctx.bucket)))
    throw new S3Error("BucketNotEmpty", "The bucket you tried to delete is not empty", 409, {
      BucketName: ctx.bucket,
    });
  seen.get(ctx.client)?.delete(ctx.bucket);
  try {
    await ctx.client.delete(bucketMarker(ctx.bucket));
  } catch (error) {
    if (error instanceof DfsError && error.code === "not_found")
      throw s3Errors.noSuchBucket(ctx.bucket);
    throw error;
  }
  sendEmpty(ctx, 204);
}

async function headBucket(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  sendEmpty(ctx, 200, { "x-amz-bucket-region": ctx.region });
}

async function getBucketLocation(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  sendXml(ctx, "LocationConstraint", {});
}

/** ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation. */
export const bucketRoutes: readonly S3Route[] = [
  { name: "ListBuckets", method: "GET", target: "service", handler: listBuckets },
  { name: "CreateBucket", method: "PUT", target: "bucket", handler: createBucket },
  { name: "DeleteBucket", method: "DELETE", target: "bucket", handler: deleteBucket },
  { name: "HeadBucket", method: "HEAD", target: "bucket", handler: headBucket },
  {
    name: "GetBucketLocation",
    method: "GET",
    target: "bucket",
    query: ["location"],
    handler: getBucketLocation,
  },
];
