/**
 * Edges of `Wal` (src/storage/wal.ts) that the WAL tests and wal-rules.test.ts left
 * open, one rule per test: a segment full to the byte, compaction that has nothing to
 * rotate, a compaction start whose first entry a later save rewrote, old segments that
 * are already gone (or cannot be deleted), a torn header in the first segment, and a
 * failure that is not an `Error`; and (session 6, the in-process mutation run) an intact
 * header never written over at open, a segment starting at 0 made first, maintenance
 * holding off saves and close, a directory that cannot be examined, a second close.
 * Real disk in temp dirs; FileHandle methods mocked on the shared prototype where a
 * failure must be injected or a call counted.
 */
import assert from "node:assert/strict";
import fsPromises, { mkdir, open, readdir, readFile, rm, stat, truncate } from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { EMPTY_HARD_STATE } from "../../../src/raft/types.ts";
import { HARD_STATE_FILE, HardStateFile } from "../../../src/storage/hard-state-file.ts";
import { Wal } from "../../../src/storage/index.ts";
import {
  entries,
  entry,
  HARD_STATE_RECORD,
  LOG_START_RECORD,
  plain,
  recordBytes,
  SEGMENT_HEADER,
  segmentHeader,
  segName,
  tempDir,
} from "./fixtures.ts";
import { logSyncs } from "./fs-spy.ts";

async function segments(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
}

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir);
  await wal.close();
  return contents;
}

async function writevOf(dir: string): Promise<{ writev: (...args: unknown[]) => unknown }> {
  const probe = await open(join(dir, "probe"), "w");
  await probe.close();
  await rm(join(dir, "probe"));
  return Object.getPrototypeOf(probe);
}

test("an empty save writes nothing and tells the observer nothing", async (t) => {
  const dir = await tempDir(t);
  const told: number[] = [];
  const { wal } = await Wal.open(dir, { observer: { saved: (bytes) => void told.push(bytes) } });
  const proto = await writevOf(dir);
  const writev = t.mock.method(proto, "writev");
  await wal.save([], null);
  assert.equal(writev.mock.callCount(), 0, "no system call for an empty save");
  assert.deepEqual(told, []);
  await wal.save([entry(1, 1)], null);
  assert.deepEqual(told, [recordBytes(entry(1, 1))]);
  await wal.close();
});

test("a segment rotates once it holds segmentBytes exactly, not a byte before", async (t) => {
  const one = recordBytes(entry(1, 1));
  for (const [extra, count] of [
    [0, 2],
    [1, 1],
  ] as const) {
    const dir = await tempDir(t);
    const { wal } = await Wal.open(dir, { segmentBytes: SEGMENT_HEADER + one + extra });
    await wal.save([entry(1, 1)], null); // the segment now holds SEGMENT_HEADER + one bytes
    await wal.save([entry(2, 1)], null);
    assert.equal(wal.segmentCount(), count, `segmentBytes = header + record + ${extra}`);
    await wal.close();
  }
});

test("compaction rotates only when the current segment holds entries above its start", async (t) => {
  // an empty log: nothing to rotate, whatever the index
  const empty = await tempDir(t);
  const { wal: fresh } = await Wal.open(empty);
  await fresh.compact(3);
  await fresh.close();
  assert.deepEqual(await segments(empty), [segName(0)]);

  for (const next of ["past the end", "at the current start"] as const) {
    const dir = await tempDir(t);
    const { wal } = await Wal.open(dir);
    await wal.save(entries(1, 5, 1), null);
    await wal.compact(5); // rotates: segment 1 starts at 5, segment 0 goes
    assert.deepEqual(await segments(dir), [segName(1)]);
    if (next === "past the end") {
      await wal.compact(7); // segment 1 holds nothing above its start
    } else {
      await wal.save(entries(6, 9, 1), null);
      await wal.compact(5); // segment 1 already starts at 5
    }
    assert.equal(wal.segmentCount(), 1, next);
    await wal.close();
    assert.deepEqual(await segments(dir), [segName(1)], next);
  }
});

