/**
 * Compaction and reset: every segment opens with a header (log-start + hard state) so
 * that it replays on its own once older segments are deleted. These tests check that
 * compaction deletes exactly the segments it may, that what is left replays to the same
 * log (offset, entries byte for byte, latest hard state), that a crash at any point of a
 * compaction leaves a WAL that starts, and that damaged headers are repaired only when
 * they are a torn tail.
 */
import assert from "node:assert/strict";
import { copyFile, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { StartupError } from "../../../src/api/index.ts";
import { EMPTY_HARD_STATE, type Entry, type HardState } from "../../../src/raft/types.ts";
import { Wal, WalCorruptionError, WalStateError } from "../../../src/storage/index.ts";
import {
  entries,
  entry,
  LOG_START_RECORD,
  logStartRecord,
  plain,
  recordBytes,
  SEGMENT_HEADER,
  segmentHeader,
  segName,
  tempDir,
} from "./fixtures.ts";

/** Small enough that every 10-entry save (10 records of 37..40 bytes) fills its segment. */
const SEG_BYTES = 200;
const HS_EARLY: HardState = { term: 1, vote: 2, commit: 5 };
const HS_LATE: HardState = { term: 3, vote: 2, commit: 25 };

/** Entries 1..40: segment k holds entries 10k+1..10k+10, all of term k+1. */
const LOG: Entry[] = [1, 2, 3, 4].flatMap((term) =>
  entries(10 * term - 9, 10 * term, term, 10 + term),
);

async function reopen(dir: string) {
  const { wal, contents } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  const count = wal.segmentCount();
  await wal.close();
  return { ...contents, count };
}

async function walFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.endsWith(".wal")).sort();
}

/**
 * Writes LOG into four segments (prevIndex 0, 10, 20, 30). The hard state is saved twice:
 * HS_EARLY with the first batch (segment 0), HS_LATE with the third (segment 2), unless
 * `lateHardState` is false.
 */
async function writeFourSegments(dir: string, lateHardState = true): Promise<Wal> {
  const { wal } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  for (let k = 0; k < 4; k++) {
    const hs = k === 0 ? HS_EARLY : k === 2 && lateHardState ? HS_LATE : null;
    await wal.save(LOG.slice(10 * k, 10 * k + 10), hs);
  }
  assert.deepEqual(await walFiles(dir), [0, 1, 2, 3].map(segName));
  assert.equal(wal.segmentCount(), 4);
  return wal;
}

/** Asserts the WAL in `dir` replays to entries after `offset` of LOG, and `hardState`. */
async function expectLog(dir: string, offset: number, last: number, hardState: HardState) {
  const contents = await reopen(dir);
  assert.equal(contents.offset, offset, "offset");
  assert.equal(contents.offsetTerm, offset === 0 ? 0 : (LOG[offset - 1]?.term ?? -1), "offsetTerm");
  assert.deepEqual(plain(contents.entries), plain(LOG.slice(offset, last)));
  assert.deepEqual(contents.hardState, hardState);
  assert.equal(contents.count, (await walFiles(dir)).length, "segmentCount matches the files");
}

