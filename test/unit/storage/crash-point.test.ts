/**
 * The crash test hook (src/storage/crash-point.ts): with DFS_CRASH_AT set, a process dies
 * by SIGKILL at the named point and nowhere else; without it every point is a no-op.
 * Run in child processes (crash-child.ts), since the hook kills its own process.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const CHILD = fileURLToPath(new URL("./crash-child.ts", import.meta.url));

function run(crashAt: string | undefined, points: string[]) {
  const env = { ...process.env };
  delete env.DFS_CRASH_AT;
  if (crashAt !== undefined) env.DFS_CRASH_AT = crashAt;
  const out = spawnSync(process.execPath, ["--import", "tsx", CHILD, ...points], {
    env,
    encoding: "utf8",
  });
  return { stdout: out.stdout, signal: out.signal, status: out.status };
}

test("a process dies by SIGKILL at the chosen crash point, after the ones before it", () => {
  const { stdout, signal } = run("compact-b", ["compact-a", "compact-b", "compact-c"]);
  assert.equal(stdout, "passed compact-a\n");
  assert.equal(signal, "SIGKILL");
});

test("without DFS_CRASH_AT, or with a point never reached, every point is passed", () => {
  for (const crashAt of [undefined, "elsewhere"]) {
    const { stdout, signal, status } = run(crashAt, ["compact-a", "compact-b"]);
    assert.equal(stdout, "passed compact-a\npassed compact-b\n", String(crashAt));
    assert.equal(signal, null);
    assert.equal(status, 0);
  }
});
