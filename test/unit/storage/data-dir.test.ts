import assert from "node:assert/strict";
import { chmod, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { writeFileAtomic } from "../../../src/storage/fsync.ts";
import { prepareDataDir } from "../../../src/storage/index.ts";
import { tempDir } from "./fixtures.ts";
import { errnoError, hookOpen, wrapHandle } from "./fs-spy.ts";

async function dataDirError(dir: string): Promise<StartupError> {
  const err = await prepareDataDir(dir).then(
    () => assert.fail(`prepareDataDir(${dir}) succeeded`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError, `expected StartupError, got ${err}`);
  assert.equal(err.kind, "data_dir");
  assert.ok(err.message.startsWith(`cannot use data dir ${dir}: `), err.message);
  assert.ok(!err.message.includes("\n"), "one line for the operator");
  return err;
}

test("a missing data dir is created with its parents and left empty", async (t) => {
  const dir = join(await tempDir(t), "a", "b", "node1");
  await prepareDataDir(dir);
  assert.ok((await stat(dir)).isDirectory());
  assert.deepEqual(await readdir(dir), [], "the probe file is removed");
});

test("an existing data dir is accepted and its files left alone", async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, "keep"), "x");
  await prepareDataDir(dir);
  assert.deepEqual(await readdir(dir), ["keep"]);
});

test("a data dir under a regular file is refused (ENOTDIR)", async (t) => {
  const file = join(await tempDir(t), "file");
  await writeFile(file, "x");
  const err = await dataDirError(join(file, "node1"));
  assert.match(err.message, /ENOTDIR/);
});

test("a data dir that is a regular file is refused", async (t) => {
  const file = join(await tempDir(t), "file");
  await writeFile(file, "x");
  const err = await dataDirError(file);
  assert.match(err.message, /EEXIST|ENOTDIR/);
});

test("a read-only data dir is refused (skipped as root, where mode bits do not block writes)", {
  skip: process.getuid?.() === 0 ? "running as root" : false,
}, async (t) => {
  const dir = join(await tempDir(t), "ro");
  await mkdir(dir);
  await chmod(dir, 0o500);
  t.after(() => chmod(dir, 0o700));
  const err = await dataDirError(dir);
  assert.match(err.message, /EACCES/);
});

test("new folders are 0700 and their files 0600 whatever the umask", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "a", "node1");
  const old = process.umask(0);
  try {
    await prepareDataDir(dir);
    await writeFileAtomic(join(dir, "meta.json"), new Uint8Array([1]));
  } finally {
    process.umask(old);
  }
  assert.equal((await stat(join(root, "a"))).mode & 0o777, 0o700);
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal((await stat(join(dir, "meta.json"))).mode & 0o777, 0o600);
});

test("an existing data dir open to group or others is tightened to 0700, and says so", async (t) => {
  const dir = join(await tempDir(t), "loose");
  await mkdir(dir);
  await chmod(dir, 0o755);
  assert.equal(await prepareDataDir(dir), 0o755, "the old mode, for the warning");
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  assert.equal(await prepareDataDir(dir), null, "nothing to tighten the second time");
});

/**
 * The probe file of `dir` as a file system that fails `step` would leave it: the open, the
 * one-byte write or the sync refused with `code`. Returns what the probe saw.
 */
function refuseProbe(t: TestContext, step: "open" | "write" | "sync", code: string) {
  const seen = { written: 0, closed: false };
  hookOpen(t, async (real, path, flags, mode) => {
    if (!path.includes(".probe-")) return real(path, flags, mode);
    if (step === "open") throw errnoError(code);
    const handle = await real(path, flags, mode);
    return wrapHandle(handle, {
      write: (async (data: Uint8Array) => {
        seen.written += data.byteLength;
        if (step === "write") throw errnoError(code);
        return handle.write(data);
      }) as typeof handle.write,
      sync: async () => (step === "sync" ? Promise.reject(errnoError(code)) : handle.sync()),
      close: async () => {
        seen.closed = true;
        return handle.close();
      },
    });
  });
  return seen;
}

// As root, mode bits refuse nothing: these stand in for a read-only mount, a full disk and
// a failing device, which only the probe can find before the node stores anything.
for (const [step, code] of [
  ["open", "EROFS"],
  ["write", "ENOSPC"],
  ["sync", "EIO"],
] as const) {
  test(`a data dir whose probe file fails at ${step} (${code}) is refused, naming it`, async (t) => {
    const dir = join(await tempDir(t), "node1");
    const seen = refuseProbe(t, step, code);
    const err = await dataDirError(dir);
    assert.match(err.message, new RegExp(code));
    if (step !== "open") {
      assert.equal(seen.written, 1, "one byte: a block must be allocated to prove space");
      assert.ok(seen.closed, "the probe's descriptor is closed on failure too");
    }
  });
}
