/**
 * Object operations: PutObject (streamed into a dfs upload, or one put when small),
 * GetObject and HeadObject (range, conditionals, stored headers), DeleteObject,
 * DeleteObjects and CopyObject.
 */
import { createHash } from "node:crypto";
import type { OutgoingHttpHeaders } from "node:http";
import { checkKey, DfsError } from "../api/index.ts";
import { requireBucket } from "./buckets.ts";
import { dfsKey, type S3Context } from "./context.ts";
import { S3Error, s3Errors, toS3Error } from "./errors.ts";
import { checkConditionals, parseRange } from "./http-range.ts";
import { ETAG_META, etagOf, objectHeaders, objectMetadata } from "./object-meta.ts";
import { readXmlBody, sendEmpty, sendXml } from "./respond.ts";
import type { S3Route } from "./router.ts";
import {
  INLINE_MAX_BYTES,
  type ObjectInfo,
  openObject,
  putObject,
  statObject,
  uploadObject,
} from "./store.ts";

/** The dfs key of the request's object; InvalidArgument when dfs cannot store that name. */
export function objectKey(bucket: string, key: string): string {
  const full = dfsKey(bucket, key);
  try {
    if (key === "") throw new Error("empty object key");
    checkKey(full);
  } catch (error) {
    const problem = error instanceof Error ? error.message : String(error);
    throw new S3Error("InvalidArgument", `object key not storable in dfs: ${problem}`, 400, {
      Key: key,
    });
  }
  return full;
}

/** Reads a stat, mapping a missing object to NoSuchKey. */
async function stat(ctx: S3Context, key: string): Promise<ObjectInfo> {
  try {
    return await statObject(ctx.client, key);
  } catch (error) {
    throw toS3Error(error, ctx.key);
  }
}

async function putObjectHandler(ctx: S3Context): Promise<void> {
  const key = objectKey(ctx.bucket, ctx.key);
  await requireBucket(ctx);
  const meta = objectMetadata(ctx.headers);
  const ifVersion = await writeCondition(ctx, key);
  let version: number;
  try {
    if (ctx.contentLength !== undefined && ctx.contentLength <= INLINE_MAX_BYTES) {
      const parts: Buffer[] = [];
      for await (const piece of ctx.body) parts.push(piece);
      meta[ETAG_META] = ctx.bodyMd5();
      ({ version } = await putObject(ctx.client, key, Buffer.concat(parts), meta, ifVersion));
    } else {
      const final = () => ({ [ETAG_META]: ctx.bodyMd5() });
      ({ version } = await uploadObject(ctx.client, key, ctx.body, meta, final, ifVersion));
    }
  } catch (error) {
    if (error instanceof DfsError && error.code === "precondition_failed")
      throw s3Errors.preconditionFailed();
    throw error;
  }
  sendEmpty(ctx, 200, {
    etag: `"${ctx.bodyMd5()}"`,
    "x-amz-version-id": "null",
    "x-dfs-version": String(version),
  });
}

/**
 * S3's conditional writes: `If-None-Match: *` stores only if the key is absent, and
 * `If-Match: "<etag>"` only over that object — as a dfs compare-and-set on the version
 * read here, so a write racing in between fails 412 rather than being overwritten.
 */
async function writeCondition(ctx: S3Context, key: string): Promise<number | undefined> {
  const noneMatch = ctx.headers["if-none-match"];
  const match = ctx.headers["if-match"];
  if (noneMatch === undefined && match === undefined) return undefined;
  if (noneMatch !== undefined && noneMatch.trim() !== "*")
    throw s3Errors.notImplemented("If-None-Match on PutObject other than '*'");
  if (noneMatch !== undefined) return 0;
  let info: ObjectInfo;
  try {
    info = await statObject(ctx.client, key);
  } catch (error) {
    if (error instanceof DfsError && error.code === "not_found") throw s3Errors.noSuchKey(ctx.key);
    throw error;
  }
  checkConditionals({ "if-match": match }, etagOf(info), info.modTimeMs);
  return info.version;
}

