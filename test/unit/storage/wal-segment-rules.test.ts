/**
 * Segment files (src/storage/wal-segment.ts) and the WAL's errors (wal-errors.ts), on
 * their own: which file names count as segments and in what order they replay, how a
 * segment is created and opened, and what the errors tell the operator. Through the WAL
 * only names it wrote itself were ever listed, never in an order that differs between
 * lexical and numeric, and no test read an error's name or whole message.
 */
import assert from "node:assert/strict";
import { constants } from "node:fs";
import fsPromises, { readFile, stat, writeFile } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { WalCorruptionError, WalStateError } from "../../../src/storage/wal-errors.ts";
import {
  createSegment,
  listSegments,
  openSegmentForAppend,
  segmentName,
  segmentPath,
} from "../../../src/storage/wal-segment.ts";
import { segName, tempDir } from "./fixtures.ts";

test("a segment is named by 16 lowercase hex digits and .wal", () => {
  assert.equal(segmentName(0), "0000000000000000.wal");
  assert.equal(segmentName(42), "000000000000002a.wal");
  assert.equal(segmentName(2 ** 52), "0010000000000000.wal");
  assert.equal(segmentPath("/d/wal", 255), join("/d/wal", "00000000000000ff.wal"));
});

test("listing: only exact segment names count, in numeric order", async (t) => {
  const dir = await tempDir(t);
  const seqs = [0x10, 0x9, 0xa, 0x100, 0x2, 0x1f];
  for (const seq of seqs) await writeFile(join(dir, segName(seq)), "");
  for (const other of [
    "HARDSTATE",
    "FIRST",
    `${segName(3)}.bak`, // a backup copy
    `x${segName(4)}`,
    "000000000000005.wal", // 15 digits
    "00000000000000006.wal", // 17 digits
    "000000000000000B.wal", // upper case
    "000000000000000g.wal",
    "0000000000000007.WAL",
    "0000000000000008wal",
  ]) {
    await writeFile(join(dir, other), "");
  }
  assert.deepEqual(await listSegments(dir), [0x2, 0x9, 0xa, 0x10, 0x1f, 0x100]);
});

test("listing sorts whatever order the directory returns", async (t) => {
  const dir = await tempDir(t);
  const seqs = [0x2, 0x9, 0xa, 0x10, 0x1f, 0x100];
  for (const seq of seqs) await writeFile(join(dir, segName(seq)), "");
  // this file system happens to list them sorted: hand them out in reverse
  const real = fsPromises.readdir;
  t.mock.method(fsPromises, "readdir", async (...args: unknown[]) => {
    const names = (await (real as (...a: unknown[]) => Promise<string[]>)(...args)).sort();
    return names.reverse();
  });
  syncBuiltinESMExports();
  try {
    assert.deepEqual(await listSegments(dir), seqs);
  } finally {
    t.mock.restoreAll();
    syncBuiltinESMExports();
  }
});

test("listing an empty directory gives no segments", async (t) => {
  assert.deepEqual(await listSegments(await tempDir(t)), []);
});

test("a new segment is empty, mode 0600, and refuses to replace an existing one", async (t) => {
  const dir = await tempDir(t);
  const handle = await createSegment(dir, 3);
  try {
    await handle.write(Buffer.from("abc"), 0, 3, 0);
  } finally {
    await handle.close();
  }
  const info = await stat(segmentPath(dir, 3));
  assert.equal(info.mode & 0o777, 0o600);
  assert.equal((await readFile(segmentPath(dir, 3))).toString(), "abc");
  await assert.rejects(createSegment(dir, 3), { code: "EEXIST" });
  assert.equal((await readFile(segmentPath(dir, 3))).toString(), "abc");
});

test("a segment whose mode cannot be set is not handed out (the error propagates)", async (t) => {
  const dir = await tempDir(t);
  const probe = await createSegment(dir, 0);
  await probe.close();
  const proto = Object.getPrototypeOf(probe) as { chmod: () => Promise<void> };
  t.mock.method(proto, "chmod", async () => {
    throw Object.assign(new Error("EPERM: operation not permitted"), { code: "EPERM" });
  });
  await assert.rejects(createSegment(dir, 1), { code: "EPERM" });
  t.mock.restoreAll();
});

test("a segment opened for appending is read-write and O_DSYNC, and must exist", async (t) => {
  const dir = await tempDir(t);
  await writeFile(segmentPath(dir, 1), "hello");
  const handle = await openSegmentForAppend(dir, 1);
  try {
    await handle.write(Buffer.from("J"), 0, 1, 0);
    const buf = Buffer.alloc(5);
    await handle.read(buf, 0, 5, 0);
    assert.equal(buf.toString(), "Jello");
    const flags = await fdFlags(handle.fd);
    if (flags !== null) assert.ok((flags & constants.O_DSYNC) !== 0, `flags ${flags.toString(8)}`);
  } finally {
    await handle.close();
  }
  await assert.rejects(openSegmentForAppend(dir, 2), { code: "ENOENT" });
});

/** The open flags of `fd` from /proc (Linux); null elsewhere. */
async function fdFlags(fd: number): Promise<number | null> {
  try {
    const text = await readFile(`/proc/self/fdinfo/${fd}`, "utf8");
    const match = /^flags:\s+([0-7]+)$/m.exec(text);
    return match?.[1] === undefined ? null : Number.parseInt(match[1], 8);
  } catch {
    return null;
  }
}

test("a corruption error names the file, offset and reason, and is a startup error", () => {
  const err = new WalCorruptionError("/d/wal/0000000000000001.wal", 58, "checksum mismatch");
  assert.ok(err instanceof StartupError);
  assert.equal(err.kind, "corrupt");
  assert.equal(err.name, "WalCorruptionError");
  assert.equal(err.file, "/d/wal/0000000000000001.wal");
  assert.equal(err.offset, 58);
  assert.equal(err.reason, "checksum mismatch");
  assert.equal(
    err.message,
    "corrupt WAL: /d/wal/0000000000000001.wal at byte offset 58: checksum mismatch; " +
      "refusing to start (restore this node's data dir, or wipe it and re-add the node)",
  );
});

test("a state error is an Error named WalStateError carrying its message", () => {
  const err = new WalStateError("Wal.save called after close");
  assert.ok(err instanceof Error);
  assert.ok(!(err instanceof StartupError));
  assert.equal(err.name, "WalStateError");
  assert.equal(err.message, "Wal.save called after close");
});
