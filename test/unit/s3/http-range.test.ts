/** Range and conditional headers as S3 applies them (first/last byte, suffix, 416, 304/412). */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkConditionals, parseRange } from "../../../src/s3/http-range.ts";

describe("parseRange", () => {
  it("resolves first byte, last byte, open-ended and suffix ranges", () => {
    assert.deepEqual(parseRange("bytes=0-0", 10), { offset: 0, length: 1 });
    assert.deepEqual(parseRange("bytes=9-9", 10), { offset: 9, length: 1 });
    assert.deepEqual(parseRange("bytes=3-", 10), { offset: 3, length: 7 });
    assert.deepEqual(parseRange("bytes=-4", 10), { offset: 6, length: 4 });
    assert.deepEqual(parseRange("bytes=-40", 10), { offset: 0, length: 10 });
    assert.deepEqual(parseRange("bytes=5-400", 10), { offset: 5, length: 5 });
  });

  it("is unsatisfiable (416) from the first byte past the end, and on empty objects", () => {
    assert.throws(() => parseRange("bytes=10-12", 10), /not satisfiable/);
    assert.throws(() => parseRange("bytes=10-", 10), /not satisfiable/);
    assert.throws(() => parseRange("bytes=-0", 10), /not satisfiable/);
    assert.throws(() => parseRange("bytes=0-0", 0), /not satisfiable/);
  });

  it("serves the whole object for absent, malformed, reversed or multiple ranges", () => {
    assert.equal(parseRange(undefined, 10), null);
    assert.equal(parseRange("bytes=5-2", 10), null);
    assert.equal(parseRange("items=0-1", 10), null);
    assert.equal(parseRange("bytes=0-1,4-5", 10), null);
  });
});

describe("checkConditionals", () => {
  const etag = '"abc"';
  const t = Date.UTC(2026, 0, 1, 12, 0, 0, 500);
  it("If-None-Match and If-Modified-Since give 304", () => {
    assert.equal(checkConditionals({ "if-none-match": '"abc"' }, etag, t), "not-modified");
    assert.equal(checkConditionals({ "if-none-match": "*" }, etag, t), "not-modified");
    assert.equal(checkConditionals({ "if-none-match": '"x"' }, etag, t), "serve");
    const same = new Date(t).toUTCString();
    assert.equal(checkConditionals({ "if-modified-since": same }, etag, t), "not-modified");
    const before = new Date(t - 2000).toUTCString();
    assert.equal(checkConditionals({ "if-modified-since": before }, etag, t), "serve");
  });

  it("If-Match and If-Unmodified-Since give 412; If-Match wins over the date", () => {
    assert.throws(() => checkConditionals({ "if-match": '"x"' }, etag, t), /pre-conditions/);
    const before = new Date(t - 2000).toUTCString();
    assert.throws(
      () => checkConditionals({ "if-unmodified-since": before }, etag, t),
      /pre-conditions/,
    );
    assert.equal(
      checkConditionals({ "if-match": '"abc"', "if-unmodified-since": before }, etag, t),
      "serve",
    );
  });
});
