/**
 * A leader's Replicator on its own (src/raft/replicator.ts), driven with a RaftLog and a
 * hand-set clock, its sends recorded: what a new, kept or removed follower starts from,
 * what appends and heartbeats carry, how acks, rejections, heartbeat replies and snapshot
 * reports move a follower between probe, replicate and snapshot, and the contact marks
 * check-quorum and leases read. The cluster tests reach it only through whole elections,
 * where most of these cases never arise or are repaired a round later; mutation testing
 * (docs/mutation/raft-rest.md) showed them unpinned there.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RaftLog } from "../../../src/raft/log.ts";
import type { AppendResponse, SnapshotMeta } from "../../../src/raft/messages.ts";
import { type Outgoing, Replicator } from "../../../src/raft/replicator.ts";
import type { NodeId } from "../../../src/raft/types.ts";
import { entriesFromTerms, heartbeatResp } from "./helpers.ts";

const TERM = 3;
/** More sends than any step here makes: reaching it means a loop that never stops. */
const MAX_SENDS = 1000;

interface Setup {
  peers?: NodeId[];
  /** Terms of the entries after the compaction point (default 1, 1, 2, 3, 3 at 1..5). */
  terms?: number[];
  offset?: number;
  offsetTerm?: number;
  committed?: number;
  maxInflight?: number;
  maxMsgBytes?: number;
  snapshot?: SnapshotMeta | null;
}

/** A leader of term 3 with the log of `s`, a clock at 0, and its sends recorded. */
function leader(s: Setup = {}) {
  const offset = s.offset ?? 0;
  const committed = s.committed ?? offset + 3;
  const log = new RaftLog({
    entries: entriesFromTerms(s.terms ?? [1, 1, 2, 3, 3], offset + 1),
    offset,
    offsetTerm: s.offsetTerm ?? 0,
    committed,
    applied: committed,
  });
  const sent: Outgoing[] = [];
  const h = {
    now: 0,
    log,
    sent,
    snapshot: s.snapshot ?? null,
    rep: undefined as unknown as Replicator,
    /** The messages sent since the last call. */
    take(): Outgoing[] {
      return sent.splice(0);
    },
  };
  h.rep = new Replicator({
    term: TERM,
    peers: s.peers ?? [2],
    clock: () => h.now,
    log,
    // entries of entriesFromTerms hold 4 bytes ("t1i2"): one entry per append by default
    maxMsgBytes: s.maxMsgBytes ?? 1 << 20,
    maxInflight: s.maxInflight ?? 256,
    latestSnapshot: () => h.snapshot,
    send: (m) => {
      // a send loop that never ends fails the test instead of hanging it
      if (sent.length >= MAX_SENDS) throw new Error(`more than ${MAX_SENDS} sends in one step`);
      sent.push(m);
    },
  });
  return h;
}

function ack(from: NodeId, index: number): AppendResponse {
  return {
    type: "appendResp",
    from,
    to: 1,
    term: TERM,
    reject: false,
    index,
    rejectHint: 0,
    hintTerm: 0,
  };
}

function reject(from: NodeId, index: number, rejectHint: number, hintTerm = 0): AppendResponse {
  return { type: "appendResp", from, to: 1, term: TERM, reject: true, index, rejectHint, hintTerm };
}

/** (to, prevIndex, entry indexes, commit) of each append among `ms`. */
function appends(ms: readonly Outgoing[]) {
  return ms.map((m) => {
    assert.equal(m.type, "append");
    const a = m as Outgoing & { type: "append" };
    return {
      to: a.to,
      prevIndex: a.prevIndex,
      prevTerm: a.prevTerm,
      entries: a.entries.map((e) => e.index),
      commit: a.commit,
    };
  });
}

