/**
 * `dfs server --s3-port` (issue 21): the gateway in a node's own process, spoken to by
 * @aws-sdk/client-s3. With the cluster's auth off it takes the static key pair from
 * DFS_S3_ACCESS_KEY/DFS_S3_SECRET_KEY; once `auth enable` runs, that key stops working
 * and a dfs user's S3 access key (from `s3_key_add`) acts as that user, within that
 * user's permissions (AccessDenied outside them).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { LocalCluster, waitFor } from "../../src/cluster/index.ts";

const STATIC = {
  accessKeyId: "DFSSTATICKEY00000001",
  secretAccessKey: "static-secret-0123456789abcdefghijklmnop",
};
const ROOT_PW = "root-pw-s3";

function s3(port: number, credentials: { accessKeyId: string; secretAccessKey: string }) {
  return new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials,
    maxAttempts: 1,
  });
}

async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    assert.ok(error instanceof S3ServiceException, String(error));
    return `${error.$metadata.httpStatusCode} ${error.name}`;
  }
  return "ok";
}

describe("dfs server --s3-port", () => {
  let cluster: LocalCluster;
  let port = 0;
  let aliceKey: { accessKey: string; secret: string } | undefined;

  before(async () => {
    cluster = await LocalCluster.start({
      nodeArgs: (node) => (node.id === 1 ? ["--s3-port", "0", "--s3-host", "127.0.0.1"] : []),
      env: {
        ...process.env,
        DFS_S3_ACCESS_KEY: STATIC.accessKeyId,
        DFS_S3_SECRET_KEY: STATIC.secretAccessKey,
        DFS_USER: `root:${ROOT_PW}`,
      },
      onLine: (_node, line) => {
        const m = /S3 gateway on http:\/\/[^:]+:(\d+)/.exec(line);
        if (m) port = Number(m[1]);
      },
    });
    await waitFor("the S3 gateway's start line", () => (port !== 0 ? true : undefined), 20_000);
  });

  after(async () => {
    await cluster?.stop(5000);
  });

  it("serves S3 with the static key while auth is off, then dfs users' keys once on", async () => {
    const open = s3(port, STATIC);
    await open.send(new CreateBucketCommand({ Bucket: "alpha" }));
    await open.send(new CreateBucketCommand({ Bucket: "beta" }));
    await open.send(new PutObjectCommand({ Bucket: "alpha", Key: "a/1", Body: "one" }));
    const got = await open.send(new GetObjectCommand({ Bucket: "alpha", Key: "a/1" }));
    assert.equal(await got.Body?.transformToString(), "one");

    const admin = cluster.client();
    await admin.authChange({ op: "user_add", name: "root", password: ROOT_PW });
    await admin.authChange({ op: "user_add", name: "alice", password: "alice-pw" });
    await admin.authChange({ op: "role_add", name: "alpha-rw" });
    await admin.authChange({
      op: "role_grant",
      role: "alpha-rw",
      permission: { key: "alpha/", prefix: true, read: true, write: true, list: true },
    });
    await admin.authChange({ op: "user_grant_role", name: "alice", role: "alpha-rw" });
    const { s3Key } = await admin.authChange({ op: "s3_key_add", user: "alice" });
    assert.ok(s3Key !== undefined);
    aliceKey = s3Key;
    await admin.authChange({ op: "enable" });
    admin.close();

    const alice = s3(port, { accessKeyId: s3Key.accessKey, secretAccessKey: s3Key.secret });
    // Her key works as soon as node 1 applied the enable: an unknown key makes the
    // gateway look at the auth switch again (at most every 0.5 s), not after 5 s.
    const enabledAt = Date.now();
    await waitFor(
      "alice's key accepted",
      async () =>
        (await failure(alice.send(new ListBucketsCommand({})))) === "ok" ? true : undefined,
      4_000,
    );
    console.log(`# alice's key accepted ${Date.now() - enabledAt} ms after auth enable`);
    await alice.send(new PutObjectCommand({ Bucket: "alpha", Key: "a/2", Body: "two" }));
    const two = await alice.send(new GetObjectCommand({ Bucket: "alpha", Key: "a/2" }));
    assert.equal(await two.Body?.transformToString(), "two");
    const listed = await alice.send(new ListObjectsV2Command({ Bucket: "alpha", Prefix: "a/" }));
    assert.deepEqual(
      listed.Contents?.map((c) => c.Key),
      ["a/1", "a/2"],
    );
    assert.equal(
      await failure(alice.send(new PutObjectCommand({ Bucket: "beta", Key: "x", Body: "no" }))),
      "403 AccessDenied",
    );
    assert.equal(
      await failure(alice.send(new GetObjectCommand({ Bucket: "beta", Key: "x" }))),
      "403 AccessDenied",
    );
    const wrong = s3(port, { accessKeyId: s3Key.accessKey, secretAccessKey: "x".repeat(40) });
    assert.equal(
      await failure(wrong.send(new ListBucketsCommand({}))),
      "403 SignatureDoesNotMatch",
    );
    wrong.destroy();
    // The static key stops working once the gateway sees auth on (rechecked every 5 s).
    let last = "";
    await waitFor(
      "the static key refused after auth enable",
      async () => {
        last = await failure(open.send(new ListBucketsCommand({})));
        return last.startsWith("403") ? true : undefined;
      },
      15_000,
    );
    assert.equal(last, "403 InvalidAccessKeyId");
    open.destroy();
    alice.destroy();
  });

  it("dfs gateway: a standalone gateway with an admin user maps the same keys", async () => {
    assert.ok(aliceKey !== undefined, "runs after the test that made alice's key");
    const child = spawn(
      process.execPath,
      [
        "bin/dfs.mjs",
        "gateway",
        "--endpoints",
        cluster.endpoints().join(","),
        "--s3-port",
        "0",
        "--s3-host",
        "127.0.0.1",
        "--user",
        `root:${ROOT_PW}`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    try {
      const gatewayPort = await waitFor(
        "dfs gateway's start line",
        () => {
          const m =
            /S3 gateway on http:\/\/[^:]+:(\d+) for .* \(auth on: access keys of dfs users\)/.exec(
              stderr,
            );
          return m ? Number(m[1]) : undefined;
        },
        20_000,
      );
      const alice = s3(gatewayPort, {
        accessKeyId: aliceKey.accessKey,
        secretAccessKey: aliceKey.secret,
      });
      const listed = await alice.send(new ListObjectsV2Command({ Bucket: "alpha", Prefix: "a/" }));
      assert.deepEqual(
        listed.Contents?.map((c) => c.Key),
        ["a/1", "a/2"],
      );
      assert.equal(
        await failure(alice.send(new GetObjectCommand({ Bucket: "beta", Key: "x" }))),
        "403 AccessDenied",
      );
      alice.destroy();
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    assert.match(stderr, /S3 gateway stopping \(SIGTERM\)/);
  });
});
