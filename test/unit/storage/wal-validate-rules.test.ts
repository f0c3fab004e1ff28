/**
 * What `Wal.save` refuses before writing (src/storage/wal-validate.ts), each rule at its
 * boundary: the last value accepted and the first refused, with the message that names
 * the broken rule. The WAL tests check one broken value per rule; a check loosened by
 * one (`>` for `>=`) or a message emptied went unnoticed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { WalStateError } from "../../../src/storage/wal-errors.ts";
import { MAX_PAYLOAD_BYTES } from "../../../src/storage/wal-record.ts";
import { checkEntries, checkHardState } from "../../../src/storage/wal-validate.ts";
import { ENTRY_FIXED, entries, entry } from "./fixtures.ts";

function refused(fn: () => void, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof WalStateError);
    assert.equal(err.message, message);
    return true;
  });
}

describe("checkEntries", () => {
  test("an empty batch passes whatever the log", () => {
    checkEntries([], 0);
    checkEntries([], 10, 10);
  });

  test("the first entry may continue the log at lastIndex + 1, not lastIndex + 2", () => {
    checkEntries([entry(6, 1)], 5);
    refused(() => checkEntries([entry(7, 1)], 5), "entry 7 would leave a gap after 5");
  });

  test("the first entry may truncate down to floor + 1, not to floor", () => {
    checkEntries([entry(4, 1)], 5, 3);
    checkEntries([entry(1, 1)], 5);
    refused(
      () => checkEntries([entry(3, 1)], 5, 3),
      "entry 3 would overwrite the compacted log (to 3)",
    );
  });

  test("entries must be contiguous and ascending", () => {
    checkEntries(entries(1, 4, 1), 0);
    refused(
      () => checkEntries([entry(1, 1), entry(2, 1), entry(4, 1)], 0),
      "entries not contiguous at 3: got 4",
    );
    refused(
      () => checkEntries([entry(1, 1), entry(1, 1)], 0),
      "entries not contiguous at 2: got 1",
    );
  });

  test("term and index must be non-negative safe integers, the index at least 1", () => {
    checkEntries([entry(1, 0)], 0);
    checkEntries([entry(1, Number.MAX_SAFE_INTEGER)], 0);
    // index 0 meets the floor check first (floor >= 0 in the WAL); with no floor below
    // it, the entry rule itself must still refuse it
    refused(
      () => checkEntries([entry(0, 1)], 0),
      "entry 0 would overwrite the compacted log (to 0)",
    );
    refused(() => checkEntries([entry(0, 1)], 0, -1), "invalid entry term 1 / index 0");
    refused(() => checkEntries([entry(1, -1)], 0), "invalid entry term -1 / index 1");
    refused(() => checkEntries([entry(1, 1.5)], 0), "invalid entry term 1.5 / index 1");
    refused(
      () => checkEntries([entry(1, Number.MAX_SAFE_INTEGER + 1)], 0),
      `invalid entry term ${Number.MAX_SAFE_INTEGER + 1} / index 1`,
    );
    // an unsafe index passes the gap check (2^53 + 1 === 2^53 in floating point)
    const unsafe = Number.MAX_SAFE_INTEGER + 1;
    refused(
      () => checkEntries([{ ...entry(1, 1), index: unsafe }], unsafe),
      `invalid entry term 1 / index ${unsafe}`,
    );
  });

  test("an entry's data may fill a record up to the largest payload, not one byte more", () => {
    const max = MAX_PAYLOAD_BYTES - ENTRY_FIXED;
    const big = (length: number): Entry => ({
      term: 1,
      index: 1,
      kind: EntryKind.Normal,
      data: new Uint8Array(length),
    });
    checkEntries([big(max)], 0);
    refused(() => checkEntries([big(max + 1)], 0), `entry 1 too large: ${max + 1} bytes`);
  });
});

describe("checkHardState", () => {
  test("zero and the largest safe integer pass in every field", () => {
    checkHardState({ term: 0, vote: 0, commit: 0 });
    const max = Number.MAX_SAFE_INTEGER;
    checkHardState({ term: max, vote: max, commit: max });
  });

  test("a negative, fractional or unsafe value in any one field is refused", () => {
    const ok = { term: 2, vote: 1, commit: 3 };
    for (const field of ["term", "vote", "commit"] as const) {
      for (const bad of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
        const hs = { ...ok, [field]: bad };
        refused(
          () => checkHardState(hs),
          `invalid hard state term ${hs.term} vote ${hs.vote} commit ${hs.commit}`,
        );
      }
    }
  });
});