describe("raft replicator", () => {
  describe("followers", () => {
    test("a new follower is probed from the end of the log and counts as just heard", () => {
      const h = leader({ peers: [] });
      h.now = 7;
      h.rep.setPeers([2]);
      assert.deepEqual(h.rep.view().get(2), {
        match: 0,
        next: 6,
        state: "probe",
        recentActive: true,
        idleTicks: 0,
        inflight: 0,
      });
      assert.deepEqual([...h.rep.heardSince(7)], [2]);
      assert.deepEqual([...h.rep.heardSince(8)], []);
      h.now = 10;
      assert.equal(h.rep.view().get(2)?.idleTicks, 3);
      assert.deepEqual(h.take(), [], "nothing is sent to a new follower yet");
    });

    test("a follower kept across a configuration change keeps its progress and contact", () => {
      const h = leader({ peers: [2] });
      h.now = 2;
      h.rep.onAppendResponse(ack(2, 5));
      h.now = 5;
      h.rep.setPeers([2, 3]);
      assert.equal(h.rep.view().get(2)?.match, 5);
      assert.equal(h.rep.view().get(2)?.state, "replicate");
      assert.equal(h.rep.view().get(2)?.idleTicks, 3);
      assert.equal(h.rep.view().get(3)?.idleTicks, 0);
      assert.equal(h.rep.view().get(3)?.next, 6);
    });

    test("a removed follower gets one last append with the commit, then is forgotten", () => {
      const h = leader({ peers: [2, 3] });
      h.rep.onAppendResponse(ack(2, 5));
      h.log.commitTo(5);
      h.take();
      h.rep.setPeers([3]);
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 5, prevTerm: 3, entries: [], commit: 5 },
      ]);
      assert.deepEqual([...h.rep.view().keys()], [3]);
      assert.equal(h.rep.matchOf(2), 0);
      assert.deepEqual([...h.rep.heardSince(0)], [3]);
      h.rep.broadcastHeartbeat(0);
      assert.deepEqual(
        h.take().map((m) => m.to),
        [3],
      );
      h.rep.broadcastAppend();
      assert.deepEqual(
        h.take().map((m) => m.to),
        [3],
      );
    });

    test("matches and matchOf report the followers' match indexes, voters only", () => {
      const h = leader({ peers: [2, 3, 4] });
      h.rep.onAppendResponse(ack(2, 4));
      h.rep.onAppendResponse(ack(3, 5));
      assert.deepEqual(h.rep.matches(new Set([2, 4])), [4, 0]);
      assert.equal(h.rep.matchOf(3), 5);
      assert.equal(h.rep.matchOf(9), 0);
    });
  });

  describe("contact (check-quorum, leases)", () => {
    test("takeActiveVoters counts voters heard from since the last check and clears every mark", () => {
      const h = leader({ peers: [2, 3, 4] });
      assert.equal(h.rep.takeActiveVoters(new Set([2, 3])), 2);
      assert.equal(h.rep.takeActiveVoters(new Set([2, 3])), 0);
      h.rep.onHeartbeatResponse(heartbeatResp(4, 1, TERM));
      h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.equal(h.rep.takeActiveVoters(new Set([2, 3])), 1);
      assert.equal(h.rep.view().get(4)?.recentActive, false, "a learner's mark is cleared too");
    });

    test("acks, rejections and heartbeat replies all count as contact", () => {
      const h = leader({ peers: [2, 3, 4] });
      h.rep.takeActiveVoters(new Set());
      h.now = 4;
      h.rep.onAppendResponse(ack(2, 5));
      h.rep.onAppendResponse(reject(3, 5, 0));
      h.rep.onHeartbeatResponse(heartbeatResp(4, 1, TERM));
      for (const id of [2, 3, 4]) {
        assert.equal(h.rep.view().get(id)?.recentActive, true, `peer ${id}`);
        assert.equal(h.rep.view().get(id)?.idleTicks, 0, `peer ${id}`);
      }
      assert.deepEqual([...h.rep.heardSince(4)], [2, 3, 4]);
    });

    test("answers from a node that is no follower are ignored", () => {
      const h = leader({ peers: [2] });
      assert.equal(h.rep.onAppendResponse(ack(9, 5)), false);
      assert.equal(h.rep.onHeartbeatResponse(heartbeatResp(9, 1, TERM)), false);
      h.rep.reportSnapshot(9, true);
      assert.equal(h.rep.sendAppend(9, true), false);
      assert.deepEqual(h.take(), []);
      assert.deepEqual([...h.rep.view().keys()], [2]);
    });
  });

  describe("appends and heartbeats", () => {
    test("an append carries the entries from next on, the entry before them and the commit", () => {
      const h = leader({ peers: [2] });
      assert.equal(h.rep.sendAppend(2, false), false, "nothing to send and no need to");
      assert.deepEqual(h.take(), []);
      assert.equal(h.rep.sendAppend(2, true), true);
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 5, prevTerm: 3, entries: [], commit: 3 },
      ]);
      assert.equal(h.rep.sendAppend(2, true), false, "a probe waits for its answer");
      assert.deepEqual(h.take(), []);
    });

    test("an append holds at most maxMsgBytes of entries, and at least one", () => {
      const h = leader({ peers: [2], maxMsgBytes: 8 });
      h.rep.onAppendResponse(ack(2, 1));
      h.rep.sendAppend(2, false);
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 1, prevTerm: 1, entries: [2, 3], commit: 3 },
      ]);
      const one = leader({ peers: [2], maxMsgBytes: 1 });
      one.rep.onAppendResponse(ack(2, 1));
      one.rep.sendAppend(2, false);
      assert.deepEqual(appends(one.take())[0]?.entries, [2]);
    });

    test("a replicating follower is sent appends until its window is full", () => {
      const h = leader({ peers: [2], maxInflight: 2, maxMsgBytes: 4 });
      h.rep.onAppendResponse(ack(2, 2));
      h.rep.sendAppendsWhileOpen(2);
      assert.deepEqual(
        appends(h.take()).map((a) => [a.prevIndex, a.entries]),
        [
          [2, [3]],
          [3, [4]],
        ],
      );
      assert.equal(h.rep.view().get(2)?.inflight, 2);
      assert.equal(h.rep.view().get(2)?.next, 5);
      assert.equal(h.rep.sendAppend(2, true), false, "the window is full");
    });

    test("a replicating follower is sent appends until the log runs out, and no empty one", () => {
      const h = leader({ peers: [2], maxInflight: 8, maxMsgBytes: 4 });
      h.rep.onAppendResponse(ack(2, 3));
      h.rep.sendAppendsWhileOpen(2);
      assert.deepEqual(
        appends(h.take()).map((a) => a.entries),
        [[4], [5]],
      );
      assert.equal(h.rep.view().get(2)?.inflight, 2);
    });

    test("heartbeats carry the ReadIndex context and a commit capped at each follower's match", () => {
      const h = leader({ peers: [2, 3], committed: 3 });
      h.rep.onAppendResponse(ack(2, 5));
      h.rep.onAppendResponse(ack(3, 2));
      h.take();
      h.rep.broadcastHeartbeat(9);
      assert.deepEqual(h.take(), [
        { type: "heartbeat", to: 2, term: TERM, commit: 3, context: 9 },
        { type: "heartbeat", to: 3, term: TERM, commit: 2, context: 9 },
      ]);
    });

    test("broadcastAppend sends every follower an append, empty or not", () => {
      const h = leader({ peers: [2, 3] });
      h.rep.onAppendResponse(ack(3, 5));
      h.rep.broadcastAppend();
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 5, prevTerm: 3, entries: [], commit: 3 },
        { to: 3, prevIndex: 5, prevTerm: 3, entries: [], commit: 3 },
      ]);
    });
  });

  describe("acks", () => {
    test("an ack moves a probed follower to replicate; a stale ack changes nothing", () => {
      const h = leader({ peers: [2] });
      h.rep.sendAppend(2, true);
      h.take();
      assert.equal(h.rep.onAppendResponse(ack(2, 4)), true);
      assert.deepEqual(
        [h.rep.view().get(2)?.state, h.rep.view().get(2)?.match, h.rep.view().get(2)?.next],
        ["replicate", 4, 5],
      );
      assert.equal(h.rep.onAppendResponse(ack(2, 3)), false);
      assert.equal(h.rep.view().get(2)?.match, 4);
      assert.deepEqual(h.take(), [], "an ack sends nothing by itself");
    });

    test("an ack frees the appends it covers and keeps the later ones in flight", () => {
      const h = leader({ peers: [2], maxInflight: 3, maxMsgBytes: 4 });
      h.rep.onAppendResponse(ack(2, 2));
      h.rep.sendAppendsWhileOpen(2);
      h.take();
      assert.equal(h.rep.onAppendResponse(ack(2, 3)), true);
      assert.deepEqual(
        [h.rep.view().get(2)?.state, h.rep.view().get(2)?.next, h.rep.view().get(2)?.inflight],
        ["replicate", 6, 2],
        "entries 4 and 5 are still in flight, not sent again",
      );
    });

    test("a stale ack to a follower that is not paused sends nothing", () => {
      const h = leader({ peers: [2] });
      h.rep.onAppendResponse(ack(2, 2));
      // replicate, match 2, nothing in flight: entries 3..5 wait for the caller to send them
      assert.equal(h.rep.onAppendResponse(ack(2, 1)), false);
      assert.deepEqual(h.take(), []);
      assert.equal(h.rep.view().get(2)?.next, 3);
    });
  });

  describe("rejections", () => {
    test("a rejection with a hint term skips the follower's conflicting term", () => {
      const h = leader({ peers: [2] });
      h.rep.sendAppend(2, true);
      h.take();
      // the follower holds entry 4 of term 2: the leader's last entry of term <= 2 is 3
      assert.equal(h.rep.onAppendResponse(reject(2, 5, 4, 2)), false);
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 3, prevTerm: 2, entries: [4, 5], commit: 3 },
      ]);
    });

    test("a rejection without a hint term probes just after the hint", () => {
      const h = leader({ peers: [2] });
      h.rep.sendAppend(2, true);
      h.take();
      h.rep.onAppendResponse(reject(2, 5, 4, 0));
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 4, prevTerm: 3, entries: [5], commit: 3 },
      ]);
    });

    test("a stale rejection sends nothing", () => {
      const h = leader({ peers: [2] });
      h.rep.sendAppend(2, true);
      h.take();
      h.rep.onAppendResponse(reject(2, 3, 1));
      assert.deepEqual(h.take(), []);
      assert.equal(h.rep.view().get(2)?.next, 6);
    });

    test("a rejected append to a replicating follower falls back to probing", () => {
      const h = leader({ peers: [2] });
      h.rep.onAppendResponse(ack(2, 2));
      h.rep.sendAppend(2, false);
      h.take();
      assert.equal(h.rep.view().get(2)?.inflight, 1);
      h.rep.onAppendResponse(reject(2, 3, 2));
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 2, prevTerm: 1, entries: [3, 4, 5], commit: 3 },
      ]);
      assert.equal(h.rep.view().get(2)?.state, "probe");
      assert.equal(h.rep.view().get(2)?.inflight, 0);
    });

    test("a follower moved back to probing is probed at once, even with nothing left to send", () => {
      const h = leader({ peers: [2] });
      h.rep.onAppendResponse(ack(2, 5));
      // a rejection past the leader's log (nothing it sent): back to probing from match + 1
      h.rep.onAppendResponse(reject(2, 6, 5));
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 5, prevTerm: 3, entries: [], commit: 3 },
      ]);
      assert.equal(h.rep.view().get(2)?.state, "probe");
    });
  });

  describe("heartbeat replies", () => {
    test("a reply to a probed follower re-sends the probe, even an empty one", () => {
      const h = leader({ peers: [2] });
      h.rep.sendAppend(2, true);
      h.take();
      assert.equal(h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM)), true);
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 5, prevTerm: 3, entries: [], commit: 3 },
      ]);
    });

    test("a follower that holds the whole log is sent nothing", () => {
      const h = leader({ peers: [2] });
      h.rep.onAppendResponse(ack(2, 5));
      h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.deepEqual(h.take(), []);
      h.log.append(entriesFromTerms([3], 6));
      h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.deepEqual(appends(h.take())[0]?.entries, [6]);
    });

    test("a reply frees one slot of a full window, and only of a full one", () => {
      const h = leader({ peers: [2], maxInflight: 2, maxMsgBytes: 4 });
      h.rep.onAppendResponse(ack(2, 2));
      h.rep.sendAppendsWhileOpen(2);
      h.take();
      h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.deepEqual(appends(h.take())[0]?.entries, [5]);
      assert.equal(h.rep.view().get(2)?.inflight, 2);

      const half = leader({ peers: [2], maxInflight: 3, maxMsgBytes: 4 });
      half.rep.onAppendResponse(ack(2, 3));
      half.rep.sendAppend(2, false);
      half.take();
      assert.equal(half.rep.view().get(2)?.inflight, 1);
      half.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.deepEqual(appends(half.take())[0]?.entries, [5]);
      assert.equal(half.rep.view().get(2)?.inflight, 2, "the unacknowledged append still counts");
    });
  });

  describe("snapshots", () => {
    /** A leader compacted to 10 (term 2) holding 11 and 12, follower 2 probed from 1. */
    function compacted(snapshot: SnapshotMeta | null = { index: 10, term: 2 }) {
      const h = leader({
        peers: [2],
        terms: [3, 3],
        offset: 10,
        offsetTerm: 2,
        committed: 12,
        snapshot,
      });
      h.rep.sendAppend(2, true);
      h.take();
      return h;
    }

    test("a follower that needs compacted entries is sent the newest snapshot", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      assert.deepEqual(h.take(), [
        { type: "snapshot", to: 2, term: TERM, snapshot: { index: 10, term: 2 } },
      ]);
      assert.equal(h.rep.view().get(2)?.state, "snapshot");
      assert.equal(h.rep.sendAppend(2, true), false, "nothing more until it is installed");
    });

    test("a replicating follower whose next entry was compacted away is sent the snapshot", () => {
      const h = leader({ peers: [2], committed: 5 });
      h.rep.onAppendResponse(ack(2, 2));
      h.log.compact(4);
      h.snapshot = { index: 4, term: 3 };
      assert.equal(h.rep.sendAppend(2, false), true, "sendAppend says it sent something");
      assert.deepEqual(h.take(), [
        { type: "snapshot", to: 2, term: TERM, snapshot: { index: 4, term: 3 } },
      ]);
      assert.equal(h.rep.view().get(2)?.state, "snapshot");
    });

    test("without a snapshot covering the compaction point the leader stops", () => {
      for (const snap of [null, { index: 9, term: 2 }]) {
        const h = compacted(snap);
        assert.throws(
          () => h.rep.onAppendResponse(reject(2, 12, 0)),
          /^Error: raft: log compacted to 10 without a snapshot covering it$/,
        );
      }
    });

    test("an ack of the snapshot resumes replication after it", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      h.take();
      assert.equal(h.rep.onAppendResponse(ack(2, 10)), true);
      assert.deepEqual([h.rep.view().get(2)?.state, h.rep.view().get(2)?.next], ["replicate", 11]);
    });

    test("an ack below the snapshot keeps waiting for it", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      h.take();
      assert.equal(h.rep.onAppendResponse(ack(2, 8)), true);
      assert.equal(h.rep.view().get(2)?.state, "snapshot");
    });

    test("an ack of a snapshot the log was since compacted past probes for a newer one", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      h.take();
      h.log.compact(11);
      h.snapshot = { index: 11, term: 3 };
      h.rep.onAppendResponse(ack(2, 10));
      assert.deepEqual([h.rep.view().get(2)?.state, h.rep.view().get(2)?.next], ["probe", 11]);
      h.rep.sendAppend(2, true);
      assert.deepEqual(h.take(), [
        { type: "snapshot", to: 2, term: TERM, snapshot: { index: 11, term: 3 } },
      ]);
    });

    test("a sent snapshot is probed just after it, after the follower's next reply", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      h.take();
      h.rep.reportSnapshot(2, true);
      assert.deepEqual([h.rep.view().get(2)?.state, h.rep.view().get(2)?.next], ["probe", 11]);
      assert.equal(h.rep.sendAppend(2, true), false, "waits for the follower's reply");
      h.rep.onHeartbeatResponse(heartbeatResp(2, 1, TERM));
      assert.deepEqual(appends(h.take()), [
        { to: 2, prevIndex: 10, prevTerm: 2, entries: [11, 12], commit: 12 },
      ]);
    });

    test("a failed snapshot is probed from the follower's match again", () => {
      const h = compacted();
      h.rep.onAppendResponse(reject(2, 12, 0));
      h.take();
      h.rep.reportSnapshot(2, false);
      assert.deepEqual([h.rep.view().get(2)?.state, h.rep.view().get(2)?.next], ["probe", 1]);
      assert.equal(h.rep.sendAppend(2, true), false, "waits for the follower's reply");
    });

    test("a snapshot report for a follower not being sent one is ignored", () => {
      const h = leader({ peers: [2] });
      h.rep.reportSnapshot(2, true);
      assert.equal(h.rep.view().get(2)?.next, 6);
      assert.equal(h.rep.sendAppend(2, true), true, "no probe was marked sent");
    });
  });
});
