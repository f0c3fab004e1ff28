import assert from "node:assert/strict";
import { constants } from "node:fs";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { EMPTY_HARD_STATE, type Entry, EntryKind } from "../../../src/raft/types.ts";
import { Wal, WalStateError } from "../../../src/storage/index.ts";
import { entries, entry, payload, plain, SEGMENT_HEADER, tempDir } from "./fixtures.ts";

async function reopen(dir: string, segmentBytes?: number) {
  const { wal, contents } = await Wal.open(dir, { segmentBytes });
  await wal.close();
  return contents;
}

/** The prototype shared by every FileHandle, so a test can observe the WAL's I/O calls. */
interface FileHandleMethods {
  writev: (...args: unknown[]) => Promise<unknown>;
  datasync: (...args: unknown[]) => Promise<void>;
}

async function fileHandleProto(dir: string): Promise<FileHandleMethods> {
  const probe = await open(join(dir, "probe"), "w");
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandleMethods;
}

test("a new WAL creates its directory and first segment, and is empty", async (t) => {
  const dir = join(await tempDir(t), "data", "wal");
  const { wal, contents } = await Wal.open(dir);
  await wal.close();
  assert.deepEqual(contents, {
    hardState: EMPTY_HARD_STATE,
    entries: [],
    offset: 0,
    offsetTerm: 0,
  });
  assert.deepEqual((await readdir(dir)).sort(), ["0000000000000000.wal", "HARDSTATE"]);
  // The segment already holds its header, so it can stand alone after compaction.
  assert.equal((await stat(join(dir, "0000000000000000.wal"))).size, SEGMENT_HEADER);
  const again = await reopen(dir);
  assert.deepEqual(again, { hardState: EMPTY_HARD_STATE, entries: [], offset: 0, offsetTerm: 0 });
  assert.equal((await stat(join(dir, "0000000000000000.wal"))).size, SEGMENT_HEADER);
});

test("entries and hard state survive reopen byte for byte, across several saves", async (t) => {
  const dir = await tempDir(t);
  const saved: Entry[] = [
    entry(1, 1, 0),
    entry(2, 1, 1),
    { term: 1, index: 3, kind: EntryKind.Noop, data: new Uint8Array(0) },
    entry(4, 2, 1024 * 1024),
    entry(5, 2, 4096),
  ];
  const { wal } = await Wal.open(dir);
  await wal.save(saved.slice(0, 2), { term: 1, vote: 3, commit: 0 });
  await wal.save(saved.slice(2, 3), null);
  await wal.save([], { term: 2, vote: 0, commit: 2 });
  await wal.save(saved.slice(3), { term: 2, vote: 1, commit: 4 });
  await wal.close();

  const contents = await reopen(dir);
  assert.deepEqual(contents.hardState, { term: 2, vote: 1, commit: 4 });
  assert.equal(contents.entries.length, saved.length);
  assert.deepEqual(plain(contents.entries), plain(saved));
  assert.equal(contents.entries[3]?.data.length, 1024 * 1024);
  assert.ok(Buffer.from(contents.entries[3]?.data ?? []).equals(payload(4, 1024 * 1024)));
});

test("u64 fields round-trip values beyond 32 bits", async (t) => {
  const dir = await tempDir(t);
  const big = Number.MAX_SAFE_INTEGER;
  const e: Entry = { term: 2 ** 40 + 7, index: big, kind: EntryKind.Normal, data: payload(1, 3) };
  const { wal } = await Wal.open(dir);
  // An empty log starts at 1; a log this far along only exists after a snapshot (reset),
  // whose log-start record carries the u64 index and term too.
  await wal.reset(big - 1, 2 ** 40 + 6);
  await wal.save([e], { term: 2 ** 33 + 1, vote: 2 ** 32, commit: big - 1 });
  await wal.close();
  const contents = await reopen(dir);
  assert.deepEqual(plain(contents.entries), plain([e]));
  assert.equal(contents.offset, big - 1);
  assert.equal(contents.offsetTerm, 2 ** 40 + 6);
  assert.deepEqual(contents.hardState, { term: 2 ** 33 + 1, vote: 2 ** 32, commit: big - 1 });
});