async function expectCorrupt(dir: string, file: string, offset: number, reason?: RegExp) {
  const path = join(dir, file);
  const sizeBefore = (await stat(path)).size;
  const err = await Wal.open(dir, { segmentBytes: SEG_BYTES }).then(
    () => assert.fail("open succeeded on a corrupt WAL"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WalCorruptionError, `expected WalCorruptionError, got ${err}`);
  assert.ok(err instanceof StartupError);
  assert.equal(err.kind, "corrupt");
  assert.equal(err.file, path);
  assert.equal(err.offset, offset);
  assert.ok(err.message.includes(path), err.message);
  assert.ok(err.message.includes(`offset ${offset}`), err.message);
  if (reason !== undefined) assert.match(err.message, reason);
  assert.equal((await stat(path)).size, sizeBefore, "a corrupt WAL must not be modified");
}

async function flipBit(path: string, offset: number, bit = 0): Promise<void> {
  const buf = await readFile(path);
  buf[offset] = (buf[offset] ?? 0) ^ (1 << bit);
  await writeFile(path, buf);
}

/**
 * compact(index) → the segments left (by sequence number) and the offset replay starts
 * from: a segment goes when all its entries are <= index, i.e. when the NEXT segment's
 * log-start says the log ended at or before index when it was created.
 */
const COMPACTIONS: { index: number; left: number[]; offset: number }[] = [
  { index: 0, left: [0, 1, 2, 3], offset: 0 },
  { index: 9, left: [0, 1, 2, 3], offset: 0 },
  { index: 10, left: [1, 2, 3], offset: 10 },
  { index: 25, left: [2, 3], offset: 20 },
  { index: 30, left: [3], offset: 30 },
  // Segment 3 holds 31..40: compaction starts segment 4 so that segment 3 can go later.
  { index: 35, left: [3, 4], offset: 30 },
  { index: 40, left: [4], offset: 40 },
];

for (const { index, left, offset } of COMPACTIONS) {
  test(`compact(${index}) deletes exactly the segments whose entries are all <= ${index}`, async (t) => {
    const dir = await tempDir(t);
    const wal = await writeFourSegments(dir);
    await wal.compact(index);
    assert.deepEqual(await walFiles(dir), left.map(segName));
    assert.equal(wal.segmentCount(), left.length);
    await wal.close();
    await expectLog(dir, offset, 40, HS_LATE);
  });
}

test("compaction keeps the latest hard state when it was only in a deleted segment", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir, false); // HS_EARLY only, in segment 0's body
  await wal.compact(25);
  await wal.close();
  assert.deepEqual(await walFiles(dir), [2, 3].map(segName));
  await expectLog(dir, 20, 40, HS_EARLY);

  const again = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  await again.wal.compact(40); // every segment that ever held a hard-state save goes
  await again.wal.close();
  assert.deepEqual(await walFiles(dir), [segName(4)]);
  await expectLog(dir, 40, 40, HS_EARLY);
});

test("after compact(index) saves at or below index are refused, above it they append", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.compact(25);
  await assert.rejects(wal.save([entry(25, 5)], null), WalStateError);
  await assert.rejects(wal.save(entries(3, 4, 5), null), WalStateError);
  await assert.rejects(wal.save([entry(42, 5)], null), WalStateError); // a gap is still a gap
  const after = [...LOG.slice(0, 26), ...entries(27, 28, 5, 7)];
  await wal.save(after.slice(26), { term: 5, vote: 1, commit: 26 }); // truncates 27..40
  await wal.close();

  const contents = await reopen(dir);
  assert.equal(contents.offset, 20);
  assert.deepEqual(plain(contents.entries), plain(after.slice(20)));
  assert.deepEqual(contents.hardState, { term: 5, vote: 1, commit: 26 });
});

test("compaction past the last entry leaves one header-only segment that replays", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.compact(40);
  await wal.compact(40); // idempotent: nothing new to rotate away
  assert.equal(wal.segmentCount(), 1);
  await wal.save([entry(41, 4, 3)], null);
  await wal.close();
  const file = await readFile(join(dir, segName(4)));
  assert.ok(file.subarray(0, SEGMENT_HEADER).equals(segmentHeader(40, 4, HS_LATE)));
  const contents = await reopen(dir);
  assert.equal(contents.offset, 40);
  assert.equal(contents.offsetTerm, 4);
  assert.deepEqual(plain(contents.entries), plain([entry(41, 4, 3)]));
  assert.deepEqual(contents.hardState, HS_LATE);
});

