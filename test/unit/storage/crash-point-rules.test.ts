/**
 * The crash hook's rule in this process (src/storage/crash-point.ts), with `process.kill`
 * replaced by a recorder: only the point DFS_CRASH_AT names sends SIGKILL, to this
 * process, and without DFS_CRASH_AT none does. crash-point.test.ts shows the real death in
 * a child; this one is where mutation testing can see the hook run (a child's coverage is
 * not collected, so Stryker would run no test against it). The hook reads DFS_CRASH_AT
 * when it loads: each case imports its own instance (a query on the module URL).
 */
import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";

type Kill = typeof process.kill;

/** Loads a fresh instance of the hook with DFS_CRASH_AT = `crashAt`; kills are recorded. */
async function hook(t: TestContext, crashAt: string | undefined) {
  const kills: [number, string | number | undefined][] = [];
  const realKill = process.kill;
  const saved = process.env.DFS_CRASH_AT;
  process.kill = ((pid: number, signal?: string | number) => {
    kills.push([pid, signal]);
    return true;
  }) as Kill;
  t.after(() => {
    process.kill = realKill;
    if (saved === undefined) delete process.env.DFS_CRASH_AT;
    else process.env.DFS_CRASH_AT = saved;
  });
  if (crashAt === undefined) delete process.env.DFS_CRASH_AT;
  else process.env.DFS_CRASH_AT = crashAt;
  const url = `../../../src/storage/crash-point.ts?at=${crashAt}`;
  const { crashPoint } = (await import(
    url
  )) as typeof import("../../../src/storage/crash-point.ts");
  return { crashPoint, kills };
}

test("only the point DFS_CRASH_AT names sends SIGKILL to this process", async (t) => {
  const { crashPoint, kills } = await hook(t, "compact-b");
  crashPoint("compact-a");
  crashPoint("compact-");
  assert.deepEqual(kills, []);
  crashPoint("compact-b");
  assert.deepEqual(kills, [[process.pid, "SIGKILL"]]);
});

test("without DFS_CRASH_AT no point sends anything", async (t) => {
  const { crashPoint, kills } = await hook(t, undefined);
  crashPoint("compact-a");
  crashPoint("");
  crashPoint("undefined");
  crashPoint("compact-b"); // the other test's point: this is an instance of its own
  assert.deepEqual(kills, []);
});
