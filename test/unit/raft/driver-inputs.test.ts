/**
 * The core's driver-facing inputs at their edges (found by mutation testing, see
 * docs/mutation/raft-core.md): the last index a proposal may take, compaction only
 * behind a durable snapshot, the newest snapshot kept, and refusals that say why.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_INDEX } from "../../../src/raft/limits.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { bytes, raftConfig } from "./helpers.ts";

/** A single-voter leader of term 2 whose log ends at `last` (a no-op at `last`). */
function singleLeaderAt(last: number): Raft {
  const before = last - 1;
  const r = new Raft(raftConfig(1, [1]), {
    hardState: { term: 1, vote: 1, commit: before },
    log: { entries: [], offset: before, offsetTerm: 1, committed: before, applied: before },
  });
  r.campaign("vote");
  r.onStable(r.log.lastIndex(), r.term);
  assert.equal(r.log.lastIndex(), last);
  return r;
}

test("propose: a batch may end exactly at MAX_INDEX, never past it", () => {
  const r = singleLeaderAt(MAX_INDEX - 2);
  assert.throws(
    () => r.propose([bytes("a"), bytes("b"), bytes("c")]),
    new RegExp(`log index would pass MAX_INDEX \\(${MAX_INDEX}\\)`),
  );
  assert.equal(r.log.lastIndex(), MAX_INDEX - 2, "a refused batch appends nothing");
  assert.deepEqual(
    r.propose([bytes("a"), bytes("b")]).map((p) => p.index),
    [MAX_INDEX - 1, MAX_INDEX],
  );
  assert.throws(() => r.propose([bytes("c")]), /MAX_INDEX/);
});

test("compact: only up to the newest durable snapshot", () => {
  const r = singleLeaderAt(1);
  r.propose([bytes("a"), bytes("b"), bytes("c")]);
  r.onStable(4, r.term);
  r.appliedTo(4);
  assert.throws(() => r.compact(2), /raft: no snapshot covers compaction to 2/);
  r.snapshotTaken({ index: 3, term: r.term });
  assert.throws(() => r.compact(4), /no snapshot covers compaction to 4/);
  r.compact(3);
  assert.deepEqual(r.log.compactedTo(), { index: 3, term: r.term });
});

test("snapshotTaken: an older snapshot than the one held is ignored", () => {
  const r = singleLeaderAt(1);
  r.propose([bytes("a"), bytes("b"), bytes("c")]);
  r.onStable(4, r.term);
  r.appliedTo(4);
  r.snapshotTaken({ index: 3, term: r.term });
  r.snapshotTaken({ index: 2, term: r.term });
  r.compact(3); // still covered: the index-3 snapshot was kept
  assert.deepEqual(r.log.compactedTo(), { index: 3, term: r.term });
});
