/**
 * The durability and permission primitives (src/storage/fsync.ts, modes.ts, data-dir.ts)
 * at their edges, on real temp dirs: which directories mkdirDurable creates and sets to
 * 0700 (and which existing ones it leaves), the mode of an atomically written file, what
 * writevFully hands the kernel after a short write, when coalesceForOneWrite copies, and
 * which modes tightenDir changes. fsync.test.ts and data-dir.test.ts cover the main paths
 * (mutation testing, issue 25).
 */
import assert from "node:assert/strict";
import {
  chmod,
  type FileHandle,
  mkdir,
  readdir,
  readFile,
  stat,
  writeFile,
} from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { prepareDataDir } from "../../../src/storage/data-dir.ts";
import {
  coalesceForOneWrite,
  fsyncDir,
  mkdirDurable,
  writeFileAtomic,
  writevFully,
} from "../../../src/storage/fsync.ts";
import { DIR_MODE, FILE_MODE, tightenDir } from "../../../src/storage/modes.ts";
import { tempDir } from "./fixtures.ts";

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

/** Runs `fn` with the process umask set to `mask` (restored after). */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

test("the modes: folders 0700, files 0600", () => {
  assert.equal(DIR_MODE, 0o700);
  assert.equal(FILE_MODE, 0o600);
});

test("mkdirDurable sets every folder it creates to 0700 whatever the umask, and no other", async (t) => {
  const root = await tempDir(t);
  await chmod(root, 0o755);
  const target = join(root, "a", "b", "c");
  await withUmask(0o277, () => mkdirDurable(target));
  for (const dir of [join(root, "a"), join(root, "a", "b"), target]) {
    assert.equal(await modeOf(dir), 0o700, dir);
  }
  assert.equal(await modeOf(root), 0o755, "an existing parent is left as it is");
  await chmod(target, 0o755);
  await mkdirDurable(target);
  assert.equal(await modeOf(target), 0o755, "an existing target is left as it is");
});

test("mkdirDurable of a path under a file fails", async (t) => {
  const root = await tempDir(t);
  await writeFile(join(root, "f"), "");
  await assert.rejects(mkdirDurable(join(root, "f", "x")), /ENOTDIR|EEXIST/);
});

test("fsyncDir syncs a folder and fails on a missing one", async (t) => {
  const root = await tempDir(t);
  await fsyncDir(root);
  await assert.rejects(fsyncDir(join(root, "missing")), { code: "ENOENT" });
});

test("writeFileAtomic leaves the file 0600, even over a stale temp file of another mode", async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, "f");
  await writeFile(`${path}.tmp`, "stale and longer", { mode: 0o644 });
  await chmod(`${path}.tmp`, 0o644);
  await writeFileAtomic(path, new TextEncoder().encode("new"));
  assert.equal(await readFile(path, "utf8"), "new");
  assert.equal(await modeOf(path), 0o600);
  assert.deepEqual(await readdir(dir), ["f"]);
  const umasked = join(dir, "g");
  await withUmask(0o277, () => writeFileAtomic(umasked, new Uint8Array([1])));
  assert.equal(await modeOf(umasked), 0o600);
});

/** A FileHandle whose writev takes at most `take(call)` bytes and logs what it was given. */
function shortWriter(take: (call: number) => number) {
  const out: number[] = [];
  const calls: { lengths: number[]; position: number }[] = [];
  const handle = {
    async writev(buffers: readonly Uint8Array[], position: number) {
      calls.push({ lengths: buffers.map((b) => b.length), position });
      const flat = Buffer.concat(buffers.map((b) => Buffer.from(b)));
      const n = Math.min(take(calls.length), flat.length);
      for (let i = 0; i < n; i++) out[position + i] = flat[i] as number;
      return { bytesWritten: n, buffers };
    },
  } as unknown as FileHandle;
  return { handle, out, calls };
}