test("50 save/compact cycles of 100 entries keep at most 3 segments", async (t) => {
  const dir = await tempDir(t);
  let { wal } = await Wal.open(dir);
  let hs: HardState = EMPTY_HARD_STATE;
  for (let cycle = 1; cycle <= 50; cycle++) {
    const last = cycle * 100;
    hs = { term: cycle, vote: 1, commit: last };
    await wal.save(entries(last - 99, last, cycle, cycle % 7), hs);
    await wal.compact(last - 50);
    assert.ok(wal.segmentCount() <= 3, `cycle ${cycle}: ${wal.segmentCount()} segments`);
    assert.equal((await walFiles(dir)).length, wal.segmentCount(), `cycle ${cycle}`);
    if (cycle % 10 === 0) {
      await wal.close();
      ({ wal } = await Wal.open(dir));
      assert.ok(wal.segmentCount() <= 3);
    }
  }
  await wal.close();
  const contents = await reopen(dir);
  assert.ok(contents.offset <= 4950, `offset ${contents.offset} dropped uncompacted entries`);
  assert.ok(contents.offset >= 4900, `offset ${contents.offset}: compaction fell behind`);
  assert.equal(contents.offsetTerm, Math.ceil(contents.offset / 100));
  const expected: Entry[] = [];
  for (let i = contents.offset + 1; i <= 5000; i++) {
    const term = Math.ceil(i / 100);
    expected.push(entry(i, term, term % 7));
  }
  assert.deepEqual(plain(contents.entries), plain(expected));
  assert.deepEqual(contents.hardState, hs);
});

test("reset(index, term): one segment, reopen gives offset=index and no entries, hard state kept", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.reset(57, 6);
  assert.equal(wal.segmentCount(), 1);
  assert.deepEqual(await walFiles(dir), [segName(4)]);
  await wal.close();
  const { count, ...contents } = await reopen(dir);
  assert.deepEqual(contents, { hardState: HS_LATE, entries: [], offset: 57, offsetTerm: 6 });
  assert.equal(count, 1);

  const again = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  await assert.rejects(again.wal.save([entry(59, 6)], null), WalStateError, "gap after 57");
  await assert.rejects(again.wal.save([entry(57, 6)], null), WalStateError, "covered by reset");
  await assert.rejects(again.wal.save([entry(40, 6)], null), WalStateError, "covered by reset");
  await again.wal.save([entry(58, 6)], { term: 6, vote: 0, commit: 58 });
  await again.wal.close();
  const after = await reopen(dir);
  assert.equal(after.offset, 57);
  assert.deepEqual(plain(after.entries), plain([entry(58, 6)]));
  assert.deepEqual(after.hardState, { term: 6, vote: 0, commit: 58 });
});

test("reset below the last index discards the whole log, also after reopen", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.reset(15, 2); // the snapshot ends inside our log
  await assert.rejects(wal.save([entry(17, 2)], null), WalStateError, "gap after 15");
  await assert.rejects(wal.save([entry(15, 2)], null), WalStateError, "covered by reset");
  await wal.save([entry(16, 7)], null);
  await wal.close();
  const contents = await reopen(dir);
  assert.equal(contents.offset, 15);
  assert.equal(contents.offsetTerm, 2);
  assert.deepEqual(plain(contents.entries), plain([entry(16, 7)]));
  assert.deepEqual(contents.hardState, HS_LATE);
});

for (const [index, term, why] of [
  [57, 6, "beyond the log"],
  [40, 9, "at the last index, another term"],
  [15, 7, "inside the log, another term"],
] as const) {
  test(`a crash before reset(${index}, ${term}) (${why}) deleted the old segments replays as the reset log`, async (t) => {
    const dir = await tempDir(t);
    const wal = await writeFourSegments(dir);
    const saved = await tempDir(t);
    for (const name of await walFiles(dir)) await copyFile(join(dir, name), join(saved, name));
    await wal.reset(index, term);
    await wal.close();
    // Put back the old segments that deletion had not reached yet: as if the crash came
    // after the new segment and the FIRST marker were synced, before or part-way through
    // deleting. Open must ignore and delete them.
    for (let deleted = 3; deleted >= 0; deleted--) {
      await copyFile(join(saved, segName(deleted)), join(dir, segName(deleted)));
      const { count, ...contents } = await reopen(dir);
      const label = `${4 - deleted} old segments left`;
      assert.deepEqual(
        contents,
        { hardState: HS_LATE, entries: [], offset: index, offsetTerm: term },
        label,
      );
      assert.equal(count, 1, label);
    }
  });
}

