/**
 * The RaftLog on its own (src/raft/log.ts): its cursors (stable, committed, applied), the
 * refusals a correct core never trips (overwriting a committed entry, a gap, compacting past
 * what is applied and durable, committing past the end, applying out of range), and the
 * index arithmetic at each boundary. The cluster tests reach the log only through whole
 * elections and replication, where the refusals never fire and many boundaries are never
 * met; mutation testing (docs/mutation/raft-rest.md) showed them unpinned there.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type LogInit, RaftLog } from "../../../src/raft/log.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { bytes, entriesFromTerms } from "./helpers.ts";

/** A log of entries with `terms` (index offset + 1 first), committed and applied to 0. */
function logOf(terms: readonly number[], over: Partial<LogInit> = {}): RaftLog {
  const offset = over.offset ?? 0;
  return new RaftLog({
    entries: entriesFromTerms(terms, offset + 1),
    offset,
    offsetTerm: 0,
    committed: 0,
    applied: 0,
    ...over,
  });
}

/** An entry of `size` data bytes. */
function sized(index: number, term: number, size: number): Entry {
  return { index, term, kind: EntryKind.Normal, data: new Uint8Array(size) };
}

const indexes = (es: readonly Entry[]): number[] => es.map((e) => e.index);

describe("raft log", () => {
  describe("a recovered log", () => {
    test("everything recovered is durable; commit is capped at the last index", () => {
      const log = logOf([1, 1, 2], { committed: 9, applied: 9 });
      assert.equal(log.stableIndex, 3);
      assert.equal(log.committed, 3);
      assert.equal(log.applied, 3);
      assert.deepEqual(log.unstableEntries(), []);
    });

    test("applied is capped at committed", () => {
      const log = logOf([1, 1, 2], { committed: 2, applied: 3 });
      assert.equal(log.committed, 2);
      assert.equal(log.applied, 2);
      assert.equal(logOf([1, 1, 2], { committed: 3, applied: 1 }).applied, 1);
    });

    test("a compacted log counts its snapshot as applied", () => {
      const log = logOf([3, 3], { offset: 5, offsetTerm: 2, committed: 5, applied: 0 });
      assert.equal(log.applied, 5);
      assert.equal(log.firstIndex(), 6);
      assert.equal(log.lastIndex(), 7);
      assert.deepEqual(log.compactedTo(), { index: 5, term: 2 });
      // applied above the offset is kept as recovered
      const later = logOf([3, 3], { offset: 5, offsetTerm: 2, committed: 7, applied: 6 });
      assert.equal(later.applied, 6);
    });

    test("an empty log ends at 0 in term 0", () => {
      const log = logOf([]);
      assert.equal(log.firstIndex(), 1);
      assert.equal(log.lastIndex(), 0);
      assert.equal(log.lastTerm(), 0);
      assert.deepEqual(log.compactedTo(), { index: 0, term: 0 });
    });
  });

  describe("reading", () => {
    test("termAt knows the compaction point and the held entries, nothing else", () => {
      const log = logOf([3, 4], { offset: 5, offsetTerm: 2, committed: 5 });
      assert.equal(log.termAt(4), undefined);
      assert.equal(log.termAt(5), 2);
      assert.equal(log.termAt(6), 3);
      assert.equal(log.termAt(7), 4);
      assert.equal(log.termAt(8), undefined);
      assert.equal(log.lastTerm(), 4);
    });

    test("entryAt holds no entry at or before the compaction point, nor past the end", () => {
      const log = logOf([3, 4], { offset: 5, offsetTerm: 2, committed: 5 });
      assert.equal(log.entryAt(5), undefined);
      assert.equal(log.entryAt(6)?.index, 6);
      assert.equal(log.entryAt(7)?.index, 7);
      assert.equal(log.entryAt(8), undefined);
    });

    test("matchTerm is true only for the held term at that index", () => {
      const log = logOf([1, 2]);
      assert.equal(log.matchTerm(0, 0), true);
      assert.equal(log.matchTerm(2, 2), true);
      assert.equal(log.matchTerm(2, 1), false);
      assert.equal(log.matchTerm(3, 2), false);
    });

    test("up to date (§5.4.1): a later last term wins, then the longer log", () => {
      const log = logOf([1, 2, 2]);
      assert.equal(log.isUpToDate(1, 3), true, "later term, shorter log");
      assert.equal(log.isUpToDate(3, 2), true, "same term, same length");
      assert.equal(log.isUpToDate(4, 2), true, "same term, longer");
      assert.equal(log.isUpToDate(2, 2), false, "same term, shorter");
      assert.equal(log.isUpToDate(9, 1), false, "earlier term, longer");
    });
  });

  describe("appending", () => {
    test("an empty append changes nothing", () => {
      const log = logOf([1, 1], { committed: 2 });
      log.append([]);
      assert.equal(log.lastIndex(), 2);
      assert.equal(log.stableIndex, 2);
    });

    test("a committed entry is never overwritten", () => {
      const log = logOf([1, 1, 1], { committed: 2 });
      assert.throws(
        () => log.append(entriesFromTerms([2], 2)),
        /^Error: raft: refusing to overwrite committed index 2$/,
      );
      log.append(entriesFromTerms([2], 3));
      assert.deepEqual(
        [log.termAt(1), log.termAt(2), log.termAt(3)],
        [1, 1, 2],
        "the first uncommitted entry may be replaced",
      );
    });

    test("an append leaves no gap", () => {
      const log = logOf([1, 1]);
      assert.throws(
        () => log.append(entriesFromTerms([1], 4)),
        /^Error: raft: gap appending 4 after 2$/,
      );
      log.append(entriesFromTerms([1], 3));
      assert.equal(log.lastIndex(), 3);
    });

    test("an append drops the held suffix from its first index on", () => {
      const log = logOf([1, 1, 1, 1]);
      log.append(entriesFromTerms([2], 2));
      assert.equal(log.lastIndex(), 2);
      assert.equal(log.termAt(2), 2);
      assert.equal(log.termAt(3), undefined);
    });

    test("appended entries are not durable, nor are the ones they replaced", () => {
      const log = logOf([1, 1, 1, 1]);
      log.append(entriesFromTerms([2, 2], 3));
      assert.equal(log.stableIndex, 2);
      assert.deepEqual(indexes(log.unstableEntries()), [3, 4]);
      log.append(entriesFromTerms([2], 5));
      assert.equal(log.stableIndex, 2, "appending after unstable entries keeps stable");
    });

    test("appending after a compaction point keeps the entries before it", () => {
      const log = logOf([3, 3], { offset: 5, offsetTerm: 2, committed: 5 });
      log.append(entriesFromTerms([4], 7));
      assert.deepEqual([log.termAt(6), log.termAt(7)], [3, 4]);
      assert.equal(log.lastIndex(), 7);
    });
  });

  describe("a follower's append (maybeAppend)", () => {
    test("a mismatch at (prevIndex, prevTerm) appends nothing", () => {
      const log = logOf([1, 1]);
      assert.equal(log.maybeAppend(2, 2, entriesFromTerms([2], 3)), null);
      assert.equal(log.maybeAppend(3, 1, entriesFromTerms([2], 4)), null);
      assert.equal(log.lastIndex(), 2);
    });

    test("entries already held are kept, and the answer is the last index the message covers", () => {
      const log = logOf([1, 1, 1, 1]);
      assert.equal(log.maybeAppend(1, 1, entriesFromTerms([1], 2)), 2);
      assert.equal(log.lastIndex(), 4, "a stale append does not truncate");
      assert.equal(log.stableIndex, 4);
      assert.equal(log.maybeAppend(4, 1, []), 4);
    });

    test("only the entries from the first conflict on are written", () => {
      const log = logOf([1, 1, 1]);
      const held = log.entryAt(2);
      const sent = entriesFromTerms([1, 2, 2], 2);
      assert.equal(log.maybeAppend(1, 1, sent), 4);
      assert.deepEqual(
        [1, 2, 3, 4].map((i) => log.termAt(i)),
        [1, 1, 2, 2],
      );
      assert.equal(log.entryAt(2), held, "entry 2 kept, not rewritten");
      assert.equal(log.stableIndex, 2, "entry 2 matched: still durable");
      assert.deepEqual(indexes(log.unstableEntries()), [3, 4]);
    });
  });

  describe("skipping a conflicting term (findConflictByTerm)", () => {
    test("the largest index at or below the given one whose term is at most the given term", () => {
      const log = logOf([1, 1, 3, 3, 5]);
      assert.deepEqual(log.findConflictByTerm(5, 4), { index: 4, term: 3 });
      assert.deepEqual(log.findConflictByTerm(5, 3), { index: 4, term: 3 });
      assert.deepEqual(log.findConflictByTerm(5, 5), { index: 5, term: 5 });
      assert.deepEqual(log.findConflictByTerm(3, 2), { index: 2, term: 1 });
    });

    test("an index past the end starts from the last entry", () => {
      const log = logOf([1, 2]);
      assert.deepEqual(log.findConflictByTerm(9, 9), { index: 2, term: 2 });
    });

    test("nothing held matches: the compaction point", () => {
      const log = logOf([4, 4], { offset: 3, offsetTerm: 2, committed: 3 });
      assert.deepEqual(log.findConflictByTerm(5, 3), { index: 3, term: 2 });
      assert.deepEqual(logOf([2, 2]).findConflictByTerm(2, 1), { index: 0, term: 0 });
    });

    test("a term older than the compaction point's still stops at the compaction point", () => {
      // the follower's conflicting term (1) predates the snapshot's (2): the search may not
      // go below the compaction point, where nothing is known
      const log = logOf([4, 4], { offset: 3, offsetTerm: 2, committed: 3 });
      assert.deepEqual(log.findConflictByTerm(5, 1), { index: 3, term: 2 });
    });
  });

  describe("slicing", () => {
    test("entries in [lo, hi), clipped to what is held", () => {
      const log = logOf([1, 1, 1, 1], { offset: 2, committed: 2 });
      assert.deepEqual(indexes(log.slice(1, 5, 1 << 20)), [3, 4]);
      assert.deepEqual(indexes(log.slice(4, 9, 1 << 20)), [4, 5, 6]);
      assert.deepEqual(indexes(log.slice(5, 5, 1 << 20)), []);
    });

    test("a slice stops before the entry that takes it past maxBytes, but holds at least one", () => {
      const log = new RaftLog({
        entries: [sized(1, 1, 4), sized(2, 1, 4), sized(3, 1, 4)],
        offset: 0,
        offsetTerm: 0,
        committed: 0,
        applied: 0,
      });
      assert.deepEqual(indexes(log.slice(1, 4, 8)), [1, 2], "exactly maxBytes fits");
      assert.deepEqual(indexes(log.slice(1, 4, 7)), [1]);
      assert.deepEqual(indexes(log.slice(1, 4, 0)), [1], "one entry even past the limit");
    });

    test("an entry's size is its data length unless the config sizes it", () => {
      const entries = [sized(1, 1, 10), sized(2, 1, 10)];
      const init = { entries, offset: 0, offsetTerm: 0, committed: 0, applied: 0 };
      assert.deepEqual(indexes(new RaftLog(init).slice(1, 3, 19)), [1]);
      assert.deepEqual(indexes(new RaftLog(init, () => 1).slice(1, 3, 2)), [1, 2]);
    });
  });

  describe("compaction", () => {
    test("compacting keeps the later entries and remembers the term at the new offset", () => {
      const log = logOf([1, 2, 3, 3], { committed: 3, applied: 3 });
      log.compact(2);
      assert.deepEqual(log.compactedTo(), { index: 2, term: 2 });
      assert.equal(log.firstIndex(), 3);
      assert.equal(log.entryAt(2), undefined);
      assert.deepEqual([log.termAt(3), log.termAt(4)], [3, 3]);
      assert.equal(log.lastIndex(), 4);
    });

    test("compacting an already compacted log counts from its compaction point", () => {
      const log = logOf([3, 3, 4, 4], { offset: 5, offsetTerm: 2, committed: 9, applied: 8 });
      log.compact(7);
      assert.deepEqual(log.compactedTo(), { index: 7, term: 3 });
      assert.deepEqual(
        [8, 9].map((i) => log.entryAt(i)?.term),
        [4, 4],
      );
      assert.equal(log.lastIndex(), 9);
    });

    test("compacting to or before the compaction point changes nothing", () => {
      const log = logOf([1, 2, 3], { committed: 3, applied: 3 });
      log.compact(2);
      log.compact(2);
      log.compact(1);
      assert.deepEqual(log.compactedTo(), { index: 2, term: 2 });
      assert.equal(log.lastIndex(), 3);
      assert.equal(log.termAt(3), 3);
    });

    test("only applied entries may be compacted", () => {
      const log = logOf([1, 1, 1], { committed: 3, applied: 2 });
      assert.throws(
        () => log.compact(3),
        /^Error: raft: cannot compact to 3 \(applied 2, stable 3\)$/,
      );
      log.compact(2);
      assert.equal(log.firstIndex(), 3);
    });

    test("only durable entries may be compacted", () => {
      const log = logOf([1, 1], { committed: 2, applied: 2 });
      log.append(entriesFromTerms([1, 1], 3));
      log.commitTo(4);
      log.appliedTo(4);
      assert.equal(log.stableIndex, 2);
      assert.throws(() => log.compact(3), /cannot compact to 3 \(applied 4, stable 2\)/);
      log.compact(2);
      assert.equal(log.firstIndex(), 3);
    });

    test("a snapshot replaces the whole log and counts as committed, durable and applied", () => {
      const log = logOf([1, 1, 1], { committed: 1, applied: 1 });
      log.restore(10, 4);
      assert.equal(log.lastIndex(), 10);
      assert.equal(log.firstIndex(), 11);
      assert.equal(log.lastTerm(), 4);
      assert.deepEqual(log.compactedTo(), { index: 10, term: 4 });
      assert.equal(log.committed, 10);
      assert.equal(log.stableIndex, 10);
      assert.equal(log.applied, 10);
      assert.equal(log.entryAt(3), undefined);
      assert.equal(log.termAt(3), undefined);
    });
  });

  describe("commit and apply", () => {
    test("the commit index never goes back", () => {
      const log = logOf([1, 1, 1], { committed: 2 });
      log.commitTo(1);
      assert.equal(log.committed, 2);
      log.commitTo(3);
      assert.equal(log.committed, 3);
    });

    test("nothing past the last index is committed", () => {
      const log = logOf([1, 1]);
      assert.throws(() => log.commitTo(3), /^Error: raft: commit 3 beyond last index 2$/);
      log.commitTo(2);
      assert.equal(log.committed, 2);
    });

    test("applied stays within [applied, committed]", () => {
      const log = logOf([1, 1, 1], { committed: 2, applied: 1 });
      assert.throws(() => log.appliedTo(0), /^Error: raft: applied 0 outside \[1, 2\]$/);
      assert.throws(() => log.appliedTo(3), /^Error: raft: applied 3 outside \[1, 2\]$/);
      log.appliedTo(1);
      assert.equal(log.applied, 1);
      log.appliedTo(2);
      assert.equal(log.applied, 2);
    });

    test("only committed, durable entries are handed to the state machine", () => {
      const log = logOf([1, 1], { committed: 1, applied: 1 });
      log.append(entriesFromTerms([1, 1], 3));
      log.commitTo(4);
      // committed 4, durable 2, applied 1: entry 2 only
      assert.equal(log.hasNextCommittedEntries(), true);
      assert.deepEqual(indexes(log.nextCommittedEntries(1 << 20)), [2]);
      log.stableTo(4, 1);
      assert.deepEqual(indexes(log.nextCommittedEntries(1 << 20)), [2, 3, 4]);
      log.appliedTo(4);
      assert.equal(log.hasNextCommittedEntries(), false);
      assert.deepEqual(log.nextCommittedEntries(1 << 20), []);
    });

    test("durable but uncommitted entries are not applied", () => {
      const log = logOf([1, 1, 1], { committed: 2, applied: 2 });
      assert.equal(log.hasNextCommittedEntries(), false);
      assert.deepEqual(log.nextCommittedEntries(1 << 20), []);
    });

    test("the apply batch is sized by maxBytes", () => {
      const log = new RaftLog({
        entries: [sized(1, 1, 4), sized(2, 1, 4), sized(3, 1, 4)],
        offset: 0,
        offsetTerm: 0,
        committed: 3,
        applied: 0,
      });
      assert.deepEqual(indexes(log.nextCommittedEntries(8)), [1, 2]);
    });
  });

  describe("durability", () => {
    test("stableTo marks entries durable up to (index, term), never back", () => {
      const log = logOf([1]);
      log.append(entriesFromTerms([1, 2, 2], 2));
      assert.equal(log.stableIndex, 1);
      log.stableTo(3, 2);
      assert.equal(log.stableIndex, 3);
      assert.deepEqual(indexes(log.unstableEntries()), [4]);
      log.stableTo(2, 1);
      assert.equal(log.stableIndex, 3, "an older write finishing later does not move it back");
    });

    test("a write of an entry since replaced does not count", () => {
      const log = logOf([1]);
      log.append(entriesFromTerms([1, 1], 2));
      log.append(entriesFromTerms([2], 3));
      log.stableTo(3, 1);
      assert.equal(log.stableIndex, 1);
      log.stableTo(3, 2);
      assert.equal(log.stableIndex, 3);
    });

    test("unstable entries are counted from the compaction point", () => {
      const log = logOf([3, 3], { offset: 5, offsetTerm: 2, committed: 5 });
      log.append(entriesFromTerms([3], 8));
      assert.deepEqual(indexes(log.unstableEntries()), [8]);
    });
  });

  describe("replacing persisted entries (replacePersisted)", () => {
    const stored = (index: number, term: number, kind = EntryKind.Normal): Entry => ({
      index,
      term,
      kind,
      data: bytes(`stored ${index}`),
    });

    test("a durable entry of the same index, term and kind is replaced", () => {
      const log = logOf([1, 1, 2]);
      assert.equal(log.replacePersisted([stored(2, 1), stored(3, 2)]), 2);
      assert.deepEqual(log.entryAt(2)?.data, bytes("stored 2"));
      assert.deepEqual(log.entryAt(3)?.data, bytes("stored 3"));
    });

    test("an entry not yet durable is left alone", () => {
      const log = logOf([1]);
      log.append(entriesFromTerms([1], 2));
      assert.equal(log.replacePersisted([stored(2, 1)]), 0);
      assert.deepEqual(log.entryAt(2)?.data, bytes("t1i2"));
      log.stableTo(2, 1);
      assert.equal(log.replacePersisted([stored(2, 1)]), 1);
    });

    test("another term, another kind or a compacted entry is left alone", () => {
      const log = logOf([1, 1, 2], { offset: 0 });
      assert.equal(log.replacePersisted([stored(3, 1)]), 0);
      assert.equal(log.replacePersisted([stored(3, 2, EntryKind.Config)]), 0);
      assert.deepEqual(log.entryAt(3)?.data, bytes("t2i3"));
      const compacted = logOf([1, 1], { offset: 4, offsetTerm: 1, committed: 4 });
      assert.equal(compacted.replacePersisted([stored(4, 1)]), 0);
      assert.equal(compacted.replacePersisted([stored(6, 1)]), 1);
      assert.deepEqual(compacted.entryAt(6)?.data, bytes("stored 6"));
      assert.deepEqual(compacted.entryAt(5)?.data, bytes("t1i5"));
    });
  });
});
