/**
 * A follower's Progress on its own (src/raft/progress.ts): the nextIndex/matchIndex
 * arithmetic and the probe/replicate/snapshot flow-control states. The cluster tests
 * reach it only through whole elections and replication, where the default window (256)
 * never fills and a wrong next index is repaired by the next rejection; mutation testing
 * (docs/mutation.md) showed many of its rules unpinned there.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Progress } from "../../../src/raft/progress.ts";

/** A follower in replicate state with match `match` and a window of `window`. */
function replicating(match: number, window = 3): Progress {
  const pr = new Progress(match + 1, window);
  pr.maybeUpdate(match);
  pr.becomeReplicate();
  return pr;
}

describe("raft progress", () => {
  test("a new follower is probed from the given next index, nothing known or pending", () => {
    const pr = new Progress(5, 3);
    assert.equal(pr.match, 0);
    assert.equal(pr.next, 5);
    assert.equal(pr.state, "probe");
    assert.equal(pr.probeSent, false);
    assert.equal(pr.pendingSnapshot, 0);
    assert.equal(pr.recentActive, false);
    assert.equal(pr.isPaused(), false);
    assert.equal(pr.inflightFull(), false);
  });

  describe("probe state", () => {
    test("one append at a time: paused once sent, until an answer", () => {
      const pr = new Progress(5, 3);
      pr.sentEntries(7, 3);
      assert.equal(pr.probeSent, true);
      assert.equal(pr.isPaused(), true);
      assert.equal(pr.next, 5, "probing does not move next optimistically");
      assert.equal(pr.maybeUpdate(7), true);
      assert.equal(pr.probeSent, false);
      assert.equal(pr.isPaused(), false);
    });

    test("a rejection of the probe moves next back to the hint, never below match + 1", () => {
      const pr = new Progress(10, 3);
      pr.maybeUpdate(2); // match 2, next stays 10
      pr.sentEntries(12, 3);
      assert.equal(pr.maybeDecrTo(9, 5), true);
      assert.equal(pr.next, 6, "hint 5: probe just after it");
      assert.equal(pr.probeSent, false, "the next probe may go out");
      pr.sentEntries(6, 0);
      assert.equal(pr.maybeDecrTo(5, 0), true);
      assert.equal(pr.next, 3, "hint 0 would go below match + 1");
    });

    test("a rejection of a probe at the rejected index, when the hint is higher, keeps next", () => {
      const pr = new Progress(10, 3);
      assert.equal(pr.maybeDecrTo(9, 20), true);
      assert.equal(pr.next, 9, "min(rejected, hint + 1)");
    });

    test("a stale rejection (not of the current probe) changes nothing", () => {
      const pr = new Progress(10, 3);
      pr.sentEntries(12, 3);
      assert.equal(pr.maybeDecrTo(7, 3), false);
      assert.equal(pr.next, 10);
      assert.equal(pr.probeSent, true, "still waiting for the answer to the real probe");
    });
  });

  describe("replicate state", () => {
    test("becoming replicate sends from match + 1 with an empty window", () => {
      const pr = new Progress(10, 3);
      pr.maybeUpdate(4);
      pr.sentEntries(9, 5);
      pr.becomeReplicate();
      assert.equal(pr.state, "replicate");
      assert.equal(pr.next, 5);
      assert.equal(pr.probeSent, false);
      assert.equal(pr.isPaused(), false);
    });

    test("appends are pipelined up to the window, and acks free the slots they cover", () => {
      const pr = replicating(4, 3);
      pr.sentEntries(6, 2);
      assert.equal(pr.next, 7, "next moves past what was sent");
      pr.sentEntries(8, 2);
      assert.equal(pr.isPaused(), false);
      pr.sentEntries(9, 1);
      assert.equal(pr.isPaused(), true, "three in flight fill a window of three");
      assert.equal(pr.inflightFull(), true);
      assert.equal(pr.next, 10);
      assert.equal(pr.maybeUpdate(7), true, "acks the first append only (6 <= 7 < 8)");
      assert.equal(pr.match, 7);
      assert.equal(pr.isPaused(), false, "one slot freed");
      pr.sentEntries(10, 1);
      assert.equal(pr.isPaused(), true, "8 and 9 were still in flight");
      pr.freeUpTo(9);
      assert.equal(pr.inflightFull(), false);
      pr.sentEntries(11, 1);
      pr.sentEntries(12, 1);
      assert.equal(pr.inflightFull(), true, "10, 11, 12 in flight: 9 freed two, not more");
    });

    test("an ack at exactly an append's last index frees it", () => {
      const pr = replicating(4, 1);
      pr.sentEntries(6, 2);
      assert.equal(pr.isPaused(), true);
      pr.freeUpTo(5);
      assert.equal(pr.isPaused(), true, "5 < 6: still in flight");
      pr.freeUpTo(6);
      assert.equal(pr.isPaused(), false);
    });

    test("an empty append takes no slot and does not move next", () => {
      const pr = replicating(4, 1);
      pr.sentEntries(4, 0);
      assert.equal(pr.next, 5);
      assert.equal(pr.isPaused(), false);
      assert.equal(pr.probeSent, false);
    });

    test("freeFirstOne frees exactly the oldest slot", () => {
      const pr = replicating(4, 2);
      pr.sentEntries(5, 1);
      pr.sentEntries(6, 1);
      assert.equal(pr.inflightFull(), true);
      pr.freeFirstOne();
      assert.equal(pr.inflightFull(), false);
      pr.sentEntries(7, 1);
      assert.equal(pr.inflightFull(), true);
      pr.freeUpTo(6);
      assert.equal(pr.inflightFull(), false, "6 was the second slot, 7 remains");
      pr.sentEntries(8, 1);
      assert.equal(pr.inflightFull(), true);
    });

    test("a rejection above match restarts from match + 1; one at or below it is stale", () => {
      const pr = replicating(4, 3);
      pr.sentEntries(8, 4);
      assert.equal(pr.maybeDecrTo(4, 4), false, "rejected == match, hint at match: stale");
      assert.equal(pr.next, 9);
      assert.equal(pr.maybeDecrTo(3, 0), false);
      assert.equal(pr.maybeDecrTo(6, 0), true);
      assert.equal(pr.next, 5, "back to match + 1, whatever the hint");
      assert.equal(pr.state, "replicate", "the caller decides to probe");
    });

    test("a rejection at match with a hint below it: the log went backwards, resume there", () => {
      // The wiped-follower bug: idle in replicate state (next = match + 1), every append
      // is rejected at prevIndex == match; taking that as stale left it at commit 0.
      const pr = replicating(4, 3);
      assert.equal(pr.maybeDecrTo(4, 0), true);
      assert.equal(pr.match, 0);
      assert.equal(pr.next, 1);
      assert.equal(pr.regressions, 1);
    });

    test("a probe rejected at match with a lower hint resets match to the hint", () => {
      const pr = new Progress(11, 4);
      pr.maybeUpdate(10);
      pr.becomeProbe();
      pr.sentEntries(10, 0);
      assert.equal(pr.maybeDecrTo(10, 2), true);
      assert.deepEqual([pr.match, pr.next, pr.regressions, pr.isPaused()], [2, 3, 1, false]);
    });
  });

  describe("acks", () => {
    test("an ack past match advances it and next; an old or repeated one reports stale", () => {
      const pr = new Progress(3, 3);
      assert.equal(pr.maybeUpdate(5), true);
      assert.equal(pr.match, 5);
      assert.equal(pr.next, 6, "next is at least match + 1");
      assert.equal(pr.maybeUpdate(5), false, "the same ack again");
      assert.equal(pr.maybeUpdate(4), false);
      assert.equal(pr.match, 5);
      assert.equal(pr.next, 6);
    });

    test("a stale ack neither moves next back nor clears a sent probe", () => {
      const pr = new Progress(9, 3);
      pr.maybeUpdate(5);
      pr.sentEntries(8, 0);
      assert.equal(pr.maybeUpdate(3), false);
      assert.equal(pr.next, 9, "next stays ahead");
      assert.equal(pr.probeSent, true, "only a new ack answers the probe");
    });

    test("an ack at or just past next moves next past it (a probe answered from commit)", () => {
      const pr = new Progress(5, 3);
      assert.equal(pr.maybeUpdate(5), true);
      assert.equal(pr.next, 6);
      const behind = new Progress(5, 3);
      assert.equal(behind.maybeUpdate(4), true);
      assert.equal(behind.next, 5, "already past the ack: unchanged");
    });

    test("an ack at index 0 of a fresh follower is stale", () => {
      const pr = new Progress(1, 3);
      assert.equal(pr.maybeUpdate(0), false);
      assert.equal(pr.match, 0);
      assert.equal(pr.next, 1);
    });
  });

  describe("snapshot state", () => {
    test("nothing is sent while a snapshot is in flight", () => {
      const pr = replicating(4, 3);
      pr.sentEntries(6, 2);
      pr.becomeSnapshot(20);
      assert.equal(pr.state, "snapshot");
      assert.equal(pr.pendingSnapshot, 20);
      assert.equal(pr.isPaused(), true);
      assert.equal(pr.inflightFull(), false, "the window was emptied");
    });

    test("probing after a sent snapshot starts just after it, after a failed one from match", () => {
      const pr = new Progress(5, 3);
      pr.maybeUpdate(4);
      pr.becomeSnapshot(20);
      pr.becomeProbe();
      assert.equal(pr.state, "probe");
      assert.equal(pr.next, 21);
      assert.equal(pr.pendingSnapshot, 0);
      assert.equal(pr.probeSent, false);
      pr.becomeSnapshot(20);
      pr.pendingSnapshot = 0; // what a failed send does (Replicator.reportSnapshot)
      pr.becomeProbe();
      assert.equal(pr.next, 5);
    });

    test("a follower already past the snapshot is probed from its match", () => {
      const pr = new Progress(5, 3);
      pr.maybeUpdate(30);
      pr.becomeSnapshot(20);
      pr.becomeProbe();
      assert.equal(pr.next, 31);
    });

    test("a snapshot index is forgotten once the follower left snapshot state", () => {
      const pr = new Progress(5, 3);
      pr.maybeUpdate(4);
      pr.becomeSnapshot(20);
      pr.becomeReplicate();
      pr.becomeProbe();
      assert.equal(pr.next, 5, "probe from match + 1, not after the old snapshot");
    });

    test("leaving replicate for probe restarts from match + 1 with an empty window", () => {
      const pr = replicating(4, 1);
      pr.sentEntries(6, 2);
      pr.becomeProbe();
      assert.equal(pr.next, 5);
      assert.equal(pr.isPaused(), false);
      pr.becomeReplicate();
      assert.equal(pr.inflightFull(), false, "the old append no longer holds a slot");
    });
  });
});
