/**
 * The S3 gateway against a real 3-node cluster, spoken to by @aws-sdk/client-s3 (issue
 * 21): buckets, objects (small, streamed, metadata), ranges, conditionals, copies,
 * deletes, listings (v1, v2 with delimiters and continuation), presigned URLs, and the
 * refusals a client relies on (bad signature, unknown key, bad digest, anonymous).
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { request } from "node:http";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { crc32 } from "node:zlib";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { DfsClient } from "../../src/client/index.ts";
import { LocalCluster } from "../../src/cluster/index.ts";
import { S3Gateway, StaticKeys } from "../../src/s3/index.ts";

const ACCESS = "DFSTESTACCESSKEY0001";
const SECRET = "test-secret-key-0123456789abcdefghijklmn";

function s3(port: number, secret = SECRET, access = ACCESS): S3Client {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: access, secretAccessKey: secret },
    maxAttempts: 1,
  });
}

async function bytesOf(body: unknown): Promise<Buffer> {
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return Buffer.from(await b.transformToByteArray());
}

async function s3Code(promise: Promise<unknown>): Promise<{ name: string; status: number }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof S3ServiceException, `not an S3 error: ${String(error)}`);
    return { name: error.name, status: error.$metadata.httpStatusCode ?? 0 };
  }
  assert.fail("expected the call to fail");
}

describe("S3 gateway with @aws-sdk/client-s3", () => {
  let cluster: LocalCluster;
  let dfs: DfsClient;
  let gateway: S3Gateway;
  let port: number;
  let client: S3Client;

  before(async () => {
    cluster = await LocalCluster.start();
    dfs = cluster.client(cluster.endpoints(), 30_000);
    gateway = new S3Gateway({ keys: new StaticKeys(ACCESS, SECRET, dfs, false) });
    port = await gateway.listen(0, "127.0.0.1");
    client = s3(port);
  });

  after(async () => {
    client?.destroy();
    await gateway?.close();
    dfs?.close();
    await cluster?.stop(5000);
  });

  it("creates, lists, heads and deletes buckets", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "alpha" }));
    await client.send(new CreateBucketCommand({ Bucket: "beta" }));
    const again = await s3Code(client.send(new CreateBucketCommand({ Bucket: "alpha" })));
    assert.deepEqual(again, { name: "BucketAlreadyOwnedByYou", status: 409 });
    const listed = await client.send(new ListBucketsCommand({}));
    const names = (listed.Buckets ?? []).map((b) => b.Name);
    assert.ok(names.includes("alpha") && names.includes("beta"), names.join(","));
    const head = await client.send(new HeadBucketCommand({ Bucket: "alpha" }));
    assert.equal(head.BucketRegion, "us-east-1");
    const location = await client.send(new GetBucketLocationCommand({ Bucket: "alpha" }));
    assert.equal(location.LocationConstraint ?? "", "");
    const badName = await s3Code(client.send(new CreateBucketCommand({ Bucket: "Bad_Name" })));
    assert.deepEqual(badName, { name: "InvalidBucketName", status: 400 });
    await client.send(new PutObjectCommand({ Bucket: "beta", Key: "x", Body: "1" }));
    const notEmpty = await s3Code(client.send(new DeleteBucketCommand({ Bucket: "beta" })));
    assert.deepEqual(notEmpty, { name: "BucketNotEmpty", status: 409 });
    await client.send(new DeleteObjectCommand({ Bucket: "beta", Key: "x" }));
    await client.send(new DeleteBucketCommand({ Bucket: "beta" }));
    const gone = await s3Code(client.send(new HeadBucketCommand({ Bucket: "beta" })));
    assert.equal(gone.status, 404);
    const noBucket = await s3Code(
      client.send(new PutObjectCommand({ Bucket: "nope", Key: "k", Body: "v" })),
    );
    assert.deepEqual(noBucket, { name: "NoSuchBucket", status: 404 });
  });

  it("puts and gets a small object with its metadata and content type", async () => {
    const body = Buffer.from("hello, s3");
    const put = await client.send(
      new PutObjectCommand({
        Bucket: "alpha",
        Key: "docs/hello.txt",
        Body: body,
        ContentType: "text/plain; charset=utf-8",
        Metadata: { owner: "ana", purpose: "test" },
      }),
    );
    const md5 = createHash("md5").update(body).digest("hex");
    assert.equal(put.ETag, `"${md5}"`);
    const got = await client.send(new GetObjectCommand({ Bucket: "alpha", Key: "docs/hello.txt" }));
    assert.deepEqual(await bytesOf(got.Body), body);
    assert.equal(got.ETag, `"${md5}"`);
    assert.equal(got.ContentLength, body.length);
    assert.equal(got.ContentType, "text/plain; charset=utf-8");
    assert.deepEqual(got.Metadata, { owner: "ana", purpose: "test" });
    const head = await client.send(
      new HeadObjectCommand({ Bucket: "alpha", Key: "docs/hello.txt" }),
    );
    assert.equal(head.ContentLength, body.length);
    assert.equal(head.ETag, `"${md5}"`);
    const missing = await s3Code(
      client.send(new GetObjectCommand({ Bucket: "alpha", Key: "nope" })),
    );
    assert.deepEqual(missing, { name: "NoSuchKey", status: 404 });
  });

  it("keeps keys with spaces, unicode and URL-special characters exact", async () => {
    const keys = [
      "odd/ünï cödé.txt",
      "odd/a+b=c&d;e,f@g$h.txt",
      "odd/%41 percent",
      "odd/日本/語.bin",
    ];
    for (const Key of keys)
      await client.send(new PutObjectCommand({ Bucket: "alpha", Key, Body: Key }));
    for (const Key of keys) {
      const got = await client.send(new GetObjectCommand({ Bucket: "alpha", Key }));
      assert.equal((await bytesOf(got.Body)).toString(), Key);
    }
    for (const EncodingType of [undefined, "url"] as const) {
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: "alpha", Prefix: "odd/", EncodingType }),
      );
      const names = (listed.Contents ?? []).map((c) =>
        EncodingType === "url" ? decodeURIComponent(c.Key as string) : c.Key,
      );
      assert.deepEqual(
        names,
        [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    }
    for (const Prefix of ["/", "odd//", "../x", "odd/./"]) {
      const none = await client.send(new ListObjectsV2Command({ Bucket: "alpha", Prefix }));
      assert.equal(none.KeyCount, 0, Prefix);
    }
    const folder = await s3Code(
      client.send(new PutObjectCommand({ Bucket: "alpha", Key: "odd/dir/", Body: "" })),
    );
    assert.deepEqual(folder, { name: "InvalidArgument", status: 400 });
  });

  it("streams a multi-chunk object in (aws-chunked, trailing checksum) and out", async () => {
    const data = randomBytes(5 * 1024 * 1024 + 12345);
    const sent: Record<string, string>[] = [];
    const watching = s3(port);
    watching.middlewareStack.add(
      (next) => async (args) => {
        sent.push({ ...(args.request as { headers: Record<string, string> }).headers });
        return next(args);
      },
      { step: "deserialize" },
    );
    const put = await watching.send(
      new PutObjectCommand({
        Bucket: "alpha",
        Key: "big/blob.bin",
        Body: Readable.from([data.subarray(0, 3_000_000), data.subarray(3_000_000)]),
        ContentLength: data.length,
      }),
    );
    watching.destroy();
    assert.equal(put.ETag, `"${createHash("md5").update(data).digest("hex")}"`);
    // What the SDK sent: an aws-chunked body with its checksum in a trailer.
    const headers = sent[0] ?? {};
    assert.equal(headers["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER");
    assert.match(headers["x-amz-trailer"] ?? "", /^x-amz-checksum-/);
    const got = await client.send(new GetObjectCommand({ Bucket: "alpha", Key: "big/blob.bin" }));
    assert.ok((await bytesOf(got.Body)).equals(data));
    assert.equal(got.ETag, put.ETag);
  });

  it("serves ranges: first byte, last byte, suffix, across chunks, past the end → 416", async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    await client.send(new PutObjectCommand({ Bucket: "alpha", Key: "r/data", Body: data }));
    const range = async (r: string) => {
      const got = await client.send(
        new GetObjectCommand({ Bucket: "alpha", Key: "r/data", Range: r }),
      );
      return { bytes: await bytesOf(got.Body), contentRange: got.ContentRange };
    };
    const n = data.length;
    const first = await range("bytes=0-0");
    assert.deepEqual(first.bytes, data.subarray(0, 1));
    assert.equal(first.contentRange, `bytes 0-0/${n}`);
    const last = await range(`bytes=${n - 1}-${n - 1}`);
    assert.deepEqual(last.bytes, data.subarray(n - 1));
    const suffix = await range("bytes=-100");
    assert.deepEqual(suffix.bytes, data.subarray(n - 100));
    assert.equal(suffix.contentRange, `bytes ${n - 100}-${n - 1}/${n}`);
    const across = await range(`bytes=${1024 * 1024 - 10}-${2 * 1024 * 1024 + 10}`);
    assert.ok(across.bytes.equals(data.subarray(1024 * 1024 - 10, 2 * 1024 * 1024 + 11)));
    const open = await range(`bytes=${n - 5}-`);
    assert.deepEqual(open.bytes, data.subarray(n - 5));
    const beyond = await range(`bytes=${n - 2}-${n + 100}`);
    assert.deepEqual(beyond.bytes, data.subarray(n - 2));
    const past = await s3Code(range(`bytes=${n}-${n + 10}`));
    assert.deepEqual(past, { name: "InvalidRange", status: 416 });
  });

  it("answers conditionals with 304 and 412", async () => {
    await client.send(new PutObjectCommand({ Bucket: "alpha", Key: "c/obj", Body: "v1" }));
    const head = await client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "c/obj" }));
    const etag = head.ETag as string;
    const notModified = await s3Code(
      client.send(new GetObjectCommand({ Bucket: "alpha", Key: "c/obj", IfNoneMatch: etag })),
    );
    assert.equal(notModified.status, 304);
    const since = await s3Code(
      client.send(
        new GetObjectCommand({
          Bucket: "alpha",
          Key: "c/obj",
          IfModifiedSince: new Date(Date.now() + 3600_000),
        }),
      ),
    );
    assert.equal(since.status, 304);
    const failed = await s3Code(
      client.send(new GetObjectCommand({ Bucket: "alpha", Key: "c/obj", IfMatch: '"0000"' })),
    );
    assert.deepEqual(failed, { name: "PreconditionFailed", status: 412 });
    const ok = await client.send(
      new GetObjectCommand({ Bucket: "alpha", Key: "c/obj", IfMatch: etag }),
    );
    assert.equal((await bytesOf(ok.Body)).toString(), "v1");
  });

  it("writes conditionally: If-None-Match: * and If-Match (412 when they fail)", async () => {
    await client.send(
      new PutObjectCommand({ Bucket: "alpha", Key: "cw/once", Body: "first", IfNoneMatch: "*" }),
    );
    const again = await s3Code(
      client.send(
        new PutObjectCommand({ Bucket: "alpha", Key: "cw/once", Body: "second", IfNoneMatch: "*" }),
      ),
    );
    assert.deepEqual(again, { name: "PreconditionFailed", status: 412 });
    const head = await client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "cw/once" }));
    await client.send(
      new PutObjectCommand({ Bucket: "alpha", Key: "cw/once", Body: "third", IfMatch: head.ETag }),
    );
    const stale = await s3Code(
      client.send(
        new PutObjectCommand({
          Bucket: "alpha",
          Key: "cw/once",
          Body: "fourth",
          IfMatch: head.ETag,
        }),
      ),
    );
    assert.deepEqual(stale, { name: "PreconditionFailed", status: 412 });
    const got = await client.send(new GetObjectCommand({ Bucket: "alpha", Key: "cw/once" }));
    assert.equal((await bytesOf(got.Body)).toString(), "third");
  });

  it("copies objects, keeping or replacing metadata", async () => {
    await client.send(
      new PutObjectCommand({
        Bucket: "alpha",
        Key: "cp/src",
        Body: "copy me",
        Metadata: { a: "1" },
        ContentType: "text/x-src",
      }),
    );
    const copied = await client.send(
      new CopyObjectCommand({ Bucket: "alpha", Key: "cp/dst", CopySource: "alpha/cp/src" }),
    );
    const srcHead = await client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "cp/src" }));
    assert.equal(copied.CopyObjectResult?.ETag, srcHead.ETag);
    const dst = await client.send(new GetObjectCommand({ Bucket: "alpha", Key: "cp/dst" }));
    assert.equal((await bytesOf(dst.Body)).toString(), "copy me");
    assert.deepEqual(dst.Metadata, { a: "1" });
    assert.equal(dst.ContentType, "text/x-src");
    await client.send(
      new CopyObjectCommand({
        Bucket: "alpha",
        Key: "cp/dst2",
        CopySource: "alpha/cp/src",
        MetadataDirective: "REPLACE",
        Metadata: { b: "2" },
        ContentType: "text/x-dst",
      }),
    );
    const dst2 = await client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "cp/dst2" }));
    assert.deepEqual(dst2.Metadata, { b: "2" });
    assert.equal(dst2.ContentType, "text/x-dst");
    const self = await s3Code(
      client.send(
        new CopyObjectCommand({ Bucket: "alpha", Key: "cp/src", CopySource: "alpha/cp/src" }),
      ),
    );
    assert.deepEqual(self, { name: "InvalidRequest", status: 400 });
  });

  it("deletes one object and many (DeleteObjects)", async () => {
    for (const k of ["d/1", "d/2", "d/3"])
      await client.send(new PutObjectCommand({ Bucket: "alpha", Key: k, Body: k }));
    await client.send(new DeleteObjectCommand({ Bucket: "alpha", Key: "d/1" }));
    await client.send(new DeleteObjectCommand({ Bucket: "alpha", Key: "d/1" })); // idempotent
    const r = await client.send(
      new DeleteObjectsCommand({
        Bucket: "alpha",
        Delete: { Objects: [{ Key: "d/2" }, { Key: "d/3" }, { Key: "d/never" }] },
      }),
    );
    assert.deepEqual((r.Deleted ?? []).map((d) => d.Key).sort(), ["d/2", "d/3", "d/never"]);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: "alpha", Prefix: "d/" }));
    assert.equal(listed.KeyCount, 0);
  });

  it("lists 10k keys with delimiters, prefixes and continuation (v2 and v1)", async () => {
    await client.send(new CreateBucketCommand({ Bucket: "many" }));
    const keys: string[] = [];
    for (let i = 0; i < 10_000; i++)
      keys.push(`d${String(i % 100).padStart(2, "0")}/k${String(i).padStart(5, "0")}`);
    const started = Date.now();
    for (let i = 0; i < keys.length; i += 500)
      await Promise.all(keys.slice(i, i + 500).map((k) => dfs.put(`many/${k}`, Buffer.from(k))));
    console.log(`# 10k puts in ${Date.now() - started} ms`);
    const top = await client.send(new ListObjectsV2Command({ Bucket: "many", Delimiter: "/" }));
    assert.equal(top.CommonPrefixes?.length, 100);
    assert.equal(top.KeyCount, 100);
    assert.equal(top.CommonPrefixes?.[0]?.Prefix, "d00/");
    const one = await client.send(
      new ListObjectsV2Command({ Bucket: "many", Prefix: "d07/", Delimiter: "/" }),
    );
    assert.equal(one.Contents?.length, 100);
    assert.ok(one.Contents?.every((c) => c.Key?.startsWith("d07/") && c.Size === 10));
    const partial = await client.send(
      new ListObjectsV2Command({ Bucket: "many", Prefix: "d07/k0000" }),
    );
    assert.deepEqual(
      partial.Contents?.map((c) => c.Key),
      ["d07/k00007"],
    );
    // Every key, 1000 per page, through continuation tokens.
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    const listStart = Date.now();
    do {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: "many", ContinuationToken: token }),
      );
      for (const c of page.Contents ?? []) seen.push(c.Key as string);
      token = page.NextContinuationToken;
      pages++;
      assert.equal(page.IsTruncated, token !== undefined);
    } while (token !== undefined);
    console.log(`# 10k keys listed in ${pages} pages, ${Date.now() - listStart} ms`);
    assert.equal(pages, 10);
    assert.deepEqual(seen, [...keys].sort());
    // Prefix pages with delimiter and max-keys: common prefixes count toward the page.
    const small = await client.send(
      new ListObjectsV2Command({ Bucket: "many", Delimiter: "/", MaxKeys: 30 }),
    );
    assert.equal(small.CommonPrefixes?.length, 30);
    assert.equal(small.IsTruncated, true);
    const next = await client.send(
      new ListObjectsV2Command({
        Bucket: "many",
        Delimiter: "/",
        MaxKeys: 30,
        ContinuationToken: small.NextContinuationToken,
      }),
    );
    assert.equal(next.CommonPrefixes?.[0]?.Prefix, "d30/");
    const startAfter = await client.send(
      new ListObjectsV2Command({ Bucket: "many", Prefix: "d99/", StartAfter: "d99/k09950" }),
    );
    assert.deepEqual(
      startAfter.Contents?.map((c) => c.Key),
      ["d99/k09999"],
    );
    // Another delimiter: "k0" splits each directory's keys.
    const other = await client.send(
      new ListObjectsV2Command({ Bucket: "many", Prefix: "d05/", Delimiter: "k0" }),
    );
    assert.deepEqual(
      other.CommonPrefixes?.map((p) => p.Prefix),
      ["d05/k0"],
    );
    // v1 with markers.
    const v1 = await client.send(
      new ListObjectsCommand({ Bucket: "many", Prefix: "d42/", MaxKeys: 60 }),
    );
    assert.equal(v1.Contents?.length, 60);
    assert.equal(v1.IsTruncated, true);
    const v1next = await client.send(
      new ListObjectsCommand({ Bucket: "many", Prefix: "d42/", Marker: v1.NextMarker }),
    );
    assert.equal(v1next.Contents?.length, 40);
    assert.equal(v1next.IsTruncated, false);
  });

  it("serves presigned GET and PUT URLs, and refuses expired ones", async () => {
    const putUrl = await getSignedUrl(
      client,
      new PutObjectCommand({ Bucket: "alpha", Key: "p/presigned" }),
      { expiresIn: 60 },
    );
    const put = await fetch(putUrl, { method: "PUT", body: "via presigned" });
    assert.equal(put.status, 200, await put.text());
    const getUrl = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: "alpha", Key: "p/presigned" }),
      { expiresIn: 60 },
    );
    const got = await fetch(getUrl);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), "via presigned");
    const tampered = await fetch(getUrl.replace("p/presigned", "p/other"));
    assert.equal(tampered.status, 403);
    assert.match(await tampered.text(), /SignatureDoesNotMatch/);
    const expiredUrl = await getSignedUrl(
      client,
      new GetObjectCommand({ Bucket: "alpha", Key: "p/presigned" }),
      { expiresIn: 60, signingDate: new Date(Date.now() - 3600_000) },
    );
    const expired = await fetch(expiredUrl);
    assert.equal(expired.status, 403);
    assert.match(await expired.text(), /expired/);
  });

  it("addresses buckets by virtual host (<bucket>.localhost) with anonymous access on", async () => {
    const open = new S3Gateway({ keys: new StaticKeys(ACCESS, SECRET, dfs, true) });
    const openPort = await open.listen(0, "127.0.0.1");
    try {
      const get = (host: string, path: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request(
            { host: "127.0.0.1", port: openPort, path, headers: { host } },
            (res) => {
              let body = "";
              res.on("data", (d) => (body += d));
              res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          req.on("error", reject);
          req.end();
        });
      const vhost = await get(`alpha.localhost:${openPort}`, "/docs/hello.txt");
      assert.deepEqual(vhost, { status: 200, body: "hello, s3" });
      const path = await get(`127.0.0.1:${openPort}`, "/alpha/docs/hello.txt");
      assert.deepEqual(path, { status: 200, body: "hello, s3" });
      const missing = await get(`alpha.localhost:${openPort}`, "/docs/none");
      assert.equal(missing.status, 404);
      assert.match(missing.body, /<Code>NoSuchKey<\/Code>/);
    } finally {
      await open.close();
    }
  });

  it("a streamed body whose trailing checksum is wrong stores nothing", async () => {
    const open = new S3Gateway({ keys: new StaticKeys(ACCESS, SECRET, dfs, true) });
    const openPort = await open.listen(0, "127.0.0.1");
    const data = randomBytes(3 * 1024 * 1024);
    const put = (key: string, checksum: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: openPort,
            method: "PUT",
            path: `/alpha/${key}`,
            headers: {
              "content-encoding": "aws-chunked",
              "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
              "x-amz-decoded-content-length": String(data.length),
              "x-amz-trailer": "x-amz-checksum-crc32",
              "transfer-encoding": "chunked",
            },
          },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        for (let at = 0; at < data.length; at += 65536) {
          const piece = data.subarray(at, at + 65536);
          req.write(`${piece.length.toString(16)}\r\n`);
          req.write(piece);
          req.write("\r\n");
        }
        req.end(`0\r\nx-amz-checksum-crc32:${checksum}\r\n\r\n`);
      });
    try {
      const good = Buffer.alloc(4);
      good.writeUInt32BE(crc32(data));
      const bad = await put("trailer/bad", "AAAAAA==");
      assert.equal(bad.status, 400, bad.body);
      assert.match(bad.body, /<Code>BadDigest<\/Code>/);
      const nothing = await s3Code(
        client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "trailer/bad" })),
      );
      assert.equal(nothing.status, 404);
      const ok = await put("trailer/good", good.toString("base64"));
      assert.equal(ok.status, 200, ok.body);
      const got = await client.send(new GetObjectCommand({ Bucket: "alpha", Key: "trailer/good" }));
      assert.ok((await bytesOf(got.Body)).equals(data));
    } finally {
      await open.close();
    }
  });

  it("accepts AWS's signed aws-chunked PutObject example byte for byte", async () => {
    // docs.aws.amazon.com "Signature Calculations for the Authorization Header:
    // Transferring Payload in Multiple Chunks": 65 KiB of 'a' in 64 KiB + 1 KiB chunks.
    const exampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const aws = new S3Gateway({
      keys: new StaticKeys("AKIAIOSFODNN7EXAMPLE", exampleSecret, dfs, false),
      now: () => Date.UTC(2013, 4, 24),
    });
    const awsPort = await aws.listen(0, "127.0.0.1");
    await dfs.put(".dfs-s3-buckets/examplebucket", new Uint8Array(0));
    const sigs = [
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ];
    const body = (tamper: boolean) => {
      const first = Buffer.alloc(65536, "a");
      if (tamper) first[5] = 0x62;
      return Buffer.concat([
        Buffer.from(`10000;chunk-signature=${sigs[0]}\r\n`),
        first,
        Buffer.from(`\r\n400;chunk-signature=${sigs[1]}\r\n`),
        Buffer.alloc(1024, "a"),
        Buffer.from(`\r\n0;chunk-signature=${sigs[2]}\r\n\r\n`),
      ]);
    };
    const put = (bytes: Buffer) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: awsPort,
            method: "PUT",
            path: "/examplebucket/chunkObject.txt",
            headers: {
              host: "s3.amazonaws.com",
              "x-amz-date": "20130524T000000Z",
              "x-amz-storage-class": "REDUCED_REDUNDANCY",
              authorization:
                "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
              "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
              "content-encoding": "aws-chunked",
              "x-amz-decoded-content-length": "66560",
              "content-length": String(bytes.length),
            },
          },
          (res) => {
            let text = "";
            res.on("data", (d) => (text += d));
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
          },
        );
        req.on("error", reject);
        req.end(bytes);
      });
    try {
      const tampered = await put(body(true));
      assert.equal(tampered.status, 403, tampered.body);
      assert.match(tampered.body, /SignatureDoesNotMatch/);
      assert.equal(await dfs.stat("examplebucket/chunkObject.txt").catch(() => null), null);
      const ok = await put(body(false));
      assert.equal(ok.status, 200, ok.body);
      const stored = await dfs.get("examplebucket/chunkObject.txt");
      assert.ok(Buffer.from(stored.value).equals(Buffer.alloc(66560, "a")));
    } finally {
      await aws.close();
    }
  });

  it("refuses bad signatures, unknown keys, bad digests and anonymous requests", async () => {
    const wrongSecret = s3(port, "not-the-secret");
    const bad = await s3Code(wrongSecret.send(new ListBucketsCommand({})));
    assert.deepEqual(bad, { name: "SignatureDoesNotMatch", status: 403 });
    wrongSecret.destroy();
    const unknown = s3(port, SECRET, "DFSNOSUCHKEY00000000");
    const who = await s3Code(unknown.send(new ListBucketsCommand({})));
    assert.deepEqual(who, { name: "InvalidAccessKeyId", status: 403 });
    unknown.destroy();
    const digest = await s3Code(
      client.send(
        new PutObjectCommand({
          Bucket: "alpha",
          Key: "bad/md5",
          Body: "payload",
          ContentMD5: createHash("md5").update("other").digest("base64"),
        }),
      ),
    );
    assert.deepEqual(digest, { name: "BadDigest", status: 400 });
    const stored = await s3Code(
      client.send(new HeadObjectCommand({ Bucket: "alpha", Key: "bad/md5" })),
    );
    assert.equal(stored.status, 404);
    const anonymous = await fetch(`http://127.0.0.1:${port}/alpha/docs/hello.txt`);
    assert.equal(anonymous.status, 403);
    assert.match(await anonymous.text(), /<Code>AccessDenied<\/Code>/);
    const acl = await fetch(`http://127.0.0.1:${port}/alpha?acl`);
    assert.equal(acl.status, 403); // authentication comes before dispatch
  });
});