test("a later save at a lower index truncates the log (Raft conflict resolution)", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 10, 1), null);
  await wal.save(entries(6, 8, 2), null);
  await wal.close();
  const contents = await reopen(dir);
  assert.deepEqual(plain(contents.entries), plain([...entries(1, 5, 1), ...entries(6, 8, 2)]));
});

test("after truncation the WAL continues from the new last index, also after reopen", async (t) => {
  const dir = await tempDir(t);
  const first = await Wal.open(dir);
  await first.wal.save(entries(1, 10, 1), null);
  await first.wal.save(entries(4, 5, 2), null);
  await assert.rejects(first.wal.save([entry(7, 2)], null), WalStateError);
  await first.wal.save([entry(6, 2)], null);
  await first.wal.close();

  const second = await Wal.open(dir);
  assert.deepEqual(
    plain(second.contents.entries),
    plain([...entries(1, 3, 1), ...entries(4, 6, 2)]),
  );
  await assert.rejects(second.wal.save([entry(8, 3)], null), WalStateError);
  await second.wal.close();
});

test("a save at exactly the last index replaces just that entry", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.save(entries(1, 5, 1), null);
  await wal.save([entry(5, 2)], null);
  await wal.close();
  assert.deepEqual(plain((await reopen(dir)).entries), plain([...entries(1, 4, 1), entry(5, 2)]));
});

test("truncating at the first entry replaces the whole log; at or below the reset index is refused", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  await wal.reset(99, 1); // a snapshot covers 1..99: the log starts at 100
  await wal.save(entries(100, 105, 1), null);
  await wal.save(entries(100, 101, 2), null);
  await assert.rejects(wal.save(entries(99, 101, 3), null), WalStateError);
  await assert.rejects(wal.save(entries(50, 51, 3), null), WalStateError);
  await wal.close();
  const contents = await reopen(dir);
  assert.deepEqual(plain(contents.entries), plain(entries(100, 101, 2)));
  assert.equal(contents.offset, 99);
  assert.equal(contents.offsetTerm, 1);

  // The floor survives a restart: the snapshot's entries stay out of reach.
  const again = await Wal.open(dir);
  await assert.rejects(again.wal.save([entry(99, 3)], null), WalStateError);
  await again.wal.save(entries(100, 100, 3), null);
  await again.wal.close();
  assert.deepEqual(plain((await reopen(dir)).entries), plain([entry(100, 3)]));
});

test("tiny segments rotate into many files and replay in order", async (t) => {
  const dir = await tempDir(t);
  // Each save (one 126-byte entry record + a 33-byte hard-state record, after the 58-byte
  // segment header) fills a segment.
  const { wal } = await Wal.open(dir, { segmentBytes: 150 });
  for (let i = 1; i <= 40; i++) await wal.save([entry(i, 1, 100)], { term: 1, vote: 1, commit: i });
  await wal.save(entries(20, 25, 2, 50), null); // truncation that reaches back across segments
  await wal.close();

  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  assert.equal(names.length, 41);
  for (const [i, name] of names.entries()) {
    assert.equal(name, `${i.toString(16).padStart(16, "0")}.wal`);
  }
  const contents = await reopen(dir, 150);
  assert.deepEqual(
    plain(contents.entries),
    plain([...entries(1, 19, 1, 100), ...entries(20, 25, 2, 50)]),
  );
  assert.deepEqual(contents.hardState, { term: 1, vote: 1, commit: 40 });
});

test("a segment is not split: one save's records stay in one file", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: 100 });
  await wal.save(entries(1, 20, 1, 30), null);
  await wal.save(entries(21, 22, 1, 30), null);
  await wal.close();
  const names = (await readdir(dir)).filter((n) => n.endsWith(".wal")).sort();
  assert.equal(names.length, 2);
  assert.equal((await stat(join(dir, names[0] ?? ""))).size, SEGMENT_HEADER + 20 * (26 + 30));
  assert.equal((await stat(join(dir, names[1] ?? ""))).size, SEGMENT_HEADER + 2 * (26 + 30));
  assert.equal((await reopen(dir, 100)).entries.length, 22);
});