test("a segment is never made first when a later save rewrote the entry at its start", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 5, 1), null);
  await wal.compact(3); // rotates: segment 1 starts at (5, 1); nothing deleted
  assert.equal(wal.segmentCount(), 2);
  const rewritten = entry(5, 2);
  await wal.save([rewritten], null); // a new leader's entry 5 lands in segment 1
  await wal.compact(5);
  // segment 1 cannot stand alone: its log-start says 5 is compacted, yet it rewrites 5
  assert.deepEqual(await segments(dir), [segName(0), segName(1)]);
  await wal.close();
  const contents = await reopen(dir);
  assert.equal(contents.offset, 0);
  assert.deepEqual(plain(contents.entries), plain([...entries(1, 4, 1), rewritten]));
});

test("an old segment already gone is skipped; one that cannot be deleted fails compaction", async (t) => {
  for (const damage of ["gone", "directory"] as const) {
    const dir = await tempDir(t);
    const { wal } = await Wal.open(dir, { segmentBytes: 1 });
    for (let i = 1; i <= 3; i++) await wal.save([entry(i, 1)], null); // segments 0..3
    const path = join(dir, segName(1));
    await rm(path);
    if (damage === "directory") await mkdir(path);
    if (damage === "gone") {
      await wal.compact(2);
      assert.deepEqual(await segments(dir), [segName(3)], "segments 0..2 deleted");
      await wal.save([entry(4, 1)], null);
    } else {
      await assert.rejects(wal.compact(2), { code: "EISDIR" });
      await assert.rejects(wal.save([entry(4, 1)], null), /unusable after a failed save: EISDIR/);
    }
    await wal.close();
  }
});

test("a header torn in the first segment of a new WAL is rewritten whole at open", async (t) => {
  const dir = await tempDir(t);
  await reopen(dir);
  const path = join(dir, segName(0));
  // the log-start record made it, the hard-state record after it did not
  await truncate(path, LOG_START_RECORD + 10);
  const { wal } = await Wal.open(dir);
  assert.ok((await readFile(path)).equals(segmentHeader(0, 0, EMPTY_HARD_STATE)));
  await wal.save([entry(1, 1)], null);
  await wal.close();
  assert.equal((await stat(path)).size, SEGMENT_HEADER + recordBytes(entry(1, 1)));
  assert.deepEqual(plain((await reopen(dir)).entries), plain([entry(1, 1)]));
});

test("a failure that is not an Error is reported by its text", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const proto = await writevOf(dir);
  t.mock.method(proto, "writev", async () => {
    throw "the disk said no";
  });
  await assert.rejects(wal.save([entry(1, 1)], null), (err) => err === "the disk said no");
  t.mock.restoreAll();
  await assert.rejects(wal.save([entry(1, 1)], null), {
    name: "WalStateError",
    message: "WAL unusable after a failed save: the disk said no",
  });
  await wal.close();
});

test("open writes over no intact header: a crash there could tear durable records", async (t) => {
  // a segment holding a vote after its header, before any entry
  const dir = await tempDir(t);
  const voted = { term: 1, vote: 1, commit: 0 };
  const { wal } = await Wal.open(dir);
  await wal.save([], voted);
  await wal.close();
  const path = join(dir, segName(0));
  const before = await readFile(path);
  assert.equal(before.length, SEGMENT_HEADER + HARD_STATE_RECORD);
  const { wal: again, contents } = await Wal.open(dir);
  assert.deepEqual({ ...contents.hardState }, voted);
  assert.ok((await readFile(path)).equals(before), "open changed no byte");
  await again.save([entry(1, 1)], null);
  await again.close();
  assert.equal((await stat(path)).size, before.length + recordBytes(entry(1, 1)), "appended");
  const reopened = await reopen(dir);
  assert.deepEqual(plain(reopened.entries), plain([entry(1, 1)]));
  assert.deepEqual({ ...reopened.hardState }, voted);

  // a segment of exactly a header, HARDSTATE newer (a crash after hardstate-written)
  const bare = await tempDir(t);
  await reopen(bare);
  const header = await readFile(join(bare, segName(0)));
  const { file } = await HardStateFile.open(bare, EMPTY_HARD_STATE);
  await file.write(3, 2);
  await file.close();
  const { wal: third, contents: newer } = await Wal.open(bare);
  assert.deepEqual({ ...newer.hardState }, { term: 3, vote: 2, commit: 0 });
  await third.close();
  assert.ok((await readFile(join(bare, segName(0)))).equals(header), "the whole header kept");
});

