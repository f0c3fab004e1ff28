/**
 * `dfs defrag`'s output (src/cli/defrag-command.ts): one line per node with the store
 * file's size before and after, the share saved and the time; a failed node says why.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { DfsError } from "../../../src/api/index.ts";
import { formatBytes, formatRows } from "../../../src/cli/defrag-command.ts";

test("sizes print in binary units with one decimal", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(2 * 1024 ** 3), "2.0 GiB");
});

test("one line per node: before, after, saved share and time; failures say why", () => {
  const text = formatRows([
    {
      endpoint: "10.0.0.1:50051",
      ok: true,
      result: { bytesBefore: 2 * 1024 ** 3, bytesAfter: 14 * 1024 ** 2, durationMs: 1234 },
    },
    {
      endpoint: "10.0.0.2:50051",
      ok: false,
      error: new DfsError(
        "resource_exhausted",
        "cannot defrag now: a defrag is already running; retry later",
      ),
    },
  ]);
  assert.equal(
    text,
    "10.0.0.1:50051: 2.0 GiB -> 14.0 MiB (-99.3%) in 1.2 s\n" +
      "10.0.0.2:50051: failed: cannot defrag now: a defrag is already running; retry later\n",
  );
});
