/**
 * Multipart uploads through the S3 endpoint with `@aws-sdk/client-s3` on a real 3-node
 * cluster: every multipart call, the S3 errors clients branch on, and 100 MiB in 5 MiB
 * parts with the leader SIGKILLed in the middle, once while parts go up and once while
 * Complete streams them into the object. Either way the upload completes or fails
 * cleanly: a watcher polling HeadObject the whole time never sees anything but "no such
 * key" or the whole object with its `-20` ETag, and a read returns every byte or none.
 *
 *   npm run build && node --import tsx --test test/integration/s3-multipart.test.ts
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import {
  S3_ACCESS_KEY,
  S3_REGION,
  S3_SECRET_KEY,
  type S3Cluster,
  startS3Cluster,
} from "../s3-clis/s3-cluster.ts";
import { Rng } from "../support/rng.ts";

const MiB = 1024 * 1024;
const seed = Number(process.env.DFS_TEST_SEED ?? Date.now() % 1_000_000);

function md5(b: Uint8Array): string {
  return createHash("md5").update(b).digest("hex");
}

function expectedEtag(parts: readonly Buffer[]): string {
  const h = createHash("md5");
  for (const p of parts) h.update(Buffer.from(md5(p), "hex"));
  return `"${h.digest("hex")}-${parts.length}"`;
}

function seededBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(rng.float() * 2 ** 32), i);
  return b;
}

describe("S3 multipart uploads on a real cluster", { timeout: 900_000 }, () => {
  let s3: S3Cluster;
  const clients: S3Client[] = [];

  /** An SDK client talking to node `id`'s S3 port. */
  function clientOf(id: number): S3Client {
    const c = new S3Client({
      endpoint: `http://127.0.0.1:${s3.s3Ports.get(id)}`,
      region: S3_REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: S3_ACCESS_KEY, secretAccessKey: S3_SECRET_KEY },
      maxAttempts: 5,
    });
    clients.push(c);
    return c;
  }

  /** Every dfs key still staged for bucket `mpu` (parts, records), read natively. */
  async function staged(): Promise<string[]> {
    const dfs = s3.cluster.client();
    try {
      const names: string[] = [];
      for await (const e of dfs.list(".dfs-s3-multipart/mpu", { recursive: true }))
        names.push(e.name);
      return names;
    } finally {
      dfs.close();
    }
  }

  /** The applied index node `id` reports (0 when it does not answer). */
  async function appliedOn(id: number): Promise<number> {
    return (await s3.cluster.status(s3.cluster.node(id)))?.appliedIndex ?? 0;
  }

  /** A client on a node that is not the leader, so killing the leader spares the gateway. */
  async function followerClient(): Promise<{ client: S3Client; leader: number }> {
    const leader = await s3.cluster.waitForLeader();
    const other = s3.cluster.ids().find((id) => id !== leader) as number;
    return { client: clientOf(other), leader };
  }

  before(async () => {
    console.log(`seed ${seed} (replay: DFS_TEST_SEED=${seed})`);
    s3 = await startS3Cluster();
    await clientOf(1).send(new CreateBucketCommand({ Bucket: "mpu" }));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await s3?.destroy();
  });

  it("create, upload parts, list parts and uploads, copy a part, complete with the -N ETag", async () => {
    const s = clientOf(1);
    const rng = new Rng(seed);
    const a = seededBytes(rng, 5 * MiB);
    const b = seededBytes(rng, 1000);
    await s.send(new PutObjectCommand({ Bucket: "mpu", Key: "src.bin", Body: a }));
    const { UploadId } = await s.send(
      new CreateMultipartUploadCommand({
        Bucket: "mpu",
        Key: "dir/obj.bin",
        ContentType: "application/x-test",
        Metadata: { color: "blue" },
      }),
    );
    assert.ok(UploadId);
    const p1 = await s.send(
      new UploadPartCommand({
        Bucket: "mpu",
        Key: "dir/obj.bin",
        UploadId,
        PartNumber: 1,
        Body: a,
      }),
    );
    assert.equal(p1.ETag, `"${md5(a)}"`);
    const p2 = await s.send(
      new UploadPartCopyCommand({
        Bucket: "mpu",
        Key: "dir/obj.bin",
        UploadId,
        PartNumber: 2,
        CopySource: "mpu/src.bin",
        CopySourceRange: "bytes=100-1099",
      }),
    );
    assert.equal(p2.CopyPartResult?.ETag, `"${md5(a.subarray(100, 1100))}"`);
    const p3 = await s.send(
      new UploadPartCommand({
        Bucket: "mpu",
        Key: "dir/obj.bin",
        UploadId,
        PartNumber: 3,
        Body: b,
      }),
    );
    const parts = await s.send(
      new ListPartsCommand({ Bucket: "mpu", Key: "dir/obj.bin", UploadId }),
    );
    assert.deepEqual(
      parts.Parts?.map((p) => [p.PartNumber, p.Size, p.ETag]),
      [
        [1, 5 * MiB, p1.ETag],
        [2, 1000, p2.CopyPartResult?.ETag],
        [3, 1000, p3.ETag],
      ],
    );
    const uploads = await s.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
    assert.deepEqual(
      uploads.Uploads?.map((u) => [u.Key, u.UploadId]),
      [["dir/obj.bin", UploadId]],
    );
    await assert.rejects(
      s.send(new HeadObjectCommand({ Bucket: "mpu", Key: "dir/obj.bin" })),
      (e: Error) => e.name === "NotFound",
      "nothing is visible before Complete",
    );
    // A middle part under 5 MiB is refused; the upload stays open.
    await assert.rejects(
      s.send(
        new CompleteMultipartUploadCommand({
          Bucket: "mpu",
          Key: "dir/obj.bin",
          UploadId,
          MultipartUpload: {
            Parts: [
              { PartNumber: 2, ETag: p2.CopyPartResult?.ETag },
              { PartNumber: 3, ETag: p3.ETag },
            ],
          },
        }),
      ),
      (e: Error) => e.name === "EntityTooSmall",
    );
    await assert.rejects(
      s.send(
        new CompleteMultipartUploadCommand({
          Bucket: "mpu",
          Key: "dir/obj.bin",
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: `"${"0".repeat(32)}"` }] },
        }),
      ),
      (e: Error) => e.name === "InvalidPart",
    );
    const done = await s.send(
      new CompleteMultipartUploadCommand({
        Bucket: "mpu",
        Key: "dir/obj.bin",
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 3, ETag: p3.ETag },
          ],
        },
      }),
    );
    const want = Buffer.concat([a, b]);
    assert.equal(done.ETag, expectedEtag([a, b]));
    const got = await s.send(new GetObjectCommand({ Bucket: "mpu", Key: "dir/obj.bin" }));
    assert.ok(
      Buffer.from(
        await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      ).equals(want),
    );
    assert.equal(got.ETag, done.ETag);
    assert.equal(got.ContentType, "application/x-test");
    assert.deepEqual(got.Metadata, { color: "blue" });
    const left = await s.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
    assert.equal(left.Uploads?.length ?? 0, 0, "the staging is gone after Complete");
    assert.deepEqual(await staged(), [], "no part or record is left in dfs");
    await assert.rejects(
      s.send(new ListPartsCommand({ Bucket: "mpu", Key: "dir/obj.bin", UploadId })),
      (e: Error) => e.name === "NoSuchUpload",
    );
  });

  it("abort removes the upload and its parts; parts of an aborted upload are refused", async () => {
    const s = clientOf(1);
    const { UploadId } = await s.send(
      new CreateMultipartUploadCommand({ Bucket: "mpu", Key: "gone" }),
    );
    await s.send(
      new UploadPartCommand({
        Bucket: "mpu",
        Key: "gone",
        UploadId,
        PartNumber: 1,
        Body: Buffer.from("x"),
      }),
    );
    await s.send(new AbortMultipartUploadCommand({ Bucket: "mpu", Key: "gone", UploadId }));
    await assert.rejects(
      s.send(
        new UploadPartCommand({
          Bucket: "mpu",
          Key: "gone",
          UploadId,
          PartNumber: 2,
          Body: Buffer.from("y"),
        }),
      ),
      (e: Error) => e.name === "NoSuchUpload",
    );
    const left = await s.send(new ListMultipartUploadsCommand({ Bucket: "mpu" }));
    assert.equal(left.Uploads?.length ?? 0, 0);
    assert.deepEqual(await staged(), [], "abort leaves nothing in dfs");
  });

  for (const when of ["while parts go up", "during Complete"] as const) {
    it(`100 MiB in 5 MiB parts, leader SIGKILLed ${when}: whole object or none, never half`, async () => {
      const rng = new Rng(seed + (when === "during Complete" ? 1 : 0));
      const parts = Array.from({ length: 20 }, () => seededBytes(rng, 5 * MiB));
      const key = `big-${when.replaceAll(" ", "-")}.bin`;
      const { client: s, leader } = await followerClient();
      const want = expectedEtag(parts);
      const seen: string[] = [];
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          try {
            const h = await s.send(new HeadObjectCommand({ Bucket: "mpu", Key: key }));
            seen.push(`${h.ContentLength}:${h.ETag}`);
          } catch (e) {
            seen.push((e as Error).name);
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const { UploadId } = await s.send(
        new CreateMultipartUploadCommand({ Bucket: "mpu", Key: key }),
      );
      try {
        const etags: string[] = [];
        let killed = false;
        let outcome: "completed" | "failed" = "failed";
        try {
          for (const [i, body] of parts.entries()) {
            if (when === "while parts go up" && i === 10) {
              await s3.cluster.kill(leader);
              killed = true;
            }
            const r = await s.send(
              new UploadPartCommand({
                Bucket: "mpu",
                Key: key,
                UploadId,
                PartNumber: i + 1,
                Body: body,
              }),
            );
            etags.push(r.ETag as string);
          }
          const appliedBefore = await appliedOn(leader);
          const completing = s.send(
            new CompleteMultipartUploadCommand({
              Bucket: "mpu",
              Key: key,
              UploadId,
              MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
            }),
          );
          if (when === "during Complete") {
            let settled = false;
            completing.then(
              () => (settled = true),
              () => (settled = true),
            );
            // Kill once the leader commits the Complete's first chunks: mid-stream, whatever
            // the machine's speed (100 chunks of 1 MiB still to go).
            const deadline = Date.now() + 30_000;
            while ((await appliedOn(leader)) < appliedBefore + 3 && !settled) {
              assert.ok(Date.now() < deadline, "the leader never applied the Complete's chunks");
              await new Promise((r) => setTimeout(r, 5));
            }
            assert.ok(!settled, "Complete still streams the parts when the leader dies");
            await s3.cluster.kill(leader);
            killed = true;
          }
          const done = await completing;
          assert.equal(done.ETag, want);
          outcome = "completed";
        } catch (error) {
          console.log(
            `upload failed (${when}): ${(error as Error).name}: ${(error as Error).message}`,
          );
        }
        watching = false;
        await watcher;
        assert.ok(killed, "the leader was killed");
        console.log(`${when}: ${outcome}; watcher saw ${[...new Set(seen)].join(", ")}`);
        // Errors (NotFound, or 503 while there is no leader) are fine; an object seen is whole.
        for (const v of seen.filter((x) => x.includes(":")))
          assert.equal(v, `${100 * MiB}:${want}`, "a visible object is the whole object");
        if (outcome === "completed") {
          const got = await s.send(new GetObjectCommand({ Bucket: "mpu", Key: key }));
          const bytes = Buffer.from(
            await (
              got.Body as { transformToByteArray(): Promise<Uint8Array> }
            ).transformToByteArray(),
          );
          assert.ok(bytes.equals(Buffer.concat(parts)), "every byte, in order");
        } else {
          // Failed for the client; the one upload may still have committed: all or nothing.
          const after = await s
            .send(new HeadObjectCommand({ Bucket: "mpu", Key: key }))
            .then((h) => `${h.ContentLength}:${h.ETag}`)
            .catch((e: Error) => e.name);
          assert.ok(after === "NotFound" || after === `${100 * MiB}:${want}`, after);
        }
      } finally {
        await s3.cluster.restart(leader);
        await s3.cluster.waitForLeader();
      }
    });
  }
});
