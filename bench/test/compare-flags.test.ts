/**
 * `npm run bench` flags that pick a comparison: `--auth` (`npm run bench:auth`) measures
 * put ×64 and linearizable get ×64 unless `--only` says otherwise, like `--tls`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCompareFlags, TLS_WORKLOADS } from "../lib/compare-flags.ts";

test("--auth selects the auth comparison on put ×64 and get ×64", () => {
  const flags = parseCompareFlags(["--auth"], "/tmp/out");
  assert.equal(flags.auth, true);
  assert.equal(flags.tls, false);
  assert.deepEqual(flags.only, TLS_WORKLOADS);
  assert.equal(flags.runs, 3);
  const quick = parseCompareFlags(["--auth", "--quick", "--only", "put-256B-c64"], "/tmp/out");
  assert.equal(quick.auth, true);
  assert.deepEqual(quick.only, ["put-256B-c64"]);
  assert.equal(parseCompareFlags([], "/tmp/out").auth, false);
});
