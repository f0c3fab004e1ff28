/**
 * The data dir lock's messages and its holder line (src/storage/lock.ts), in one process
 * (the open-file-description lock excludes a second open here as well): exactly what a
 * refused start says about the holder, what it says when LOCK does not describe one, and
 * the refusal of a data dir that cannot be opened. lock.test.ts covers the exclusion
 * itself across processes (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { acquireDataDirLock, LOCK_FILE } from "../../../src/storage/lock.ts";
import { tempDir } from "./fixtures.ts";

async function refusal(promise: Promise<unknown>): Promise<StartupError> {
  const err = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  return err;
}

test("LOCK holds exactly one line describing the holder, whatever was there before", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, LOCK_FILE), `${"x".repeat(500)}\n`);
  const before = Date.now();
  const lock = await acquireDataDirLock(dir);
  t.after(() => lock.release());
  assert.equal(lock.dataDir, dir);
  const text = await readFile(join(dir, LOCK_FILE), "utf8");
  assert.ok(text.endsWith("}\n") && text.indexOf("\n") === text.length - 1, text);
  const holder = JSON.parse(text) as { pid: number; host: string; since: string };
  assert.deepEqual(Object.keys(holder), ["pid", "host", "since"]);
  assert.equal(holder.pid, process.pid);
  assert.equal(holder.host, hostname());
  assert.ok(Date.parse(holder.since) >= before - 1000, holder.since);
});

test("a refused start names the holder's pid, host and start time", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  t.after(() => lock.release());
  const { since } = JSON.parse(await readFile(join(dir, LOCK_FILE), "utf8")) as { since: string };
  const err = await refusal(acquireDataDirLock(dir));
  assert.equal(err.kind, "data_dir_locked");
  assert.equal(
    err.message,
    `data dir ${dir} is in use by process ${process.pid} on ${hostname()} (pid as seen in its own PID namespace), running since ${since}`,
  );
});

test("a holder LOCK does not describe is 'another process'", async (t) => {
  const dir = await tempDir(t);
  const lock = await acquireDataDirLock(dir);
  t.after(() => lock.release());
  const bad = [
    "",
    "not json",
    '{"pid":"12","host":"h","since":"s"}',
    '{"pid":1.5,"host":"h","since":"s"}',
    '{"pid":12,"host":3,"since":"s"}',
    '{"pid":12,"host":"h","since":4}',
    '{"pid":12,"host":"h"}',
  ];
  for (const text of bad) {
    await writeFile(join(dir, LOCK_FILE), text); // the lock is advisory: the text is not
    const err = await refusal(acquireDataDirLock(dir));
    assert.equal(err.kind, "data_dir_locked", text);
    assert.equal(err.message, `data dir ${dir} is in use by another process`, text);
  }
  await writeFile(join(dir, LOCK_FILE), '{"pid":12,"host":"h","since":"s"}');
  const named = await refusal(acquireDataDirLock(dir));
  assert.match(
    named.message,
    /in use by process 12 on h \(pid as seen in its own PID namespace\), running since s$/,
  );
});

test("a data dir that cannot be opened is a data_dir error on one line", async (t) => {
  const missing = join(await tempDir(t), "missing");
  const err = await refusal(acquireDataDirLock(missing));
  assert.equal(err.kind, "data_dir");
  assert.match(err.message, new RegExp(`^cannot lock data dir ${missing}: ENOENT`));
  assert.ok(!err.message.includes("\n"));
});

test("release is idempotent and lets the next holder in", async (t) => {
  const dir = await tempDir(t);
  const first = await acquireDataDirLock(dir);
  await first.release();
  await first.release();
  const second = await acquireDataDirLock(dir);
  await first.release(); // an old release must not drop the new holder's lock
  await refusal(acquireDataDirLock(dir));
  await second.release();
});
