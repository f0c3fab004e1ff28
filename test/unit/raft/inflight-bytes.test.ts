/**
 * The leader's byte window per follower (RaftConfig.maxInflightBytes, etcd-io/raft's
 * MaxInflightBytes) and the broadcast of a proposal batch larger than one append. With
 * several uploads at once the server's peer link to a follower (16 MiB queue) dropped
 * appends that Raft's count-only window (64 appends of 4 MiB) let through, and a batch of
 * proposals over 4 MiB sent only its first append until the follower's ack: both made
 * the leader read chunks back from its blobs to resend them (bench/README.md, session 7).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message } from "../../../src/raft/messages.ts";
import { Progress } from "../../../src/raft/progress.ts";
import { bytes, clusterWithLeader, ofType, takeMsgs } from "./helpers.ts";

/** A follower in replicate state after `match`, with the given windows. */
function replicating(match: number, count: number, byteWindow: number): Progress {
  const pr = new Progress(match + 1, count, byteWindow);
  pr.maybeUpdate(match);
  pr.becomeReplicate();
  return pr;
}

/** Appends to `to` that carry entries, among `msgs`, as lists of their indexes. */
function entryAppendsTo(msgs: readonly Message[], to: number): number[][] {
  return ofType(msgs, "append")
    .filter((m) => m.to === to && m.entries.length > 0)
    .map((m) => m.entries.map((e) => e.index));
}

describe("progress: the byte window", () => {
  test("fills once the bytes in flight reach it, whatever the count", () => {
    const pr = replicating(4, 64, 10);
    pr.sentEntries(5, 1, 6);
    assert.equal(pr.isPaused(), false, "6 of 10 bytes");
    pr.sentEntries(6, 1, 6);
    assert.equal(pr.inflightByteCount, 12);
    assert.equal(pr.isPaused(), true, "one append may pass the bound; then it is full");
  });

  test("acks and a heartbeat's freed slot give their bytes back", () => {
    const pr = replicating(4, 64, 10);
    pr.sentEntries(5, 1, 6);
    pr.sentEntries(7, 2, 6);
    pr.maybeUpdate(5);
    assert.equal(pr.inflightByteCount, 6);
    assert.equal(pr.isPaused(), false);
    pr.sentEntries(8, 1, 6);
    assert.equal(pr.isPaused(), true);
    pr.freeFirstOne();
    assert.equal(pr.inflightByteCount, 6, "the oldest append's 6 bytes");
    assert.equal(pr.isPaused(), false);
  });

  test("leaving replicate state forgets the bytes in flight", () => {
    const pr = replicating(4, 64, 10);
    pr.sentEntries(5, 1, 20);
    pr.becomeProbe();
    pr.becomeReplicate();
    assert.equal(pr.inflightByteCount, 0);
    assert.equal(pr.isPaused(), false);
  });

  test("0 means no byte bound: only the count window", () => {
    const pr = replicating(4, 2, 0);
    pr.sentEntries(5, 1, 1 << 30);
    assert.equal(pr.isPaused(), false);
    pr.sentEntries(6, 1, 1 << 30);
    assert.equal(pr.isPaused(), true);
  });
});

describe("leader: proposals and the byte window", () => {
  test("a proposal batch larger than one append goes out whole, in several appends", () => {
    // 16-byte entries, 32 bytes per append: 6 entries need 3 appends.
    const net = clusterWithLeader(3, { maxMsgBytes: 32 });
    const before = net.sent.length;
    net.node(1).propose(Array.from({ length: 6 }, (_, i) => bytes(`entry-${i}`.padEnd(16))));
    const out = takeMsgs(net.raft(1));
    for (const to of [2, 3]) {
      assert.deepEqual(
        entryAppendsTo(out, to),
        [
          [2, 3],
          [4, 5],
          [6, 7],
        ],
        `all of it to ${to} at once, not only the first append`,
      );
    }
    assert.equal(net.sent.length, before, "nothing delivered yet: these are the proposal's own");
  });

  test("a leader sends a follower no more than its byte window before acks", () => {
    const net = clusterWithLeader(3, { maxMsgBytes: 16, maxInflightBytes: 40 });
    net.cutLink(1, 2);
    net.cutLink(2, 1);
    const before = net.sent.length;
    for (let i = 0; i < 10; i++) net.node(1).propose([bytes(`p${i}`.padEnd(16))]);
    net.stabilize();
    const to2 = entryAppendsTo(net.sent.slice(before), 2);
    assert.deepEqual(to2, [[2], [3], [4]], "16 + 16 < 40, then 48 ≥ 40: three appends");
    assert.equal(net.raft(1).log.committed, 11, "node 3 acks and the cluster commits");
  });
});