test("a crash part-way through compaction leaves a WAL that replays and compacts", async (t) => {
  // compact(35) rotates to segment 4, then deletes segments 0, 1, 2 in that order.
  const base = await tempDir(t);
  const wal = await writeFourSegments(base);
  const before = await tempDir(t);
  for (const name of await walFiles(base)) await copyFile(join(base, name), join(before, name));
  await wal.compact(35);
  await wal.close();
  assert.deepEqual(await walFiles(base), [3, 4].map(segName));
  const newSegment = await readFile(join(base, segName(4)));

  for (const rotated of [false, true]) {
    for (let deleted = 0; deleted <= 3; deleted++) {
      const label = `rotated=${rotated} deleted=${deleted}`;
      const dir = await tempDir(t);
      for (const name of await walFiles(before))
        await copyFile(join(before, name), join(dir, name));
      if (rotated) await writeFile(join(dir, segName(4)), newSegment);
      for (let k = 0; k < deleted; k++) await rm(join(dir, segName(k)));

      const contents = await reopen(dir);
      assert.equal(contents.offset, deleted * 10, label);
      assert.equal(contents.offsetTerm, deleted, label);
      assert.deepEqual(plain(contents.entries), plain(LOG.slice(deleted * 10)), label);
      assert.deepEqual(contents.hardState, HS_LATE, label);

      const again = await Wal.open(dir, { segmentBytes: SEG_BYTES });
      await again.wal.compact(35); // finishing the interrupted compaction
      await again.wal.close();
      assert.deepEqual(await walFiles(dir), [3, 4].map(segName), label);
      await expectLog(dir, 30, 40, HS_LATE);
    }
  }
});

test("a torn header in a freshly rotated segment is repaired and rewritten on open", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  await wal.save(LOG.slice(0, 10), HS_EARLY);
  await wal.save(LOG.slice(10, 20), HS_LATE);
  await wal.save(LOG.slice(20, 30), null); // rotates to segment 2, header (20, 2, HS_LATE)
  await wal.close();
  // A crash while the rotation wrote the header: 20 bytes of it made it, entries 21..30
  // (never acknowledged) did not.
  const path = join(dir, segName(2));
  await truncate(path, 20);

  const { wal: reopened, contents } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  assert.equal(contents.offset, 0);
  assert.deepEqual(plain(contents.entries), plain(LOG.slice(0, 20)));
  assert.deepEqual(contents.hardState, HS_LATE);
  assert.equal(reopened.segmentCount(), 3);
  assert.ok((await readFile(path)).equals(segmentHeader(20, 2, HS_LATE)), "header rewritten");

  await reopened.save(LOG.slice(20, 30), null);
  await reopened.compact(20); // relies on segment 2's rewritten log-start
  await reopened.close();
  assert.deepEqual(await walFiles(dir), [segName(2)]);
  await expectLog(dir, 20, 30, HS_LATE);
});

test("a header torn inside its hard-state record: the hard state survives a later compaction", async (t) => {
  const dir = await tempDir(t);
  const { wal } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  await wal.save(LOG.slice(0, 10), HS_EARLY);
  await wal.save(LOG.slice(10, 20), HS_LATE);
  await wal.save(LOG.slice(20, 30), null);
  await wal.close();
  // The log-start record is whole, the hard-state record after it is torn.
  await truncate(join(dir, segName(2)), LOG_START_RECORD + 10);

  const { wal: reopened, contents } = await Wal.open(dir, { segmentBytes: SEG_BYTES });
  assert.deepEqual(plain(contents.entries), plain(LOG.slice(0, 20)));
  assert.deepEqual(contents.hardState, HS_LATE);
  await reopened.save(LOG.slice(20, 30), null);
  await reopened.compact(20);
  await reopened.close();
  await expectLog(dir, 20, 30, HS_LATE);
});

