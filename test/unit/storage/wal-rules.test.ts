/**
 * Rules of `Wal` (src/storage/wal.ts) that the WAL tests did not pin, one test per rule:
 * the segment-size option, what open reports for an unusable directory or FIRST marker,
 * what the observer is told, how a full disk leaves the WAL usable (and other failures
 * do not), and close. Real disk, temp dirs; failures are injected by mocking the shared
 * FileHandle prototype.
 */
import assert from "node:assert/strict";
import { mkdir, open, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { Wal, WalCorruptionError, WalStateError } from "../../../src/storage/index.ts";
import {
  entries,
  entry,
  HARD_STATE_RECORD,
  plain,
  recordBytes,
  SEGMENT_HEADER,
  segName,
  tempDir,
} from "./fixtures.ts";

interface FileHandleMethods {
  writev: (...args: unknown[]) => Promise<unknown>;
  truncate: (...args: unknown[]) => Promise<void>;
}

async function fileHandleProto(dir: string): Promise<FileHandleMethods> {
  const probe = await open(join(dir, "probe"), "w");
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandleMethods;
}

const enospc = () =>
  Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir);
  await wal.close();
  return contents;
}

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
}

test("segmentBytes must be a positive safe integer; 1 rotates before every save", async (t) => {
  const dir = await tempDir(t);
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53]) {
    await assert.rejects(Wal.open(dir, { segmentBytes: bad }), {
      name: "RangeError",
      message: `segmentBytes must be a positive integer, got ${bad}`,
    });
  }
  assert.deepEqual(await readdir(dir), [], "nothing created for a refused option");
  const { wal } = await Wal.open(dir, { segmentBytes: 1 });
  await wal.save([entry(1, 1)], null);
  await wal.save([entry(2, 1)], null);
  assert.equal(wal.segmentCount(), 3);
  await wal.close();
  assert.deepEqual(await segments(dir), [0, 1, 2].map(segName));
  assert.deepEqual(plain((await reopen(dir)).entries), plain(entries(1, 2, 1)));
});

test("the default segment size is 64 MiB: saves stay in one segment", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  for (let i = 1; i <= 20; i++) await wal.save([entry(i, 1, 1000)], null);
  assert.equal(wal.segmentCount(), 1);
  await wal.close();
});

test("open of a path that is not a usable directory is a data_dir startup error", async (t) => {
  const base = await tempDir(t);
  const file = join(base, "plain-file");
  await writeFile(file, "x");
  await assert.rejects(Wal.open(file), (err: unknown) => {
    assert.ok(err instanceof StartupError && !(err instanceof WalCorruptionError), String(err));
    assert.equal(err.kind, "data_dir");
    assert.match(err.message, new RegExp(`^cannot open WAL in ${file}: .*ENOTDIR`));
    return true;
  });
  // a missing parent is not created silently either: stat fails with ENOTDIR, not ENOENT
  await assert.rejects(Wal.open(join(file, "wal")), { kind: "data_dir" });
});

test("open creates a missing directory", async (t) => {
  const base = await tempDir(t);
  const { wal } = await Wal.open(join(base, "wal"));
  await wal.close();
  assert.deepEqual(await segments(join(base, "wal")), [segName(0)]);
});

test("FIRST: older segments are deleted at open; a FIRST naming no segment is corruption", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 1 });
  for (let i = 1; i <= 3; i++) await wal.save([entry(i, 1)], null);
  await wal.close();
  assert.deepEqual(await segments(dir), [0, 1, 2, 3].map(segName));
  // segment 2 (header at log index 1) is where replay may start
  await writeFile(join(dir, "FIRST"), "2\n");
  const contents = await reopen(dir);
  assert.deepEqual(await segments(dir), [2, 3].map(segName));
  assert.equal(contents.offset, 1);
  assert.deepEqual(plain(contents.entries), plain(entries(2, 3, 1)));

  for (const text of ["7\n", "x\n", "\n", "1\n"]) {
    await writeFile(join(dir, "FIRST"), text);
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof WalCorruptionError, String(err));
      assert.equal(err.file, join(dir, "FIRST"));
      assert.equal(err.offset, 0);
      assert.equal(err.reason, `names segment ${text.trim()}, which is not there`);
      return true;
    });
  }
  assert.deepEqual(await segments(dir), [2, 3].map(segName), "nothing deleted on a bad FIRST");
});

test("FIRST that cannot be read (not ENOENT) is a data_dir error, not ignored", async (t) => {
  const dir = await tempDir(t);
  await reopen(dir);
  await mkdir(join(dir, "FIRST"));
  await assert.rejects(Wal.open(dir), (err: unknown) => {
    assert.ok(err instanceof StartupError && !(err instanceof WalCorruptionError), String(err));
    assert.equal(err.kind, "data_dir");
    assert.match(err.message, /EISDIR/);
    return true;
  });
});