test("one save is one synchronous writev on an O_DSYNC segment, and resolves only after it", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const proto = await fileHandleProto(dir);
  const calls: string[] = [];
  const flags: number[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let entered: () => void = () => {};
  const writing = new Promise<void>((resolve) => {
    entered = resolve;
  });
  const realWritev = proto.writev;
  t.mock.method(proto, "writev", async function (this: { fd: number }, ...args: unknown[]) {
    calls.push("writev");
    entered();
    flags.push(await openFlags(this.fd));
    await gate;
    return realWritev.apply(this, args);
  });
  t.mock.method(proto, "datasync", async () => {
    calls.push("datasync");
  });

  let done = false;
  const saving = wal.save(entries(1, 100, 1, 64), { term: 1, vote: 2, commit: 0 }).then(() => {
    done = true;
  });
  await writing; // the write is under way and held at the gate
  await new Promise((resolve) => setImmediate(resolve)); // anything not awaiting it runs now
  assert.equal(done, false, "save resolved before its write returned");
  release();
  await saving;
  assert.deepEqual(calls, ["writev"]);
  assert.ok(
    (flags[0] ?? 0) & constants.O_DSYNC,
    `segment not opened O_DSYNC (flags ${flags[0]?.toString(8)})`,
  );
  t.mock.restoreAll();
  await wal.close();
  assert.equal((await reopen(dir)).entries.length, 100);
});

test("a batch of more entries than one writev takes is still written by one call", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const proto = await fileHandleProto(dir);
  const counts: number[] = [];
  const realWritev = proto.writev;
  t.mock.method(proto, "writev", function (this: unknown, ...args: unknown[]) {
    counts.push((args[0] as unknown[]).length);
    return realWritev.apply(this, args);
  });
  await wal.save(entries(1, 3000, 1, 16), null);
  t.mock.restoreAll();
  assert.equal(counts.length, 1);
  assert.ok((counts[0] ?? 0) <= 1024, `${counts[0]} buffers in one writev`);
  await wal.close();
  const replayed = (await reopen(dir)).entries;
  assert.equal(replayed.length, 3000);
  assert.equal(replayed.at(-1)?.index, 3000);
});

/** The open(2) flags of `fd`, from /proc (Linux). */
async function openFlags(fd: number): Promise<number> {
  const info = await readFile(`/proc/self/fdinfo/${fd}`, "utf8");
  const match = /^flags:\s+([0-7]+)/m.exec(info);
  return match?.[1] === undefined ? 0 : Number.parseInt(match[1], 8);
}

test("concurrent saves, saves after close and saves after a failure are refused", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  const first = wal.save([entry(1, 1)], null);
  await assert.rejects(wal.save([entry(2, 1)], null), WalStateError);
  await first;

  const proto = await fileHandleProto(dir);
  t.mock.method(proto, "writev", async () => {
    throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
  });
  await assert.rejects(wal.save([entry(2, 1)], null), /EIO/);
  t.mock.restoreAll();
  await assert.rejects(wal.save([entry(2, 1)], null), /unusable after a failed save/);
  await wal.close();
  await assert.rejects(wal.save([entry(2, 1)], null), /after close/);
});

test("invalid batches are refused before anything is written", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir);
  // An empty log starts at 1 (only reset() starts it elsewhere).
  await assert.rejects(wal.save([entry(2, 1)], null), WalStateError);
  await wal.save(entries(1, 3, 1), null);
  await assert.rejects(wal.save([entry(4, 1), entry(6, 1)], null), WalStateError);
  await assert.rejects(wal.save([entry(0, 1)], null), WalStateError);
  await assert.rejects(wal.save([{ ...entry(4, 1), term: 1.5 }], null), WalStateError);
  await assert.rejects(wal.save([], { term: -1, vote: 0, commit: 0 }), WalStateError);
  await wal.save([entry(4, 1)], null);
  await wal.close();
  assert.deepEqual(plain((await reopen(dir)).entries), plain(entries(1, 4, 1)));
});