/** Query parameters of GetObject that override response headers (presigned links). */
const RESPONSE_OVERRIDES = [
  "content-type",
  "content-language",
  "expires",
  "cache-control",
  "content-disposition",
  "content-encoding",
];

async function getObjectHandler(ctx: S3Context): Promise<void> {
  const key = objectKey(ctx.bucket, ctx.key);
  const info = await stat(ctx, key);
  const headers = objectHeaders(info);
  if (checkConditionals(ctx.headers, etagOf(info), info.modTimeMs) === "not-modified") {
    sendEmpty(ctx, 304, { etag: headers.etag, "last-modified": headers["last-modified"] });
    return;
  }
  for (const name of RESPONSE_OVERRIDES) {
    const v = ctx.query.get(`response-${name}`);
    if (v !== null) headers[name] = v;
  }
  const rangeHeader = ctx.headers.range;
  let range: ReturnType<typeof parseRange>;
  try {
    range = parseRange(rangeHeader, info.size);
  } catch (error) {
    ctx.res.setHeader("content-range", `bytes */${info.size}`);
    throw error;
  }
  const status = range === null ? 200 : 206;
  const length = range === null ? info.size : range.length;
  const out: OutgoingHttpHeaders = { ...headers, "content-length": length };
  if (range !== null)
    out["content-range"] = `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`;
  if (ctx.method === "HEAD" || length === 0) {
    ctx.res.writeHead(status, out);
    ctx.res.end();
    return;
  }
  let open: Awaited<ReturnType<typeof openObject>>;
  try {
    open = await openObject(ctx.client, key, range ?? undefined, info.version);
  } catch (error) {
    if (error instanceof DfsError && error.code === "precondition_failed")
      throw new S3Error("ServiceUnavailable", "the object changed while being read; retry", 503);
    throw toS3Error(error, ctx.key);
  }
  ctx.res.writeHead(status, out);
  await streamTo(ctx, open.chunks);
}

