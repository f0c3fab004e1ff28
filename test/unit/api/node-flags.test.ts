import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import {
  hasServerNodeEnv,
  hasServerNodeFlags,
  SERVER_NODE_ENV,
  SERVER_NODE_FLAGS,
} from "../../../src/api/index.ts";
import { REPO_ROOT } from "../../../src/cluster/index.ts";

test("the dfs launcher's shebang starts Node with every server flag and variable", async () => {
  const shebang = (await readFile(`${REPO_ROOT}/bin/dfs.mjs`, "utf8")).split("\n")[0] ?? "";
  assert.match(shebang, /^#!\/usr\/bin\/env -S (\w+=\S+ )*node /);
  for (const flag of SERVER_NODE_FLAGS) assert.ok(shebang.includes(flag), `${flag} in ${shebang}`);
  for (const [name, value] of Object.entries(SERVER_NODE_ENV)) {
    assert.ok(shebang.includes(` ${name}=${value} `), `${name}=${value} in ${shebang}`);
  }
});

test("a process knows whether it runs with the server flags and environment", () => {
  assert.equal(hasServerNodeFlags(["--import", "tsx"]), false);
  assert.equal(hasServerNodeFlags(["--import", "tsx", ...SERVER_NODE_FLAGS]), true);
  assert.equal(hasServerNodeEnv({}), false);
  assert.equal(hasServerNodeEnv({ ...SERVER_NODE_ENV }), true);
});

/**
 * A file transfer's allocation pattern in a process started as a server is: 1 MiB chunks
 * and 8 MiB peer batches allocated and freed by the hundred while small, long-lived
 * allocations land between them. Prints the process's RssAnon outside V8's heap (MiB) at start and after
 * everything but the small ones is freed, the bytes the small ones hold, and the largest
 * the young generation grew (the loop also makes small garbage, as request handling does).
 */
const TRANSFER_CHURN = `
const { readFileSync } = require("node:fs");
const v8 = require("node:v8");
const anonMiB = () =>
  Number(/^RssAnon:\\s+(\\d+)/m.exec(readFileSync("/proc/self/status", "utf8"))[1]) / 1024 -
  process.memoryUsage().heapTotal / 1048576;
const start = anonMiB();
const newSpaceMiB = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 1048576;
let youngMiB = 0;
const recent = [];
const kept = [];
let keptBytes = 0;
let live = [];
for (let i = 0; i < 400; i++) {
  live.push(Buffer.allocUnsafe(1024 * 1024).fill(1));
  if (i % 8 === 7) live.push(Buffer.allocUnsafe(8 * 1024 * 1024).fill(2));
  const small = Buffer.allocUnsafeSlow(64 * 1024 + (i % 7) * 1024).fill(3);
  kept.push(small);
  keptBytes += small.length;
  const garbage = [];
  for (let j = 0; j < 8000; j++) garbage.push({ j });
  recent.push(garbage); // survives a scavenge or two, as a request's objects do
  if (recent.length > 8) recent.shift();
  youngMiB = Math.max(youngMiB, newSpaceMiB());
  if (live.length > 48) live = live.slice(24);
}
live = [];
globalThis.gc();
setTimeout(() => {
  globalThis.gc();
  console.log(JSON.stringify({
    start, after: anonMiB(), keptMiB: keptBytes / 1048576, kept: kept.length,
    youngMiB,
  }));
}, 100);
`;

test("a server process gives freed transfer buffers back and keeps a small young generation", () => {
  const run = spawnSync(
    process.execPath,
    [...SERVER_NODE_FLAGS, "--expose-gc", "-e", TRANSFER_CHURN],
    { env: { ...process.env, ...SERVER_NODE_ENV }, encoding: "utf8" },
  );
  assert.equal(run.status, 0, run.stderr);
  const figures = JSON.parse(run.stdout) as {
    start: number;
    after: number;
    keptMiB: number;
    youngMiB: number;
  };
  // What is still live (the small allocations) plus slack; glibc's default kept the freed
  // megabytes in its fragmented heap (~120 MiB more, measured).
  assert.ok(
    figures.after - figures.start < figures.keptMiB + 24,
    `RssAnon ${figures.start} -> ${figures.after} MiB with ${figures.keptMiB} MiB live`,
  );
  assert.ok(figures.youngMiB <= 8, `young generation grew to ${figures.youngMiB} MiB`);
});