for (const [name, at, bit] of [
  ["the log-start record's prevIndex", 9, 0],
  ["the log-start record's checksum", 4, 5],
  ["the hard-state record's vote", LOG_START_RECORD + 17, 1],
  ["the hard-state record's length", LOG_START_RECORD + 1, 3],
] as const) {
  test(`corruption: a flipped bit in ${name} of a non-last segment's header`, async (t) => {
    const dir = await tempDir(t);
    const wal = await writeFourSegments(dir);
    await wal.close();
    await flipBit(join(dir, segName(1)), at, bit);
    const recordStart = at < LOG_START_RECORD ? 0 : LOG_START_RECORD;
    await expectCorrupt(dir, segName(1), recordStart, /not the last/);
  });
}

test("corruption: a damaged header in the last segment with records after it is not a torn tail", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.close();
  await flipBit(join(dir, segName(3)), 12, 2); // prevIndex of segment 3's log-start
  await expectCorrupt(dir, segName(3), 0);
});

test("corruption: a log-start record in the middle of a segment is refused", async (t) => {
  for (const [seq, prev, term] of [
    [1, 12, 2], // continues the log exactly, still not at a segment start
    [3, 0, 0],
    [3, 32, 4],
  ] as const) {
    const dir = await tempDir(t);
    const wal = await writeFourSegments(dir);
    await wal.close();
    const file = segName(seq);
    const path = join(dir, file);
    const buf = await readFile(path);
    // After the segment's second entry (entries of segment k have equal sizes).
    const at = SEGMENT_HEADER + 2 * recordBytes(LOG[10 * seq] as Entry);
    await writeFile(
      path,
      Buffer.concat([buf.subarray(0, at), logStartRecord(prev, term), buf.subarray(at)]),
    );
    await expectCorrupt(dir, file, at, /log-start record in the middle of a segment/);
  }
});

test("corruption: a log-start record at the very end of the last segment is refused", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  await wal.close();
  const path = join(dir, segName(3));
  const size = (await stat(path)).size;
  await writeFile(path, Buffer.concat([await readFile(path), logStartRecord(40, 4)]));
  await expectCorrupt(dir, segName(3), size, /log-start record in the middle/);
});

test("compaction after a truncation that reached back into an older segment still replays", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  // A new leader overwrites 26..40: the save rotates to segment 4 (log-start 40) and
  // writes entries 26.. there, below its prevIndex.
  const log = [...LOG.slice(0, 25), ...entries(26, 45, 5, 6)];
  await wal.save(log.slice(25), { term: 5, vote: 1, commit: 35 });
  await wal.compact(35); // 1..35 of the NEW log are applied
  await wal.close();
  const contents = await reopen(dir);
  assert.ok(contents.offset <= 35, `offset ${contents.offset}`);
  const offsetEntry = log[contents.offset - 1];
  assert.equal(contents.offsetTerm, offsetEntry?.term ?? 0);
  assert.deepEqual(plain(contents.entries), plain(log.slice(contents.offset)));
  assert.deepEqual(contents.hardState, { term: 5, vote: 1, commit: 35 });
});

test("compaction keeps making progress after a truncation reached back into an older segment", async (t) => {
  const dir = await tempDir(t);
  const wal = await writeFourSegments(dir);
  // The overwrite lands in segment 4 below its log-start; afterwards the log grows and
  // compacts 20 times. Compaction must not stall on segment 4 forever.
  let log = [...LOG.slice(0, 25), ...entries(26, 45, 5, 6)];
  await wal.save(log.slice(25), { term: 5, vote: 1, commit: 35 });
  for (let round = 0; round < 20; round++) {
    const more = entries(log.length + 1, log.length + 10, 5, 6);
    await wal.save(more, null);
    log = [...log, ...more];
    await wal.compact(log.length - 5);
    assert.ok(wal.segmentCount() <= 3, `round ${round}: ${wal.segmentCount()} segments`);
  }
  await wal.close();
  const contents = await reopen(dir);
  assert.ok(contents.offset >= log.length - 15, `replay starts at ${contents.offset}`);
  assert.deepEqual(plain(contents.entries), plain(log.slice(contents.offset)));
});
