/**
 * The data dir lock when a step after the lock is taken fails (src/storage/lock.ts): the
 * start is refused as a data_dir error whose reason is on one line, and the lock is let
 * go, so the next start is not refused by a holder that no longer exists; and release
 * closes LOCK's descriptor. LOCK's handle is wrapped (fs-spy.ts) to fail or to watch;
 * the files and the lock are real (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { acquireDataDirLock, LOCK_FILE } from "../../../src/storage/lock.ts";
import { tempDir } from "./fixtures.ts";
import { errnoError, hookOpen, wrapHandle } from "./fs-spy.ts";

/** The next open of LOCK gets a handle whose truncate throws `error`. */
function failNextDescribe(t: TestContext, dir: string, error: unknown): void {
  let pending = true;
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    if (!pending || path !== join(dir, LOCK_FILE)) return handle;
    pending = false;
    return wrapHandle(handle, {
      truncate: async () => {
        throw error;
      },
    });
  });
}

async function refusal(promise: Promise<unknown>): Promise<StartupError> {
  const err = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  return err;
}

test("a failure after the lock is taken refuses the start and lets the lock go", async (t) => {
  const dir = await tempDir(t);
  failNextDescribe(t, dir, errnoError("EIO", "EIO: i/o error,\n   truncate  'LOCK'"));
  const err = await refusal(acquireDataDirLock(dir));
  assert.equal(err.kind, "data_dir");
  assert.equal(err.message, `cannot lock data dir ${dir}: EIO: i/o error, truncate 'LOCK'`);
  const lock = await acquireDataDirLock(dir); // not "in use by another process"
  await lock.release();
});

test("a failure that is not an Error is reported as its text", async (t) => {
  const dir = await tempDir(t);
  failNextDescribe(t, dir, "no  room");
  const err = await refusal(acquireDataDirLock(dir));
  assert.equal(err.kind, "data_dir");
  assert.equal(err.message, `cannot lock data dir ${dir}: no room`);
});

test("release closes LOCK's descriptor, once", async (t) => {
  const dir = await tempDir(t);
  const log: string[] = [];
  hookOpen(t, async (real, path, flags, mode) => {
    const handle = await real(path, flags, mode);
    return wrapHandle(handle, {
      close: async () => {
        log.push(`close ${path}`);
        await handle.close();
      },
    });
  });
  const lock = await acquireDataDirLock(dir);
  assert.deepEqual(log, [], "held: LOCK stays open");
  await lock.release();
  await lock.release();
  assert.deepEqual(log, [`close ${join(dir, LOCK_FILE)}`], "else every restart leaks an fd");
});
