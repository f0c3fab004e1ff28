/**
 * The SigV4 signing key S3Credentials hands out (src/server/s3-credentials.ts), against
 * the worked example of AWS's documentation ("Examples of how to derive a signing key for
 * Signature Version 4"): a wrong order of the chain or a missing "AWS4" fails it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sigV4SigningKey } from "../../../src/server/s3-credentials.ts";

test("the signing key of AWS's documented example", () => {
  const key = sigV4SigningKey(
    "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    "20120215",
    "us-east-1",
    "iam",
  );
  assert.equal(
    key.toString("hex"),
    "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d",
  );
});

test("each part of the scope changes the key", () => {
  const base = sigV4SigningKey("s", "20261207", "us-east-1", "s3").toString("hex");
  for (const other of [
    sigV4SigningKey("t", "20261207", "us-east-1", "s3"),
    sigV4SigningKey("s", "20261208", "us-east-1", "s3"),
    sigV4SigningKey("s", "20261207", "eu-west-1", "s3"),
    sigV4SigningKey("s", "20261207", "us-east-1", "iam"),
  ])
    assert.notEqual(other.toString("hex"), base);
});
