/** The S3 router: the most specific route wins, sub-resources are never misread. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type S3Route, S3Router } from "../../../src/s3/router.ts";

const noop = async () => {};
const routes: S3Route[] = [
  { name: "PutObject", method: "PUT", target: "object", handler: noop },
  {
    name: "CopyObject",
    method: "PUT",
    target: "object",
    header: "x-amz-copy-source",
    handler: noop,
  },
  {
    name: "UploadPart",
    method: "PUT",
    target: "object",
    query: ["partNumber", "uploadId"],
    handler: noop,
  },
  {
    name: "UploadPartCopy",
    method: "PUT",
    target: "object",
    query: ["partNumber", "uploadId"],
    header: "x-amz-copy-source",
    handler: noop,
  },
  {
    name: "ListObjectsV2",
    method: "GET",
    target: "bucket",
    queryValues: { "list-type": "2" },
    handler: noop,
  },
  { name: "ListObjects", method: "GET", target: "bucket", handler: noop },
];
const router = new S3Router(routes);
const pick = (method: string, target: "bucket" | "object", query: string, headers = {}) =>
  router.match({ method, target, query: new URLSearchParams(query), headers }).name;

describe("S3Router", () => {
  it("chooses the most specific route", () => {
    assert.equal(pick("PUT", "object", ""), "PutObject");
    assert.equal(pick("PUT", "object", "", { "x-amz-copy-source": "/b/k" }), "CopyObject");
    assert.equal(pick("PUT", "object", "partNumber=1&uploadId=u"), "UploadPart");
    assert.equal(
      pick("PUT", "object", "partNumber=1&uploadId=u", { "x-amz-copy-source": "/b/k" }),
      "UploadPartCopy",
    );
    assert.equal(pick("GET", "bucket", "list-type=2&prefix=a"), "ListObjectsV2");
    assert.equal(pick("GET", "bucket", "prefix=a"), "ListObjects");
  });

  it("refuses a sub-resource no route claims instead of serving the plain call", () => {
    assert.throws(() => pick("PUT", "object", "acl"), /NotImplemented|not implemented/);
    assert.throws(() => pick("PUT", "object", "uploadId=u"), /not implemented/);
    assert.throws(() => pick("DELETE", "object", ""), /not allowed/);
  });

  it("refuses two routes with the same requirements at registration", () => {
    assert.throws(
      () => new S3Router([routes[0] as S3Route, { ...(routes[0] as S3Route), name: "Dup" }]),
      /collide/,
    );
  });
});
