/**
 * `dfs get --range` parsing (src/cli/range-flag.ts): HTTP's three forms, turned into the
 * client's offset and length, and one clear usage error for everything else.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseRangeFlag, rangeOffsets } from "../../../src/cli/range-flag.ts";
import { UsageError } from "../../../src/cli/usage-error.ts";

test("A-B is inclusive, A- runs to the end, -N is the last N bytes", () => {
  assert.deepEqual(rangeOffsets(parseRangeFlag("0-0"), undefined), { offset: 0, length: 1 });
  assert.deepEqual(rangeOffsets(parseRangeFlag("10-19"), undefined), { offset: 10, length: 10 });
  assert.deepEqual(rangeOffsets(parseRangeFlag("7-"), undefined), { offset: 7 });
  assert.deepEqual(rangeOffsets(parseRangeFlag("-3"), 10), { offset: 7, length: 3 });
  assert.deepEqual(rangeOffsets(parseRangeFlag("-30"), 10), { offset: 0, length: 10 });
  assert.deepEqual(rangeOffsets(parseRangeFlag("-0"), 10), { offset: 10, length: 0 });
});

test("anything else is a usage error naming the flag", () => {
  for (const bad of ["", "-", "5", "a-b", "1-2-3", "5-4", " 1-2", "1.5-2", "99999999999999999999-"])
    assert.throws(
      () => parseRangeFlag(bad),
      (e: unknown) => e instanceof UsageError && /--range/.test((e as Error).message),
      bad,
    );
});
