/**
 * RESOURCE_EXHAUSTED means two things in gRPC: a message over a size limit (that request
 * can never succeed: `too_large`) and a server's resource bound (retry later:
 * `resource_exhausted`). The `dfs-error` trailer decides when present; without one, only
 * grpc-js's "larger than max" wording is `too_large`, and neither is retried.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import {
  ERROR_CODE_METADATA,
  MemberChangeError,
  REASON_METADATA,
} from "../../../src/api/errors.ts";
import { classifyFailure } from "../../../src/client/grpc-errors.ts";
import { toServiceError } from "../../../src/server/grpc-errors.ts";

function exhausted(details: string, trailer?: string): ServiceError {
  const metadata = new Metadata();
  if (trailer !== undefined) metadata.set(ERROR_CODE_METADATA, trailer);
  return Object.assign(new Error(details), { code: status.RESOURCE_EXHAUSTED, details, metadata });
}

test("RESOURCE_EXHAUSTED: trailer first, then grpc-js's size wording; never retried", () => {
  const cases: [ServiceError, string][] = [
    [
      exhausted("too many uploads at once on this node (limit 32)", "resource_exhausted"),
      "resource_exhausted",
    ],
    [exhausted("value is 2000000 bytes; the limit is 1048576", "too_large"), "too_large"],
    [exhausted("Received message larger than max (3145800 vs. 1114112)"), "too_large"],
    [exhausted("Sent message larger than max (3145800 vs. 1114112)"), "too_large"],
    [exhausted("Bandwidth exhausted or memory limit exceeded"), "resource_exhausted"],
  ];
  for (const [error, code] of cases) {
    const failure = classifyFailure(error);
    assert.equal(failure.error.code, code, error.details);
    assert.equal(failure.action, "fail", error.details);
  }
});

test("a refused membership change round-trips with its reason; an unknown reason is plain", () => {
  const wire = toServiceError(
    new MemberChangeError("learner_lagging", "learner 4 is 900 entries behind the leader"),
  );
  const error = Object.assign(new Error(wire.details), wire) as ServiceError;
  assert.equal(error.code, status.FAILED_PRECONDITION);
  const failure = classifyFailure(error);
  assert.ok(failure.error instanceof MemberChangeError);
  assert.equal(failure.error.reason, "learner_lagging");
  assert.equal(failure.error.code, "precondition_failed");
  assert.equal(failure.error.message, "learner 4 is 900 entries behind the leader");
  assert.equal(failure.action, "fail");
  error.metadata.set(REASON_METADATA, "made_up");
  const plain = classifyFailure(error).error;
  assert.equal(plain instanceof MemberChangeError, false, "only known reasons are trusted");
  assert.equal(plain.code, "precondition_failed");
});
