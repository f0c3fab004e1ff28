/**
 * The torn-tail rule (src/storage/wal-tail.ts) on hand-made buffers, one test per rule:
 * what may follow an unreadable last record for it to count as a torn write, and which
 * later bytes count as a plausible record (one that would make it corruption). The WAL
 * tests reach the rule only through whole segments, where most of these cases never
 * arise. Records are framed here from the specification (fixtures.ts), not by the WAL.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isTornTail } from "../../../src/storage/wal-tail.ts";
import { ENTRY_FIXED, HEADER, hardStateRecord, logStartRecord, record } from "./fixtures.ts";

/** An entry record (type 1) with the given index and `dataBytes` bytes of data. */
function entryRecord(index: number, dataBytes = 10, term = 1): Buffer {
  const body = Buffer.alloc(ENTRY_FIXED + dataBytes, 7);
  body.writeUInt32LE(term, 0);
  body.writeUInt32LE(0, 4);
  body.writeUInt32LE(index, 8);
  body.writeUInt32LE(0, 12);
  body.writeUInt8(0, 16);
  return record(1, body);
}

/** A record header at the start of `buf` whose checksum is wrong: the unreadable record. */
function badRecord(payloadBytes: number): Buffer {
  const buf = entryRecord(1, payloadBytes - ENTRY_FIXED);
  buf.writeUInt32LE((buf.readUInt32LE(4) ^ 1) >>> 0, 4);
  return buf;
}

/** `bad` (the unreadable record at offset 0) followed by `after`, with end = bad's end. */
function torn(after: Buffer, lastIndex: number, bad = badRecord(30)): boolean {
  return isTornTail(Buffer.concat([bad, after]), 0, bad.length, lastIndex);
}

/**
 * `after` behind an unreadable record whose end is unknown (its length ran past EOF):
 * then only the scan for a plausible record decides.
 */
function scan(after: Buffer, lastIndex: number): boolean {
  return isTornTail(Buffer.concat([badRecord(30), after]), 0, null, lastIndex);
}

describe("what follows the unreadable record's end", () => {
  test("only zero bytes (or nothing) after its end: torn", () => {
    assert.equal(torn(Buffer.alloc(0), 0), true);
    assert.equal(torn(Buffer.alloc(4096), 0), true);
  });

  test("a non-zero byte anywhere after its end, even the very last: not torn", () => {
    const after = Buffer.alloc(100);
    after[99] = 1;
    assert.equal(torn(after, 0), false);
    const first = Buffer.alloc(100);
    first[0] = 0x80;
    assert.equal(torn(first, 0), false);
  });

  test("an end that is not known (the length ran past EOF): only the scan decides", () => {
    const bad = badRecord(30);
    assert.equal(isTornTail(bad, 0, null, 0), true);
    // non-zero bytes but no plausible record: still torn
    assert.equal(isTornTail(Buffer.concat([bad, Buffer.alloc(50, 0xab)]), 0, null, 0), true);
    assert.equal(isTornTail(Buffer.concat([bad, entryRecord(1)]), 0, null, 0), false);
  });

  test("the scan starts after the unreadable record's header, not before or at it", () => {
    // A valid entry starting 4 bytes into the bad record's header is not a record that
    // follows it.
    const before = entryRecord(1);
    const buf = Buffer.concat([before, Buffer.alloc(4, 0xff), entryRecord(2)]);
    assert.equal(isTornTail(buf, before.length, null, 1), true);
  });

  test("the unreadable record starting at a non-zero offset: the same rules apply", () => {
    const before = entryRecord(1);
    const bad = badRecord(30);
    const zeros = Buffer.concat([before, bad, Buffer.alloc(20)]);
    assert.equal(isTornTail(zeros, before.length, before.length + bad.length, 1), true);
    const follows = Buffer.concat([before, bad, entryRecord(2)]);
    assert.equal(isTornTail(follows, before.length, null, 1), false);
  });
});

describe("which records found by the scan count as plausible (then: not torn)", () => {
  test("a valid entry record continuing the log", () => {
    assert.equal(scan(entryRecord(1), 0), false);
    assert.equal(scan(entryRecord(6), 5), false);
  });

  test("a valid entry that ends exactly at the end of the file", () => {
    const buf = Buffer.concat([badRecord(30), Buffer.alloc(3), entryRecord(2)]);
    assert.equal(isTornTail(buf, 0, null, 1), false);
  });

  test("an entry with empty data (payload of exactly the fixed 17 bytes)", () => {
    assert.equal(scan(entryRecord(2, 0), 1), false);
  });

  test("a valid hard-state record, whatever its vote field says", () => {
    assert.equal(scan(hardStateRecord({ term: 3, vote: 0, commit: 0 }), 4), false);
    assert.equal(scan(hardStateRecord({ term: 3, vote: 99, commit: 7 }), 4), false);
  });

  test("not a log-start record, nor a record of an unknown type", () => {
    assert.equal(
      isTornTail(Buffer.concat([badRecord(30), logStartRecord(1, 1)]), 0, null, 1),
      true,
    );
    const unknown = record(4, Buffer.alloc(24, 1));
    assert.equal(isTornTail(Buffer.concat([badRecord(30), unknown]), 0, null, 1), true);
  });

  test("not a hard-state record of the wrong length", () => {
    const long = record(2, Buffer.alloc(25));
    const short = record(2, Buffer.alloc(23));
    assert.equal(isTornTail(Buffer.concat([badRecord(30), long]), 0, null, 1), true);
    assert.equal(isTornTail(Buffer.concat([badRecord(30), short]), 0, null, 1), true);
  });

  test("not an entry record shorter than an entry's fixed part", () => {
    // 16 bytes of payload whose bytes 8..15 read as index 1 if taken at face value
    const body = Buffer.alloc(ENTRY_FIXED - 1, 0);
    body.writeUInt32LE(1, 8);
    assert.equal(scan(record(1, body), 1), true);
  });

  test("not a record whose checksum fails", () => {
    const flipped = entryRecord(2);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
    assert.equal(isTornTail(Buffer.concat([badRecord(30), flipped]), 0, null, 1), true);
  });

  test("not a header whose length runs past the end of the file", () => {
    // type byte of an entry, only 3 bytes after the header: the index field is not even
    // in the file. Length 20 runs past the end by less than a header's size.
    for (const length of [100, 20]) {
      const header = Buffer.alloc(HEADER + 3);
      header.writeUInt32LE(length, 0);
      header.writeUInt8(1, 8);
      assert.equal(scan(header, 1), true, `length ${length}`);
    }
  });
});

describe("the index of an entry found by the scan", () => {
  test("index 0 is never plausible, also in an empty log", () => {
    assert.equal(scan(entryRecord(0), 0), true);
    assert.equal(scan(entryRecord(0), 3), true);
  });

  test("index 1 is plausible in an empty log, and any index >= 1 there", () => {
    assert.equal(scan(entryRecord(1), 0), false);
    assert.equal(scan(entryRecord(5), 0), false);
  });

  test("after a non-empty log: up to two past its last index, not three", () => {
    assert.equal(scan(entryRecord(5), 5), false);
    assert.equal(scan(entryRecord(7), 5), false);
    assert.equal(scan(entryRecord(8), 5), true);
    assert.equal(scan(entryRecord(1), 5), false);
  });

  test("an index past 2^53 (read as unsafe) is not plausible", () => {
    const huge = entryRecord(1);
    const body = Buffer.from(huge.subarray(HEADER));
    body.writeUInt32LE(0x0020_0000, 12); // high word of the index: 2^53
    assert.equal(scan(record(1, body), 0), true);
  });
});
