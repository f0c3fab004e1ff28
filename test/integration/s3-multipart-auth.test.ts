/**
 * Multipart uploads with the cluster's auth on (docs/s3-multipart.md#with-auth-on): the
 * gateway stages parts as the user the access key maps to, so a user needs a grant on
 * `.dfs-s3-multipart/<bucket>/` besides the bucket. A user with both completes an upload;
 * a user with only the bucket is refused at once (403), before any part is sent.
 *
 *   node --import tsx --test test/integration/s3-multipart-auth.test.ts
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";
import { S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY } from "../s3-clis/s3-cluster.ts";

const ROOT_PW = "root-pw-multipart";
const MiB = 1024 * 1024;

describe("S3 multipart with auth on", { timeout: 300_000 }, () => {
  let cluster: LocalCluster;
  let port = 0;
  const clients: S3Client[] = [];

  function s3(accessKeyId: string, secretAccessKey: string): S3Client {
    const c = new S3Client({
      endpoint: `http://127.0.0.1:${port}`,
      region: S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId, secretAccessKey },
    });
    clients.push(c);
    return c;
  }

  before(async () => {
    cluster = await LocalCluster.start({
      nodeArgs: (node) => (node.id === 1 ? ["--s3-port", "0", "--s3-host", "127.0.0.1"] : []),
      env: {
        ...process.env,
        DFS_S3_ACCESS_KEY: S3_ACCESS_KEY,
        DFS_S3_SECRET_KEY: S3_SECRET_KEY,
        DFS_USER: `root:${ROOT_PW}`,
      },
      onLine: (_node, line) => {
        const m = /S3 gateway on http:\/\/[^:]+:(\d+)/.exec(line);
        if (m) port = Number(m[1]);
      },
    });
    await waitFor("the S3 gateway's start line", () => (port !== 0 ? true : undefined), 30_000);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await cluster?.destroy();
  });

  it("needs a grant on the bucket's staging prefix; with it, completes the object", async () => {
    const open = s3(S3_ACCESS_KEY, S3_SECRET_KEY);
    await open.send(new CreateBucketCommand({ Bucket: "alpha" }));
    // A bucket with a key in it is visible to whoever may list under it (docs/s3.md).
    await open.send(new PutObjectCommand({ Bucket: "alpha", Key: "first", Body: "x" }));
    const admin = cluster.client();
    await admin.authChange({ op: "user_add", name: "root", password: ROOT_PW });
    const keys: Record<string, { accessKey: string; secret: string }> = {};
    for (const [user, staging] of [
      ["alice", true],
      ["bob", false],
    ] as const) {
      await admin.authChange({ op: "user_add", name: user, password: `${user}-pw` });
      await admin.authChange({ op: "role_add", name: `${user}-role` });
      const grants = staging ? ["alpha/", ".dfs-s3-multipart/alpha/"] : ["alpha/"];
      for (const key of grants)
        await admin.authChange({
          op: "role_grant",
          role: `${user}-role`,
          permission: { key, prefix: true, read: true, write: true, list: true },
        });
      await admin.authChange({ op: "user_grant_role", name: user, role: `${user}-role` });
      const { s3Key } = await admin.authChange({ op: "s3_key_add", user });
      assert.ok(s3Key !== undefined);
      keys[user] = s3Key;
    }
    await admin.authChange({ op: "enable" });
    admin.close();
    const alice = s3(keys.alice?.accessKey ?? "", keys.alice?.secret ?? "");
    const bob = s3(keys.bob?.accessKey ?? "", keys.bob?.secret ?? "");

    let created: { UploadId?: string } = {};
    await waitFor(
      "alice's key accepted",
      async () => {
        try {
          created = await alice.send(
            new CreateMultipartUploadCommand({ Bucket: "alpha", Key: "big.bin" }),
          );
          return true;
        } catch (error) {
          if (error instanceof S3ServiceException && error.name === "InvalidAccessKeyId")
            return undefined;
          throw error;
        }
      },
      15_000,
    );
    const UploadId = created.UploadId;
    const parts = [randomBytes(5 * MiB), randomBytes(1000)];
    const etags: string[] = [];
    for (const [i, Body] of parts.entries()) {
      const r = await alice.send(
        new UploadPartCommand({
          Bucket: "alpha",
          Key: "big.bin",
          UploadId,
          PartNumber: i + 1,
          Body,
        }),
      );
      etags.push(r.ETag as string);
    }
    const done = await alice.send(
      new CompleteMultipartUploadCommand({
        Bucket: "alpha",
        Key: "big.bin",
        UploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
      }),
    );
    assert.match(done.ETag ?? "", /-2"$/);
    const got = await alice.send(new GetObjectCommand({ Bucket: "alpha", Key: "big.bin" }));
    assert.ok(
      Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      ).equals(Buffer.concat(parts)),
    );

    await assert.rejects(
      bob.send(new CreateMultipartUploadCommand({ Bucket: "alpha", Key: "b.bin" })),
      (e: Error) => e instanceof S3ServiceException && e.$metadata.httpStatusCode === 403,
      "bob, without the staging grant, is refused before sending a part",
    );
  });
});
