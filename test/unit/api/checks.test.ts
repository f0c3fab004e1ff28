/**
 * The key and value checks that client and server share (src/api/checks.ts): one code
 * and one message for each refusal, whichever side makes it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checkKey,
  checkValueSize,
  DfsError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
} from "../../../src/api/index.ts";

function refusal(fn: () => void): DfsError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof DfsError, `not a DfsError: ${String(err)}`);
    return err;
  }
  assert.fail("expected a refusal");
}

describe("checkKey", () => {
  test("accepts path-like keys", () => {
    for (const key of ["a", "photos/2026/cat.jpg", "x".repeat(MAX_KEY_BYTES), "ünï/cødé"]) {
      checkKey(key);
    }
  });

  test("refuses each broken rule as invalid_argument, quoting the key", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /^invalid key '': key is empty$/],
      ["a//b", /^invalid key 'a\/\/b': key has an empty path segment/],
      ["/lead", /^invalid key '\/lead': key must not start or end with '\/'$/],
      ["a/../b", /'\.' or '\.\.' segment/],
      ["x".repeat(MAX_KEY_BYTES + 1), new RegExp(`the limit is ${MAX_KEY_BYTES}$`)],
    ];
    for (const [key, message] of cases) {
      const err = refusal(() => checkKey(key));
      assert.equal(err.code, "invalid_argument");
      assert.match(err.message, message);
    }
  });

  test("escapes control characters and cuts long keys in the message", () => {
    const err = refusal(() => checkKey("a\nb\u0007"));
    assert.match(err.message, /^invalid key 'a\\u000ab\\u0007': key contains a control character$/);
    assert.doesNotMatch(err.message, /\n/);
    const long = refusal(() => checkKey("y".repeat(5000)));
    assert.ok(long.message.length < 300, long.message);
  });
});

describe("checkValueSize", () => {
  test("accepts up to MAX_VALUE_BYTES", () => {
    checkValueSize(0);
    checkValueSize(MAX_VALUE_BYTES);
  });

  test("refuses more as too_large, naming both sizes", () => {
    const err = refusal(() => checkValueSize(MAX_VALUE_BYTES + 1));
    assert.equal(err.code, "too_large");
    assert.equal(
      err.message,
      `value is ${MAX_VALUE_BYTES + 1} bytes; a single put holds at most ${MAX_VALUE_BYTES} bytes (use a streamed upload for files)`,
    );
  });
});