test("the observer is told the bytes of each save and times within the save's own", async (t) => {
  const dir = await tempDir(t);
  const seen: [number, number, number][] = [];
  const observer = {
    saved: (b: number, s: number, total: number) => void seen.push([b, s, total]),
  };
  const { wal } = await Wal.open(dir, { observer });
  const batch = entries(1, 3, 1, 40);
  const before = performance.now();
  await wal.save(batch, { term: 1, vote: 1, commit: 0 }); // a vote: HARDSTATE written too
  const elapsed = (performance.now() - before) / 1000;
  await wal.save([], { term: 1, vote: 1, commit: 2 });
  await wal.close();
  assert.equal(seen.length, 2);
  const [bytes, sync, total] = seen[0] ?? [0, 0, 0];
  assert.equal(bytes, batch.reduce((n, e) => n + recordBytes(e), 0) + HARD_STATE_RECORD);
  assert.ok(sync >= 0 && sync <= total, `sync ${sync} total ${total}`);
  assert.ok(total <= elapsed, `total ${total} s exceeds the save's ${elapsed} s`);
  assert.equal(seen[1]?.[0], HARD_STATE_RECORD);
  const size = (await stat(join(dir, segName(0)))).size;
  assert.equal(size, SEGMENT_HEADER + (bytes as number) + HARD_STATE_RECORD);
});

test("a save that fails for lack of space is undone and may be retried", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save([entry(1, 1)], null);
  const size = (await stat(join(dir, segName(0)))).size;
  const proto = await fileHandleProto(dir);
  const realWritev = proto.writev;
  t.mock.method(proto, "writev", async function (this: unknown, ...args: unknown[]) {
    // half a write reached the file before the disk filled up
    const [buffers, position] = args as [Buffer[], number];
    const all = Buffer.concat(buffers);
    await realWritev.call(this, [all.subarray(0, all.length >> 1)], position);
    throw enospc();
  });
  await assert.rejects(wal.save(entries(2, 3, 1), null), { code: "ENOSPC" });
  t.mock.restoreAll();
  assert.equal((await stat(join(dir, segName(0)))).size, size, "partial write cut off");
  await wal.save(entries(2, 3, 1), null);
  await wal.close();
  assert.deepEqual(plain((await reopen(dir)).entries), plain(entries(1, 3, 1)));
});

test("a full disk whose undo also fails, or any other write error, poisons the WAL", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const proto = await fileHandleProto(dir);
  t.mock.method(proto, "writev", async () => {
    throw enospc();
  });
  t.mock.method(proto, "truncate", async () => {
    throw Object.assign(new Error("EIO: i/o error"), { code: "EIO" });
  });
  await assert.rejects(wal.save([entry(1, 1)], null), { code: "ENOSPC" });
  t.mock.restoreAll();
  await assert.rejects(wal.save([entry(1, 1)], null), {
    name: "WalStateError",
    message: "WAL unusable after a failed save: ENOSPC: no space left on device",
  });
  await wal.close();
});

test("a rotation that runs out of space removes the new segment and keeps the WAL usable", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 5, 1), null);
  const proto = await fileHandleProto(dir);
  t.mock.method(proto, "writev", async () => {
    throw enospc();
  });
  await assert.rejects(wal.compact(3), { code: "ENOSPC" });
  t.mock.restoreAll();
  assert.deepEqual(await segments(dir), [segName(0)]);
  assert.equal(wal.segmentCount(), 1);
  await wal.save([entry(6, 1)], null);
  await wal.compact(6);
  assert.equal(wal.segmentCount(), 1, "segment 0 deleted, only the new one left");
  await wal.close();
  assert.deepEqual(await segments(dir), [segName(1)]);
  const contents = await reopen(dir);
  assert.equal(contents.offset, 6);
  assert.deepEqual(contents.entries, []);
});

test("a maintenance step that fails otherwise poisons the WAL", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 5, 1), null);
  const proto = await fileHandleProto(dir);
  t.mock.method(proto, "writev", async () => {
    throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
  });
  await assert.rejects(wal.reset(9, 2), { code: "EIO" });
  t.mock.restoreAll();
  await assert.rejects(wal.save([entry(6, 1)], null), /unusable after a failed save: EIO/);
  await assert.rejects(wal.compact(2), WalStateError);
  await wal.close();
});

test("close waits for no one: during a save it refuses; twice is harmless", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const saving = wal.save([entry(1, 1)], null);
  await assert.rejects(wal.close(), {
    name: "WalStateError",
    message: "Wal.close called while a save is in progress",
  });
  await saving;
  await wal.close();
  await wal.close();
  await assert.rejects(wal.save([entry(2, 1)], null), {
    message: "Wal.save called after close",
  });
  await assert.rejects(wal.compact(1), { message: "Wal.save called after close" });
  assert.deepEqual(plain((await reopen(dir)).entries), plain([entry(1, 1)]));
});

test("a save of nothing writes nothing, and a save during another is refused by name", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const size = (await stat(join(dir, segName(0)))).size;
  await wal.save([], null);
  assert.equal((await stat(join(dir, segName(0)))).size, size);
  const first = wal.save([entry(1, 1)], null);
  await assert.rejects(wal.save([], null), {
    message: "Wal.save called while another save is in progress",
  });
  await assert.rejects(wal.reset(5, 1), {
    message: "Wal.save called while another save is in progress",
  });
  await first;
  await wal.close();
  const file = await readFile(join(dir, segName(0)));
  assert.equal(file.length, size + recordBytes(entry(1, 1)));
});
