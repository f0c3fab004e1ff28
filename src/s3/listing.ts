/**
 * ListObjectsV2 and ListObjects (v1). S3 prefixes are arbitrary strings while a dfs
 * listing walks one directory: the gateway lists the deepest directory the prefix names
 * (`b/photos/20` → `b/photos`), one level when the delimiter is `/` (so a directory with
 * a million keys below costs one entry) and recursively otherwise, keeps the entries
 * starting with the prefix and stops at the first one past it. Continuation tokens are
 * the last name returned, so a page resumes with a seek, not a re-read.
 */
import { checkKey } from "../api/index.ts";
import type { DfsClient } from "../client/index.ts";
import { requireBucket } from "./buckets.ts";
import type { S3Context } from "./context.ts";
import { s3Errors } from "./errors.ts";
import { etagOf } from "./object-meta.ts";
import { sendXml } from "./respond.ts";
import type { S3Route } from "./router.ts";
import { uriEncode } from "./sigv4.ts";
import { type ObjectInfo, objectInfo } from "./store.ts";

/** What one page of a listing asks. */
export interface ListQuery {
  readonly bucket: string;
  readonly prefix: string;
  readonly delimiter: string;
  /** Return only names after this one (S3 key or common prefix, without the bucket). */
  readonly after: string;
  readonly maxKeys: number;
}

/** One page: objects and common prefixes in key order, and whether more follow. */
export interface ListPage {
  readonly objects: { key: string; info: ObjectInfo }[];
  readonly prefixes: string[];
  readonly truncated: boolean;
  /** The last name of this page (an object key or a common prefix). */
  readonly last: string;
}

/** The largest max-keys S3 serves. */
export const MAX_KEYS = 1000;

/** Lists one page of `q` through `client`. */
export async function listObjects(client: DfsClient, q: ListQuery): Promise<ListPage> {
  const base = `${q.bucket}/`;
  const full = base + q.prefix;
  const slash = q.prefix.lastIndexOf("/");
  const dir = slash < 0 ? q.bucket : base + q.prefix.slice(0, slash);
  const oneLevel = q.delimiter === "/";
  // A prefix no dfs key can have (`/x`, `a//`, `../`) lists nothing.
  if (!storable(dir)) return { objects: [], prefixes: [], truncated: false, last: "" };
  let startAfter = q.after === "" ? "" : base + q.after;
  // After a common prefix of another delimiter, skip every key under it.
  if (startAfter !== "" && !oneLevel && q.delimiter !== "" && q.after.endsWith(q.delimiter))
    startAfter += "\u{10FFFF}";
  if (startAfter !== "" && startAfter < `${dir}/`) startAfter = "";
  const objects: ListPage["objects"] = [];
  const prefixes: string[] = [];
  let last = "";
  const count = () => objects.length + prefixes.length;
  if (q.maxKeys === 0) return { objects, prefixes, truncated: false, last };
  const entries = client.list(dir, {
    recursive: !oneLevel,
    pageSize: Math.min(q.maxKeys + 1, MAX_KEYS),
    startAfter,
  });
  for await (const e of entries) {
    if (!e.name.startsWith(full)) {
      if (e.name > full) break;
      continue;
    }
    const key = e.name.slice(base.length);
    let name = key;
    let isPrefix = e.isDir;
    if (!oneLevel && q.delimiter !== "") {
      const at = key.indexOf(q.delimiter, q.prefix.length);
      if (at >= 0) {
        name = key.slice(0, at + q.delimiter.length);
        isPrefix = true;
      }
    }
    if (isPrefix && name === prefixes.at(-1)) continue;
    if (count() === q.maxKeys) return { objects, prefixes, truncated: true, last };
    if (isPrefix) prefixes.push(name);
    else if (e.info !== undefined) objects.push({ key: name, info: objectInfo(e.info) });
    last = name;
  }
  return { objects, prefixes, truncated: false, last };
}