test("a segment whose log starts at index 0 can be made first", async (t) => {
  const dir = await tempDir(t);
  const voted = { term: 1, vote: 1, commit: 0 };
  const { wal } = await Wal.open(dir, { segmentBytes: SEGMENT_HEADER + HARD_STATE_RECORD });
  await wal.save([], voted); // segment 0 full: its header and a vote, no entry
  await wal.save(entries(1, 3, 1), null); // rotates first: segment 1 starts at (0, 0)
  assert.equal(wal.segmentCount(), 2);
  await wal.compact(2); // rotates to segment 2 at (3, 1); segment 1 stands alone
  await wal.close();
  assert.deepEqual(await segments(dir), [segName(1), segName(2)]);
  const contents = await reopen(dir);
  assert.equal(contents.offset, 0);
  assert.deepEqual(plain(contents.entries), plain(entries(1, 3, 1)));
  assert.deepEqual({ ...contents.hardState }, voted);
});

test("compaction and reset hold off saves and close until they finish", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 5, 1), null);
  for (const [name, running] of [
    ["compact", () => wal.compact(3)],
    ["reset", () => wal.reset(9, 2)],
  ] as const) {
    const step = running();
    await assert.rejects(
      wal.save([entry(6, 1)], null),
      {
        message: "Wal.save called while another save is in progress",
      },
      name,
    );
    await assert.rejects(
      wal.close(),
      {
        message: "Wal.close called while a save is in progress",
      },
      name,
    );
    await step;
  }
  await wal.save([entry(10, 2)], null);
  await wal.close();
  const contents = await reopen(dir);
  assert.equal(contents.offset, 9);
  assert.deepEqual(plain(contents.entries), plain([entry(10, 2)]));
});

test("a WAL directory that cannot be examined is an error, not made again", async (t) => {
  const dir = await tempDir(t);
  await reopen(dir);
  const writable = fsPromises as { stat: unknown };
  const real = fsPromises.stat;
  const eio = Object.assign(new Error(`EIO: i/o error, stat '${dir}'`), { code: "EIO" });
  writable.stat = (path: Parameters<typeof real>[0], ...rest: unknown[]) =>
    String(path) === dir ? Promise.reject(eio) : Reflect.apply(real, fsPromises, [path, ...rest]);
  syncBuiltinESMExports();
  try {
    await assert.rejects(Wal.open(dir), (err: unknown) => {
      assert.ok(err instanceof StartupError, String(err));
      assert.equal(err.kind, "data_dir");
      assert.equal(err.message, `cannot open WAL in ${dir}: EIO: i/o error, stat '${dir}'`);
      return true;
    });
  } finally {
    writable.stat = real;
    syncBuiltinESMExports();
  }
});

test("a second close closes no file again", async (t) => {
  const dir = await tempDir(t);
  const log = logSyncs(t);
  const { wal } = await Wal.open(dir);
  await wal.close();
  const closed = log.filter((line) => line.startsWith("close "));
  for (const file of [segName(0), HARD_STATE_FILE]) {
    assert.ok(closed.includes(`close ${join(dir, file)}`), `${file} closed`);
  }
  const before = log.length;
  await wal.close();
  assert.deepEqual(log.slice(before), [], "nothing closed twice");
});