/** Resolves when `res` can take more, or was closed; leaves no listener behind. */
function drainedOrClosed(res: S3Context["res"]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Writes `chunks` to the response with backpressure; a failure mid-way aborts it. */
async function streamTo(ctx: S3Context, chunks: AsyncIterable<Buffer>): Promise<void> {
  const { res } = ctx;
  try {
    for await (const chunk of chunks) {
      if (res.destroyed) return;
      if (!res.write(chunk)) await drainedOrClosed(res);
    }
    res.end();
  } catch (error) {
    res.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function deleteObjectHandler(ctx: S3Context): Promise<void> {
  const key = objectKey(ctx.bucket, ctx.key);
  await deleteQuietly(ctx, key);
  sendEmpty(ctx, 204);
}

/** Deletes `key`; a key that is already gone is fine (S3 deletes are idempotent). */
async function deleteQuietly(ctx: S3Context, key: string): Promise<void> {
  try {
    await ctx.client.delete(key);
  } catch (error) {
    if (!(error instanceof DfsError) || error.code !== "not_found") throw error;
  }
}

/** S3's limit on the keys of one DeleteObjects request. */
const DELETE_MAX_KEYS = 1000;

async function deleteObjectsHandler(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const doc = await readXmlBody(ctx);
  const root = doc.Delete as { Object?: { Key?: string }[]; Quiet?: string } | undefined;
  const objects = root?.Object ?? [];
  if (root === undefined) throw s3Errors.malformedXml("expected a <Delete> document");
  if (objects.length > DELETE_MAX_KEYS)
    throw s3Errors.malformedXml(`at most ${DELETE_MAX_KEYS} keys per DeleteObjects`);
  const quiet = root.Quiet === "true";
  const results = await Promise.all(
    objects.map(async (o) => {
      const name = String(o.Key ?? "");
      try {
        await deleteQuietly(ctx, objectKey(ctx.bucket, name));
        return { Key: name } as const;
      } catch (error) {
        const e = toS3Error(error, name);
        return { error: { Key: name, Code: e.code, Message: e.message } } as const;
      }
    }),
  );
  const deleted = results.filter((r) => !("error" in r));
  const errors = results.flatMap((r) => ("error" in r && r.error !== undefined ? [r.error] : []));
  sendXml(ctx, "DeleteResult", {
    ...(quiet ? {} : { Deleted: deleted.map((d) => ({ Key: d.Key })) }),
    Error: errors.map((e) => ({ Key: e.Key, Code: e.Code, Message: e.Message })),
  });
}

/** Bucket and key of an `x-amz-copy-source` header (`/b/k` or `b/k`, URL-encoded). */
export function parseCopySource(header: string): { bucket: string; key: string } {
  const path = header.split("?")[0] ?? "";
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.replace(/^\//, ""));
  } catch {
    throw s3Errors.invalidArgument("x-amz-copy-source is not valid URL encoding");
  }
  const slash = decoded.indexOf("/");
  if (slash <= 0 || slash === decoded.length - 1)
    throw s3Errors.invalidArgument("x-amz-copy-source must be bucket/key");
  return { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1) };
}

async function copyObjectHandler(ctx: S3Context): Promise<void> {
  const target = objectKey(ctx.bucket, ctx.key);
  await requireBucket(ctx);
  const source = parseCopySource(String(ctx.headers["x-amz-copy-source"]));
  const from = objectKey(source.bucket, source.key);
  const info = await stat(ctx, from).catch((error: unknown) => {
    if (error instanceof S3Error && error.code === "NoSuchKey")
      throw s3Errors.noSuchKey(source.key);
    throw error;
  });
  const etag = etagOf(info);
  if (checkConditionals(ctx.headers, etag, info.modTimeMs, "x-amz-copy-source-if-") !== "serve")
    throw s3Errors.preconditionFailed();
  const replace =
    String(ctx.headers["x-amz-metadata-directive"] ?? "COPY").toUpperCase() === "REPLACE";
  if (from === target && !replace)
    throw s3Errors.invalidRequest(
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  for await (const _ of ctx.body); // CopyObject has no payload; drain what was sent
  const meta = replace ? objectMetadata(ctx.headers) : { ...info.metadata };
  const copyEtag = info.metadata[ETAG_META];
  if (copyEtag !== undefined) meta[ETAG_META] = copyEtag;
  const reader = async function* () {
    const open = await openObject(ctx.client, from, undefined, info.version);
    yield* open.chunks;
  };
  let md5 = "";
  if (info.size <= INLINE_MAX_BYTES) {
    const parts: Buffer[] = [];
    for await (const c of reader()) parts.push(c);
    const bytes = Buffer.concat(parts);
    md5 = createHash("md5").update(bytes).digest("hex");
    meta[ETAG_META] = copyEtag ?? md5;
    await putObject(ctx.client, target, bytes, meta);
  } else {
    const source = () => {
      const hash = createHash("md5");
      return (async function* () {
        for await (const c of reader()) {
          hash.update(c);
          yield c;
        }
        md5 = hash.digest("hex");
      })();
    };
    await uploadObject(ctx.client, target, source, meta, () => ({
      [ETAG_META]: copyEtag ?? md5,
    }));
  }
  const stored = await stat(ctx, target);
  sendXml(ctx, "CopyObjectResult", {
    ETag: etagOf(stored),
    LastModified: new Date(stored.modTimeMs).toISOString(),
  });
}

/** PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject. */
export const objectRoutes: readonly S3Route[] = [
  { name: "PutObject", method: "PUT", target: "object", handler: putObjectHandler },
  {
    name: "CopyObject",
    method: "PUT",
    target: "object",
    header: "x-amz-copy-source",
    handler: copyObjectHandler,
  },
  { name: "GetObject", method: "GET", target: "object", handler: getObjectHandler },
  { name: "HeadObject", method: "HEAD", target: "object", handler: getObjectHandler },
  { name: "DeleteObject", method: "DELETE", target: "object", handler: deleteObjectHandler },
  {
    name: "DeleteObjects",
    method: "POST",
    target: "bucket",
    query: ["delete"],
    handler: deleteObjectsHandler,
  },
];
