/**
 * The multipart operations of the S3 endpoint (docs/s3.md#multipart-uploads): HTTP in
 * and out of {@link MultipartStore}, registered into the gateway's router by routes.ts.
 */

import { requireBucket } from "./buckets.ts";
import type { S3Context } from "./context.ts";
import { S3Error, s3Errors } from "./errors.ts";
import { completeResponding, requestedParts } from "./multipart-complete.ts";
import { copySource } from "./multipart-copy.ts";
import { parsePartNumber, quoteEtag } from "./multipart-layout.ts";
import { listPartsResult, listUploadsResult } from "./multipart-listings.ts";
import { MultipartStore } from "./multipart-store.ts";
import { ETAG_META, objectMetadata } from "./object-meta.ts";
import { objectKey } from "./objects.ts";
import { sendEmpty, sendXml } from "./respond.ts";
import type { S3Route } from "./router.ts";

async function create(ctx: S3Context): Promise<void> {
  const target = objectKey(ctx.bucket, ctx.key);
  await requireBucket(ctx);
  const store = new MultipartStore(ctx.client);
  const uploadId = await store.create(ctx.bucket, ctx.key, target, objectMetadata(ctx.headers));
  sendXml(ctx, "InitiateMultipartUploadResult", {
    Bucket: ctx.bucket,
    Key: ctx.key,
    UploadId: uploadId,
  });
}

async function uploadPart(ctx: S3Context): Promise<void> {
  const store = new MultipartStore(ctx.client);
  await openUploadOfKey(ctx, store);
  const rec = await store.putPart(ctx.bucket, uploadIdOf(ctx), partNumberOf(ctx), ctx.body);
  sendEmpty(ctx, 200, { etag: quoteEtag(rec.md5) });
}

async function uploadPartCopy(ctx: S3Context): Promise<void> {
  const store = new MultipartStore(ctx.client);
  await openUploadOfKey(ctx, store);
  for await (const _ of ctx.body); // a copy carries no payload; drain what there is
  const source = await copySource(ctx);
  const rec = await store.putPart(ctx.bucket, uploadIdOf(ctx), partNumberOf(ctx), source);
  sendXml(ctx, "CopyPartResult", {
    ETag: quoteEtag(rec.md5),
    LastModified: new Date(rec.modTimeMs).toISOString(),
  });
}

async function complete(ctx: S3Context): Promise<void> {
  const store = new MultipartStore(ctx.client);
  await openUploadOfKey(ctx, store);
  const parts = await requestedParts(ctx);
  await completeResponding(ctx, async () => {
    const done = await store.complete(ctx.bucket, uploadIdOf(ctx), parts, ETAG_META);
    return {
      Location: `/${ctx.bucket}/${ctx.key}`,
      Bucket: ctx.bucket,
      Key: ctx.key,
      ETag: quoteEtag(done.etag),
    };
  });
}

async function abort(ctx: S3Context): Promise<void> {
  const store = new MultipartStore(ctx.client);
  await openUploadOfKey(ctx, store);
  await store.abort(ctx.bucket, uploadIdOf(ctx));
  sendEmpty(ctx, 204);
}

async function listParts(ctx: S3Context): Promise<void> {
  const store = new MultipartStore(ctx.client);
  await openUploadOfKey(ctx, store);
  const parts = await store.parts(ctx.bucket, uploadIdOf(ctx));
  sendXml(ctx, "ListPartsResult", listPartsResult(ctx, uploadIdOf(ctx), parts));
}

async function listUploads(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const uploads = await new MultipartStore(ctx.client).uploads(ctx.bucket);
  sendXml(ctx, "ListMultipartUploadsResult", listUploadsResult(ctx, uploads));
}

/** The upload named by `?uploadId=`, which must be one for this very object key. */
async function openUploadOfKey(ctx: S3Context, store: MultipartStore): Promise<void> {
  const record = await store.record(ctx.bucket, uploadIdOf(ctx));
  if (record.key !== ctx.key)
    throw new S3Error(
      "NoSuchUpload",
      `upload ${uploadIdOf(ctx)} is for another key of this bucket`,
      404,
    );
}

function uploadIdOf(ctx: S3Context): string {
  return ctx.query.get("uploadId") ?? "";
}

function partNumberOf(ctx: S3Context): number {
  const n = parsePartNumber(ctx.query.get("partNumber"));
  if (n === null)
    throw s3Errors.invalidArgument("Part number must be an integer between 1 and 10000, inclusive");
  return n;
}

/** The multipart routes, registered into the gateway's router by routes.ts. */
export const multipartRoutes: readonly S3Route[] = [
  {
    name: "CreateMultipartUpload",
    method: "POST",
    target: "object",
    query: ["uploads"],
    handler: create,
  },
  {
    name: "UploadPart",
    method: "PUT",
    target: "object",
    query: ["partNumber", "uploadId"],
    handler: uploadPart,
  },
  {
    name: "UploadPartCopy",
    method: "PUT",
    target: "object",
    query: ["partNumber", "uploadId"],
    header: "x-amz-copy-source",
    handler: uploadPartCopy,
  },
  {
    name: "CompleteMultipartUpload",
    method: "POST",
    target: "object",
    query: ["uploadId"],
    handler: complete,
  },
  {
    name: "AbortMultipartUpload",
    method: "DELETE",
    target: "object",
    query: ["uploadId"],
    handler: abort,
  },
  { name: "ListParts", method: "GET", target: "object", query: ["uploadId"], handler: listParts },
  {
    name: "ListMultipartUploads",
    method: "GET",
    target: "bucket",
    query: ["uploads"],
    handler: listUploads,
  },
];