test("after a short write, writevFully hands on exactly the bytes not yet written", async () => {
  const w = shortWriter((call) => (call === 1 ? 2 : 100)); // first call ends on a buffer edge
  await writevFully(w.handle, [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])], 7);
  assert.deepEqual(w.calls, [
    { lengths: [2, 3], position: 7 },
    { lengths: [3], position: 9 },
  ]);
  assert.deepEqual(w.out.slice(7), [1, 2, 3, 4, 5]);
  const mid = shortWriter((call) => (call === 1 ? 3 : 100)); // inside the second buffer
  await writevFully(mid.handle, [new Uint8Array([1, 2]), new Uint8Array([3, 4, 5])], 0);
  assert.deepEqual(mid.calls, [
    { lengths: [2, 3], position: 0 },
    { lengths: [2], position: 3 },
  ]);
  assert.deepEqual(mid.out, [1, 2, 3, 4, 5]);
});

test("writevFully refuses a write that makes no progress, and writes nothing for nothing", async () => {
  const stuck = shortWriter(() => 0);
  await assert.rejects(writevFully(stuck.handle, [new Uint8Array([1])], 0), {
    message: "writev wrote 0 bytes",
  });
  const none = shortWriter(() => 100);
  await writevFully(none.handle, [], 0);
  assert.equal(none.calls.length, 0);
});

test("coalesceForOneWrite: up to 1024 buffers as they are; more joined into at most 1024", () => {
  const list = (n: number) => Array.from({ length: n }, (_, i) => new Uint8Array([i & 0xff, 7]));
  const exact = list(1024);
  assert.equal(coalesceForOneWrite(exact), exact, "not copied");
  const over = list(1025);
  const joined = coalesceForOneWrite(over);
  assert.equal(joined.length, 513, "runs of two");
  assert.equal(joined[0]?.length, 4);
  assert.equal(joined[512]?.length, 2, "the odd one out alone at the end");
  assert.deepEqual(
    Buffer.concat(joined.map((b) => Buffer.from(b))),
    Buffer.concat(over.map((b) => Buffer.from(b))),
  );
  assert.ok(coalesceForOneWrite(list(5000)).length <= 1024);
  // A multiple of the run: exactly 1024 runs, no empty buffer after the last (one more
  // would split the batch over two writev calls, two syncs on an O_DSYNC file).
  const even = coalesceForOneWrite(list(2048));
  assert.equal(even.length, 1024, "runs of two, none empty");
  assert.ok(even.every((b) => b.length === 4));
});

test("tightenDir: anything for group or others is removed, owner bits kept, old mode returned", async (t) => {
  const root = await tempDir(t);
  const cases: [number, number, number | null][] = [
    [0o700, 0o700, null],
    [0o500, 0o500, null],
    [0o750, 0o700, 0o750],
    [0o701, 0o700, 0o701],
    [0o770, 0o700, 0o770],
    [0o577, 0o500, 0o577],
  ];
  for (const [before, after, returned] of cases) {
    const dir = join(root, before.toString(8));
    await mkdir(dir);
    await chmod(dir, before);
    assert.equal(await tightenDir(dir), returned, before.toString(8));
    assert.equal(await modeOf(dir), after, before.toString(8));
  }
});

test("prepareDataDir removes its probe and reports failures on one line, naming the dir", async (t) => {
  const root = await tempDir(t);
  const dir = join(root, "data");
  assert.equal(await prepareDataDir(dir), null);
  assert.deepEqual(await readdir(dir), [], "the probe is gone");
  assert.equal(await modeOf(dir), 0o700);
  await chmod(dir, 0o755);
  assert.equal(await prepareDataDir(dir), 0o755, "the old mode, to warn about");
  await writeFile(join(root, "file"), "");
  const err = await prepareDataDir(join(root, "file", "x")).then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StartupError);
  assert.equal(err.kind, "data_dir");
  assert.ok(
    err.message.startsWith(`cannot use data dir ${join(root, "file", "x")}: `),
    err.message,
  );
  assert.ok(!/\s{2,}|\n/.test(err.message), err.message);
});

test("the reason of a refusal is folded onto one line", async (t) => {
  const root = await tempDir(t);
  const weird = join(root, "a \n b");
  await writeFile(join(root, "plain"), "");
  await writeFile(weird, "");
  const err = await prepareDataDir(join(weird, "x")).then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e as Error,
  );
  const reason = err.message.slice(`cannot use data dir ${join(weird, "x")}: `.length);
  assert.ok(!reason.includes("\n"), reason);
  assert.match(reason, /a b/);
});
