/**
 * `npm run bench` flags that pick a comparison: `--auth` (`npm run bench:auth`) measures
 * put ×64 and linearizable get ×64 unless `--only` says otherwise, like `--tls`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCompareFlags, TLS_WORKLOADS, workloadsOf } from "../lib/compare-flags.ts";
import { UNARY_WORKLOADS } from "../lib/compare-workloads.ts";

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

test("--unary selects the unary workloads, spread get included, in run order", () => {
  const flags = parseCompareFlags(["--unary"], "/tmp/out");
  assert.equal(flags.unary, true);
  assert.equal(flags.frontEnds, undefined);
  const ids = workloadsOf(flags).map((w) => w.id);
  assert.deepEqual(
    ids,
    UNARY_WORKLOADS.map((w) => w.id),
  );
  assert.ok(workloadsOf(flags).some((w) => w.spread === true));
  const some = parseCompareFlags(
    ["--unary", "--only", "put-1MiB-c16,put-256B-c1", "--front-ends", "2"],
    "/tmp/out",
  );
  assert.deepEqual(
    workloadsOf(some).map((w) => w.id),
    ["put-256B-c1", "put-1MiB-c16"],
  );
  assert.equal(some.frontEnds, 2);
  const plain = parseCompareFlags([], "/tmp/out");
  assert.equal(plain.unary, false);
  assert.ok(!workloadsOf(plain).some((w) => w.spread === true));
});
