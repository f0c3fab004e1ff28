/**
 * The data dir lock is an OS file lock: it excludes a second holder in this process, in
 * another process and in another PID namespace (two containers sharing a volume), and
 * the kernel releases it when the holder dies, even by SIGKILL.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { StartupError } from "../../../src/api/index.ts";
import { acquireDataDirLock } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./lock-child.ts", import.meta.url));
const NODE_ARGS = ["--import", "tsx", CHILD];

/** True when this machine lets us make PID namespaces (root, or user namespaces allowed). */
const CAN_UNSHARE_PID =
  spawnSync("unshare", ["-p", "-f", "--mount-proc", "true"], { stdio: "ignore" }).status === 0;

/** Starts lock-child.ts on `dir` (optionally under `prefix`, e.g. unshare); lines via `nextLine`. */
function startChild(dir: string, wait: boolean, prefix: string[] = []) {
  const args = [...NODE_ARGS, dir, ...(wait ? ["wait"] : [])];
  const [command, ...rest] =
    prefix.length > 0 ? [...prefix, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(command as string, rest, { cwd: REPO, stdio: ["pipe", "pipe", "inherit"] });
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
async function tryInChild(dir: string, prefix: string[] = []): Promise<string> {
  const { child, nextLine } = startChild(dir, false, prefix);
  child.stdin?.end();
  const line = await nextLine();
  await exitCode(child);
  return line;
}

/** A child that took the lock and holds it until killed or its stdin closes. */
async function holderChild(dir: string) {
  const holder = startChild(dir, true);
  assert.equal(await holder.nextLine(), "ready");
  holder.child.stdin?.write("go\n");
  assert.equal(await holder.nextLine(), "acquired");
  return holder;
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

test("a second acquire in the same process fails until the first is released", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  const err = await lockedError(acquireDataDirLock(dir));
  assert.match(err.message, new RegExp(`in use by process ${process.pid} on `));
  assert.ok(!err.message.includes("\n"));
  await lock.release();
  await lock.release(); // idempotent
  const again = await acquireDataDirLock(dir);
  await again.release();
});

test("LOCK is 0600 and names its holder; content left by older versions does not matter", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "LOCK"), '{"pid":1,"nonce":"from the pid-file days"}\n', {
    mode: 0o644,
  });
  const lock = await acquireDataDirLock(dir);
  t.after(() => lock.release());
  assert.equal((await stat(join(dir, "LOCK"))).mode & 0o777, 0o600);
  const holder = JSON.parse(await readFile(join(dir, "LOCK"), "utf8")) as { pid: number };
  assert.equal(holder.pid, process.pid);
});

test("another process is refused while we hold the lock, and succeeds after release", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  const line = await tryInChild(dir);
  assert.match(
    line,
    new RegExp(`^locked data_dir_locked data dir .* is in use by process ${process.pid} `),
  );
  await lock.release();
  assert.equal(await tryInChild(dir), "acquired");
});

test("a process in another PID namespace is refused (unshare -p -f)", {
  skip: !CAN_UNSHARE_PID && "cannot create PID namespaces here",
}, async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  t.after(() => lock.release());
  // In its own namespace the child is pid 1 and our pid names nothing: only the kernel's
  // lock on the inode can refuse it.
  const line = await tryInChild(dir, ["unshare", "-p", "-f", "--mount-proc", "--kill-child"]);
  assert.match(line, /^locked data_dir_locked /);
});

test("a holder in another PID namespace keeps us out too", {
  skip: !CAN_UNSHARE_PID && "cannot create PID namespaces here",
}, async (t) => {
  const dir = await tempDir(t);
  const holder = startChild(dir, true, ["unshare", "-p", "-f", "--mount-proc", "--kill-child"]);
  t.after(() => holder.child.kill("SIGKILL"));
  assert.equal(await holder.nextLine(), "ready");
  holder.child.stdin?.write("go\n");
  assert.equal(await holder.nextLine(), "acquired");
  await lockedError(acquireDataDirLock(dir));
  holder.child.stdin?.end();
  await exitCode(holder.child);
  await (await acquireDataDirLock(dir)).release();
});

test("the kernel releases the lock of a holder killed with SIGKILL", async (t) => {
  const dir = await tempDir(t);
  const holder = await holderChild(dir);
  t.after(() => holder.child.kill("SIGKILL"));
  await lockedError(acquireDataDirLock(dir));
  holder.child.kill("SIGKILL");
  await exitCode(holder.child);
  const lock = await acquireDataDirLock(dir);
  await lock.release();
});

test("processes racing for the lock: exactly one wins", async (t) => {
  const dir = await tempDir(t);
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
});
