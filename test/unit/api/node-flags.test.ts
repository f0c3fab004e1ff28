import assert from "node:assert/strict";
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
