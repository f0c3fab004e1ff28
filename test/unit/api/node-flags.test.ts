import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { hasServerNodeFlags, SERVER_NODE_FLAGS } from "../../../src/api/index.ts";
import { REPO_ROOT } from "../../../src/cluster/index.ts";

test("the dfs launcher's shebang starts Node with every server flag", async () => {
  const shebang = (await readFile(`${REPO_ROOT}/bin/dfs.mjs`, "utf8")).split("\n")[0] ?? "";
  assert.match(shebang, /^#!\/usr\/bin\/env -S node /);
  for (const flag of SERVER_NODE_FLAGS) assert.ok(shebang.includes(flag), `${flag} in ${shebang}`);
});

test("a process knows whether it runs with the server flags", () => {
  assert.equal(hasServerNodeFlags(["--import", "tsx"]), false);
  assert.equal(hasServerNodeFlags(["--import", "tsx", ...SERVER_NODE_FLAGS]), true);
});

/**
 * Request handling's pattern of small objects, most dying young and some surviving a
 * scavenge or two, beside 1 MiB Buffers allocated and dropped as a transfer does. Prints
 * the largest the young generation grew (MiB).
 */
const REQUEST_CHURN = `
const v8 = require("node:v8");
const newSpaceMiB = () =>
  v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size / 1048576;
let youngMiB = 0;
const recent = [];
let live = [];
for (let i = 0; i < 400; i++) {
  live.push(Buffer.allocUnsafe(1024 * 1024).fill(1));
  if (live.length > 16) live = live.slice(8);
  const objects = [];
  for (let j = 0; j < 8000; j++) objects.push({ j });
  recent.push(objects); // survives a scavenge or two, as a request's objects do
  if (recent.length > 8) recent.shift();
  youngMiB = Math.max(youngMiB, newSpaceMiB());
}
console.log(JSON.stringify({ youngMiB }));
`;

/** Runs {@link REQUEST_CHURN} under `flags`; the largest young generation it saw, MiB. */
function youngGenerationMiB(flags: readonly string[]): number {
  const run = spawnSync(process.execPath, [...flags, "-e", REQUEST_CHURN], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { youngMiB: number }).youngMiB;
}

test("a server process keeps its young generation near 8 MiB, far below the default", () => {
  const capped = youngGenerationMiB(SERVER_NODE_FLAGS);
  const uncapped = youngGenerationMiB([]);
  // Two 4 MiB semi-spaces. V8 13 (Node 24) counts new space in pages and was seen at up
  // to 9.75 MiB in 20 runs; 12 leaves room. Node 20's default grew to 32 MiB here and
  // Node 24's to 64, as on a node streaming files.
  assert.ok(capped <= 12, `young generation grew to ${capped} MiB`);
  assert.ok(uncapped >= 2 * capped, `without the flags: ${uncapped} MiB, with: ${capped} MiB`);
});
