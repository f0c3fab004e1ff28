import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { StartupError } from "../../../src/server/errors.ts";
import { acquireDataDirLock } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));

/** Starts lock-child.ts on `dir`; its stdout lines arrive through `nextLine`. */
function startChild(dir: string, wait: boolean) {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", CHILD, dir, ...(wait ? ["wait"] : [])],
    {
      cwd: REPO,
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async () => (await lines.next()).value ?? "";
  return { child, nextLine };
}

async function exitCode(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const [code] = await once(child, "exit");
  return code as number | null;
}

/** Runs a child that tries once and exits; returns its one line. */
async function tryInChild(dir: string): Promise<string> {
  const { child, nextLine } = startChild(dir, false);
  child.stdin?.end();
  const line = await nextLine();
  await exitCode(child);
  return line;
}

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  assert.ok(child.pid !== undefined);
  return child.pid;
}

async function lockedError(promise: Promise<unknown>): Promise<StartupError> {
  const err = await promise.then(
    () => assert.fail("expected the data dir to be locked"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  assert.equal(err.kind, "data_dir_locked");
  return err;
}

async function lockPid(dir: string): Promise<number> {
  return (JSON.parse(await readFile(join(dir, "LOCK"), "utf8")) as { pid: number }).pid;
}

test("a second acquire in the same process fails until the first is released", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  assert.equal(await lockPid(dir), process.pid);
  const err = await lockedError(acquireDataDirLock(dir));
  assert.equal(err.message, `data dir ${dir} is in use by process ${process.pid}`);
  await lock.release();
  assert.deepEqual(await readdir(dir), [], "release removes LOCK and leaves nothing behind");
  await lock.release(); // idempotent
  const again = await acquireDataDirLock(dir);
  await again.release();
});

test("another process is refused while we hold the lock, and succeeds after release", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  assert.equal(
    await tryInChild(dir),
    `locked data_dir_locked data dir ${dir} is in use by process ${process.pid}`,
  );
  await lock.release();
  assert.equal(await tryInChild(dir), "acquired");
});

test("a lock held by another live process is respected", async (t) => {
  const dir = await tempDir(t);
  const { child, nextLine } = startChild(dir, true);
  t.after(() => child.kill());
  assert.equal(await nextLine(), "ready");
  child.stdin?.write("go\n");
  assert.equal(await nextLine(), "acquired");
  const err = await lockedError(acquireDataDirLock(dir));
  assert.equal(err.message, `data dir ${dir} is in use by process ${child.pid}`);
  child.stdin?.end();
  assert.equal(await exitCode(child), 0);
  await (await acquireDataDirLock(dir)).release();
});

test("a stale LOCK left by a dead process is taken over", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "LOCK"), `${JSON.stringify({ pid: await deadPid(), nonce: "x" })}\n`);
  const lock = await acquireDataDirLock(dir);
  assert.equal(await lockPid(dir), process.pid);
  await lock.release();
});

test("a LOCK with unreadable content (crash garbage) is taken over", async (t) => {
  for (const text of ["", '{"pid":', "\0\0\0\0"]) {
    const dir = await tempDir(t);
    await writeFile(join(dir, "LOCK"), text);
    const lock = await acquireDataDirLock(dir);
    assert.equal(await lockPid(dir), process.pid);
    await lock.release();
  }
});

test("a LOCK with our own pid from an earlier incarnation (pid reuse) is taken over", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: process.pid, nonce: "earlier" }));
  const lock = await acquireDataDirLock(dir);
  await lockedError(acquireDataDirLock(dir));
  await lock.release();
});

test("a LOCK naming a live pid with another start time (pid reused) is taken over", {
  skip: process.platform !== "linux" ? "needs /proc" : false,
}, async (t) => {
  const dir = await tempDir(t);
  const owner = { pid: process.ppid, nonce: "x", startTime: "1" };
  await writeFile(join(dir, "LOCK"), JSON.stringify(owner));
  const lock = await acquireDataDirLock(dir);
  await lock.release();
  await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: process.ppid, nonce: "x" }));
  await lockedError(acquireDataDirLock(dir));
});

test("a takeover claim left by a crashed starter does not block the next one", async (t) => {
  const dir = await tempDir(t);
  const stale = JSON.stringify({ pid: await deadPid(), nonce: "x" });
  await writeFile(join(dir, "LOCK"), stale);
  const key = createHash("sha256").update(stale).digest("hex").slice(0, 16);
  const claim = join(dir, `LOCK.takeover-${key}-1`);
  await writeFile(claim, JSON.stringify({ pid: await deadPid(), nonce: "y" }));
  const lock = await acquireDataDirLock(dir);
  assert.equal(await lockPid(dir), process.pid);
  assert.deepEqual(await readdir(dir), ["LOCK"], "the dead claim is cleaned up");
  await lock.release();
});

test("release does not remove a LOCK that is no longer ours", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: process.ppid, nonce: "other" }));
  await lock.release();
  assert.deepEqual(await readdir(dir), ["LOCK"]);
});

test("concurrent takeovers of a stale LOCK in one process: exactly one wins", async (t) => {
  const pid = await deadPid();
  for (let round = 0; round < 30; round++) {
    const dir = await tempDir(t);
    await writeFile(join(dir, "LOCK"), JSON.stringify({ pid, nonce: `x${round}` }));
    const attempts = Array.from({ length: 8 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, (i * round) % 4)); // vary interleavings
      return acquireDataDirLock(dir);
    });
    const results = await Promise.allSettled(attempts);
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, `round ${round}: ${won.length} winners`);
    for (const r of results) {
      if (r.status === "rejected") assert.equal((r.reason as StartupError).kind, "data_dir_locked");
    }
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
    assert.deepEqual(await readdir(dir), [], "no claim or temporary files left behind");
  }
});

test("processes racing to take over a stale LOCK: exactly one wins", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "LOCK"), JSON.stringify({ pid: await deadPid(), nonce: "x" }));
  const children = Array.from({ length: 4 }, () => startChild(dir, true));
  t.after(() => {
    for (const c of children) c.child.kill();
  });
  for (const c of children) assert.equal(await c.nextLine(), "ready");
  for (const c of children) c.child.stdin?.write("go\n");
  const lines = await Promise.all(children.map((c) => c.nextLine()));
  assert.equal(lines.filter((l) => l === "acquired").length, 1, lines.join("\n"));
  assert.equal(
    lines.filter((l) => l.startsWith("locked data_dir_locked")).length,
    3,
    lines.join("\n"),
  );
  for (const c of children) c.child.stdin?.end();
  await Promise.all(children.map((c) => exitCode(c.child)));
  assert.deepEqual(await readdir(dir), []);
});
