/**
 * SigV4 verification against AWS's published S3 examples (GetObject with a Range header,
 * and the presigned GET of the same object), and the refusals: a changed header, an
 * expired URL, a skewed clock, Signature V2.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkTime,
  parseClaims,
  type SignedRequest,
  signingKey,
  verifySignature,
} from "../../../src/s3/sigv4.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const KEY = signingKey(SECRET, "20130524", "us-east-1", "s3");
const WHEN = Date.UTC(2013, 4, 24, 0, 0, 0);
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function headerRequest(overrides: Record<string, string> = {}): SignedRequest {
  return {
    method: "GET",
    rawPath: "/test.txt",
    rawQuery: "",
    headers: {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      ...overrides,
    },
  };
}

const PRESIGNED_QUERY =
  "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";

function verify(req: SignedRequest, now = WHEN): void {
  const claims = parseClaims(req, new URLSearchParams(req.rawQuery));
  assert.ok(claims !== null);
  checkTime(claims, now);
  verifySignature(req, claims, KEY);
}

describe("SigV4", () => {
  it("accepts AWS's GetObject example (Authorization header)", () => {
    verify(headerRequest());
  });

  it("refuses the example with a changed signed header", () => {
    assert.throws(() => verify(headerRequest({ range: "bytes=0-10" })), /signature we calculated/);
  });

  it("refuses a request 16 minutes off the gateway's clock", () => {
    assert.throws(() => verify(headerRequest(), WHEN + 16 * 60_000), /too large/);
    verify(headerRequest(), WHEN + 14 * 60_000);
  });

  it("accepts AWS's presigned GET example, until it expires", () => {
    const req: SignedRequest = {
      method: "GET",
      rawPath: "/test.txt",
      rawQuery: PRESIGNED_QUERY,
      headers: { host: "examplebucket.s3.amazonaws.com" },
    };
    verify(req);
    verify(req, WHEN + 86_399_000);
    assert.throws(() => verify(req, WHEN + 86_401_000), /expired/);
    assert.throws(() => verify({ ...req, rawPath: "/other.txt" }), /signature we calculated/);
  });

  it("refuses Signature Version 2 with a clear message", () => {
    const req = headerRequest({ authorization: "AWS AKIAIOSFODNN7EXAMPLE:abc=" });
    assert.throws(() => parseClaims(req, new URLSearchParams()), /Version 2 is not supported/);
  });

  it("treats a request without signature as anonymous", () => {
    const req: SignedRequest = { method: "GET", rawPath: "/b/k", rawQuery: "", headers: {} };
    assert.equal(parseClaims(req, new URLSearchParams()), null);
  });
});
