/**
 * The pure parts of multipart uploads: the `-N` ETag clients recompute, part numbers,
 * the staging layout's order, and UploadPartCopy's source and range parsing.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import type { DfsClient } from "../../../src/client/index.ts";
import { parseCopyRange } from "../../../src/s3/multipart-copy.ts";
import {
  isUploadId,
  multipartEtag,
  newUploadId,
  parsePartNumber,
  partDataKey,
  unquoteEtag,
} from "../../../src/s3/multipart-layout.ts";
import { MULTIPART_UPLOADS_PER_CLIENT, withUploadSlot } from "../../../src/s3/multipart-slots.ts";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

describe("multipart arithmetic", () => {
  it("the ETag is MD5 over the binary part MD5s, then -N (a known vector)", () => {
    assert.equal(multipartEtag([md5("a"), md5("b")]), "96e024ba2074fe77e8e965ba43a704be-2");
    assert.match(multipartEtag([md5("a")]), /-1$/);
  });

  it("part numbers are integers 1..10000 only", () => {
    assert.equal(parsePartNumber("1"), 1);
    assert.equal(parsePartNumber("10000"), 10000);
    for (const bad of ["0", "10001", "-1", "1.5", "", "x", "001x", null, undefined])
      assert.equal(parsePartNumber(bad), null, String(bad));
  });

  it("staged parts sort in part order; upload ids are 32 hex digits", () => {
    const keys = [10, 2, 1, 10000, 99].map((n) => partDataKey("b", "u", n));
    assert.deepEqual(
      [...keys].sort().map((k) => Number(k.split("/").at(-1))),
      [1, 2, 10, 99, 10000],
    );
    assert.ok(isUploadId(newUploadId()));
    assert.ok(!isUploadId("../x") && !isUploadId(""));
    assert.equal(unquoteEtag(' "ABC" '), "abc");
    assert.equal(unquoteEtag("&#34;abc&#34;"), "abc", "rclone's Go XML escapes the quotes");
    assert.equal(unquoteEtag("&quot;abc&quot;"), "abc");
  });
});

describe("UploadPartCopy sources", () => {
  it("parses bytes=A-B inclusive and refuses anything else", () => {
    assert.equal(parseCopyRange(undefined), null);
    assert.deepEqual(parseCopyRange("bytes=0-0"), { first: 0, last: 0 });
    for (const bad of ["bytes=5-4", "bytes=-4", "bytes=1-", "items=0-1"])
      assert.throws(() => parseCopyRange(bad));
  });
});

describe("multipart upload slots", () => {
  it("runs at most MULTIPART_UPLOADS_PER_CLIENT uploads of one client at once, in order, freeing slots on failure", async () => {
    const client = {} as DfsClient;
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const work = (i: number) => async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      order.push(i);
      if (i % 3 === 0) throw new Error("failed upload");
    };
    const all = Array.from({ length: 20 }, (_, i) =>
      withUploadSlot(client, work(i)).catch(() => undefined),
    );
    await Promise.all(all);
    assert.equal(peak, MULTIPART_UPLOADS_PER_CLIENT);
    assert.equal(order.length, 20, "failures give their slot back");
    const other = {} as DfsClient;
    assert.equal(await withUploadSlot(other, async () => "own slots"), "own slots");
  });
});