function storable(key: string): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}

function params(ctx: S3Context) {
  const q = ctx.query;
  const maxKeys = q.has("max-keys") ? Number(q.get("max-keys")) : MAX_KEYS;
  if (!Number.isInteger(maxKeys) || maxKeys < 0)
    throw s3Errors.invalidArgument("max-keys must be a non-negative integer");
  const encoding = q.get("encoding-type");
  if (encoding !== null && encoding !== "url")
    throw s3Errors.invalidArgument("Invalid Encoding Method specified in Request");
  const enc = (s: string) => (encoding === "url" ? uriEncode(s).replace(/%2F/g, "/") : s);
  return {
    prefix: q.get("prefix") ?? "",
    delimiter: q.get("delimiter") ?? "",
    maxKeys: Math.min(maxKeys, MAX_KEYS),
    enc,
    encoding,
  };
}

function contents(page: ListPage, enc: (s: string) => string) {
  return page.objects.map((o) => ({
    Key: enc(o.key),
    LastModified: new Date(o.info.modTimeMs).toISOString(),
    ETag: etagOf(o.info),
    Size: o.info.size,
    StorageClass: "STANDARD",
  }));
}

async function listV2(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const p = params(ctx);
  const token = ctx.query.get("continuation-token");
  const startAfter = ctx.query.get("start-after") ?? "";
  let after = startAfter;
  if (token !== null) {
    after = Buffer.from(token, "base64url").toString("utf8");
    if (after === "")
      throw s3Errors.invalidArgument("The continuation token provided is incorrect");
  }
  const page = await listObjects(ctx.client, { bucket: ctx.bucket, ...p, after });
  sendXml(ctx, "ListBucketResult", {
    Name: ctx.bucket,
    Prefix: p.enc(p.prefix),
    ...(p.delimiter === "" ? {} : { Delimiter: p.enc(p.delimiter) }),
    MaxKeys: p.maxKeys,
    KeyCount: page.objects.length + page.prefixes.length,
    IsTruncated: page.truncated,
    ...(token === null ? {} : { ContinuationToken: token }),
    ...(page.truncated
      ? { NextContinuationToken: Buffer.from(page.last).toString("base64url") }
      : {}),
    ...(startAfter === "" ? {} : { StartAfter: p.enc(startAfter) }),
    ...(p.encoding === null ? {} : { EncodingType: p.encoding }),
    Contents: contents(page, p.enc),
    CommonPrefixes: page.prefixes.map((x) => ({ Prefix: p.enc(x) })),
  });
}

async function listV1(ctx: S3Context): Promise<void> {
  await requireBucket(ctx);
  const p = params(ctx);
  const marker = ctx.query.get("marker") ?? "";
  const page = await listObjects(ctx.client, { bucket: ctx.bucket, ...p, after: marker });
  sendXml(ctx, "ListBucketResult", {
    Name: ctx.bucket,
    Prefix: p.enc(p.prefix),
    Marker: p.enc(marker),
    ...(p.delimiter === "" ? {} : { Delimiter: p.enc(p.delimiter) }),
    MaxKeys: p.maxKeys,
    IsTruncated: page.truncated,
    ...(page.truncated ? { NextMarker: p.enc(page.last) } : {}),
    ...(p.encoding === null ? {} : { EncodingType: p.encoding }),
    Contents: contents(page, p.enc),
    CommonPrefixes: page.prefixes.map((x) => ({ Prefix: p.enc(x) })),
  });
}

/** ListObjectsV2 (`?list-type=2`) and ListObjects (v1). */
export const listingRoutes: readonly S3Route[] = [
  {
    name: "ListObjectsV2",
    method: "GET",
    target: "bucket",
    queryValues: { "list-type": "2" },
    handler: listV2,
  },
  { name: "ListObjects", method: "GET", target: "bucket", handler: listV1 },
];
