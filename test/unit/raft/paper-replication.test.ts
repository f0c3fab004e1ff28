/**
 * Raft paper §5.3 and §5.4.2 (log replication, commitment, Figures 7 and 8), the thesis
 * §10.2.1 rule that a leader counts itself only after its own fsync, and the Ready
 * contract the driver relies on (etcd-io/raft raft_paper_test.go style).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NotLeaderError } from "../../../src/raft/errors.ts";
import type { RawNode } from "../../../src/raft/raw-node.ts";
import { coreForTesting } from "../../../src/raft/testing.ts";
import { EntryKind, NONE } from "../../../src/raft/types.ts";
import {
  appendReq,
  appendResp,
  bytes,
  clusterWithLeader,
  electLeader,
  entriesFromTerms,
  heartbeat,
  logTerms,
  Network,
  newRaft,
  newRawNode,
  ofType,
  type RaftOpts,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3] as const;

/** A RawNode leader (node 1) whose no-op is committed, applied and acknowledged by all. */
function rawLeader(voters: readonly number[], opts: RaftOpts = {}): RawNode {
  const n = newRawNode(1, voters, opts);
  electLeader(coreForTesting(n), voters, true);
  n.advance(n.ready());
  assert.equal(n.status().applied, n.status().lastIndex, "no-op applied");
  return n;
}

describe("§5.3 log replication", () => {
  test("§5.3: the leader appends a proposal to its log and sends it to every follower", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    const pos = r.propose([bytes("x")]);
    assert.deepEqual(pos, [{ index: 2, term: 1 }]);
    assert.equal(r.log.lastIndex(), 2);
    assert.deepEqual(
      r.log.unstableEntries().map((e) => [e.index, e.term]),
      [[2, 1]],
      "the new entry is handed to the driver to persist",
    );
    const apps = ofType(takeMsgs(r), "append");
    assert.deepEqual(apps.map((m) => m.to).sort(), [2, 3]);
    for (const m of apps) {
      assert.equal(m.term, 1);
      assert.equal(m.prevIndex, 1);
      assert.equal(m.prevTerm, 1);
      assert.equal(m.commit, 1);
      assert.deepEqual(
        m.entries.map((e) => [e.index, e.term, e.kind, new TextDecoder().decode(e.data)]),
        [[2, 1, EntryKind.Normal, "x"]],
      );
    }
    assert.equal(r.log.committed, 1, "not committed before anyone acknowledged it");
  });

  test("§5.3: a follower refuses a proposal (NotLeaderError naming the leader)", () => {
    const net = clusterWithLeader(3);
    assert.throws(
      () => net.node(2).propose([bytes("x")]),
      (e: unknown) => e instanceof NotLeaderError && e.leader === 1,
    );
  });

  const commitCases: { size: number; acks: number[]; commits: boolean }[] = [
    { size: 1, acks: [], commits: true },
    { size: 3, acks: [], commits: false },
    { size: 3, acks: [2], commits: true },
    { size: 3, acks: [2, 3], commits: true },
    { size: 5, acks: [], commits: false },
    { size: 5, acks: [2], commits: false },
    { size: 5, acks: [2, 3], commits: true },
    { size: 5, acks: [2, 3, 4, 5], commits: true },
  ];
  test("§5.3: an entry commits once stored on a majority, and is applied only after that", () => {
    for (const { size, acks, commits } of commitCases) {
      const voters = Array.from({ length: size }, (_, i) => i + 1);
      const n = rawLeader(voters);
      const name = `size ${size} acks ${JSON.stringify(acks)}`;
      n.propose([bytes("x")]);
      const rd = n.ready();
      assert.deepEqual(rd.committedEntries, [], `${name}: nothing to apply before the quorum`);
      n.advance(rd); // the leader's own copy is durable now
      for (const a of acks) n.step(appendResp(a, 1, 1, 2));
      assert.equal(n.status().commit, commits ? 2 : 1, name);
      const rd2 = n.ready();
      assert.deepEqual(
        rd2.committedEntries.map((e) => e.index),
        commits ? [2] : [],
        name,
      );
      if (commits && size > 1) {
        // The new commit index goes out to every follower (§5.3: "eventually").
        const apps = ofType(rd2.messages, "append");
        assert.deepEqual(apps.map((m) => m.to).sort(), voters.slice(1), name);
        assert.ok(
          apps.every((m) => m.commit === 2),
          name,
        );
      }
      n.advance(rd2);
    }
  });

  test("§5.3: a follower commits up to min(leader commit, last new entry) and applies only persisted entries", () => {
    const cases: { commit: number; want: number }[] = [
      { commit: 0, want: 0 },
      { commit: 1, want: 1 },
      { commit: 2, want: 2 },
      { commit: 9, want: 2 },
    ];
    for (const { commit, want } of cases) {
      const n = newRawNode(2, V3, { hardState: { term: 1 } });
      n.step(appendReq(1, 2, 1, 0, 0, entriesFromTerms([1, 1]), commit));
      assert.equal(n.status().commit, want, `leader commit ${commit}`);
      const rd = n.ready();
      assert.equal(rd.entries.length, 2);
      assert.deepEqual(rd.committedEntries, [], "committed entries wait until they are persisted");
      assert.deepEqual(rd.hardState, want === 0 ? null : { term: 1, vote: NONE, commit: want });
      n.advance(rd);
      const rd2 = n.ready();
      assert.deepEqual(
        rd2.committedEntries.map((e) => e.index),
        Array.from({ length: want }, (_, i) => i + 1),
      );
    }
    // An append verifies the log only up to its last entry: a longer, unverified tail
    // (left by an older leader) must not be committed on the strength of leader commit.
    const stale = newRawNode(2, V3, { hardState: { term: 1 }, logTerms: [1, 1, 1] });
    stale.step(appendReq(1, 2, 2, 1, 1, [], 3));
    assert.equal(stale.status().commit, 1, "commit capped at the last verified index");
    // A heartbeat carries commit too; one past what the follower holds cannot come from
    // an honest leader (it caps the commit at the follower's match) and commits nothing.
    const n = newRawNode(2, V3, { hardState: { term: 1 }, logTerms: [1, 1, 1] });
    n.step(heartbeat(1, 2, 1, 2));
    assert.equal(n.status().commit, 2);
    n.step(heartbeat(1, 2, 1, 7));
    assert.equal(n.status().commit, 2);
    n.step(heartbeat(1, 2, 1, 3));
    assert.equal(n.status().commit, 3);
  });

  test("§5.3: a heartbeat carries the leader's commit, but never beyond what that follower is known to hold", () => {
    const r = newRaft(1, V3);
    electLeader(r, V3, true);
    r.propose([bytes("a"), bytes("b"), bytes("c")]);
    r.onStable(4, 1);
    r.step(appendResp(3, 1, 1, 4));
    assert.equal(r.log.committed, 4);
    takeMsgs(r);
    r.tick();
    const hbs = ofType(takeMsgs(r), "heartbeat");
    assert.deepEqual(
      hbs.map((m) => [m.to, m.commit]).sort(),
      [
        [2, 1],
        [3, 4],
      ],
      "node 2 has only acknowledged index 1",
    );
  });

  test("§5.3: the leader's commit index reaches every follower, which apply the same entries", () => {
    const net = clusterWithLeader(3);
    for (const s of ["a", "b", "c"]) net.node(1).propose([bytes(s)]);
    net.stabilize();
    const leader = net.raft(1);
    assert.equal(leader.log.committed, 4);
    const want = net.applied.get(1)?.map((e) => [e.index, e.term, e.kind]);
    assert.equal(want?.length, 4);
    for (const id of [2, 3]) {
      assert.equal(net.raft(id).log.committed, 4, `node ${id}`);
      assert.deepEqual(
        net.applied.get(id)?.map((e) => [e.index, e.term, e.kind]),
        want,
        `node ${id} applied what the leader applied`,
      );
    }
  });

  test("§5.3: a follower rejects AppendEntries whose (prevIndex, prevTerm) is not in its log", () => {
    // Follower log: index 1 term 1, index 2 term 2; index 1 committed.
    const cases: {
      prevTerm: number;
      prevIndex: number;
      reject: boolean;
      index: number;
      hint?: [number, number];
    }[] = [
      { prevTerm: 0, prevIndex: 0, reject: false, index: 1 }, // below commit: ack the commit
      { prevTerm: 1, prevIndex: 1, reject: false, index: 1 },
      { prevTerm: 2, prevIndex: 2, reject: false, index: 2 },
      { prevTerm: 1, prevIndex: 2, reject: true, index: 2, hint: [1, 1] }, // term mismatch
      { prevTerm: 2, prevIndex: 3, reject: true, index: 3, hint: [2, 2] }, // missing entry
    ];
    for (const c of cases) {
      const r = newRaft(2, V3, { logTerms: [1, 2], hardState: { term: 2, commit: 1 } });
      r.step(appendReq(1, 2, 2, c.prevIndex, c.prevTerm, [], 1));
      const name = `prev (${c.prevIndex}, t${c.prevTerm})`;
      const resps = ofType(takeMsgs(r), "appendResp");
      assert.equal(resps.length, 1, name);
      const m = resps[0];
      assert.equal(m?.reject, c.reject, name);
      assert.equal(m?.index, c.index, name);
      assert.equal(m?.term, 2, name);
      if (c.hint) assert.deepEqual([m?.rejectHint, m?.hintTerm], c.hint, `${name} hint`);
      assert.deepEqual(logTerms(r), [1, 2], `${name}: log unchanged`);
    }
  });

  test("§5.3: a follower deletes a conflicting suffix and appends the leader's entries", () => {
    const cases: {
      prevIndex: number;
      prevTerm: number;
      ents: [number, number][]; // [term, index]
      want: number[];
      unstable: [number, number][];
    }[] = [
      { prevIndex: 2, prevTerm: 2, ents: [[3, 3]], want: [1, 2, 3], unstable: [[3, 3]] },
      {
        prevIndex: 1,
        prevTerm: 1,
        ents: [
          [3, 2],
          [4, 3],
        ],
        want: [1, 3, 4],
        unstable: [
          [3, 2],
          [4, 3],
        ],
      },
      // Already present: nothing is truncated (a stale or duplicated append is harmless).
      { prevIndex: 0, prevTerm: 0, ents: [[1, 1]], want: [1, 2], unstable: [] },
      { prevIndex: 0, prevTerm: 0, ents: [[3, 1]], want: [3], unstable: [[3, 1]] },
    ];
    for (const c of cases) {
      const n = newRawNode(2, V3, { logTerms: [1, 2], hardState: { term: 2 } });
      const ents = c.ents.flatMap(([term, index]) => entriesFromTerms([term], index));
      // Term 4: a leader only sends entries of its term or earlier.
      n.step(appendReq(1, 2, 4, c.prevIndex, c.prevTerm, ents, 0));
      const name = JSON.stringify(c.ents);
      assert.deepEqual(logTerms(coreForTesting(n)), c.want, name);
      const rd = n.ready();
      assert.deepEqual(
        rd.entries.map((e) => [e.term, e.index]),
        c.unstable,
        `${name}: Ready asks to persist exactly the new entries`,
      );
      const ack = ofType(rd.messages, "appendResp")[0];
      assert.equal(ack?.reject, false, name);
      assert.equal(ack?.index, c.prevIndex + c.ents.length, name);
    }
  });

  // Figure 7: the leader (top) of term 8 and followers (a)–(f) in various states.
  const LEADER_LOG = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
  const FIGURE7: Record<string, number[]> = {
    a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
    b: [1, 1, 1, 4],
    c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
    d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
    e: [1, 1, 1, 4, 4, 4, 4],
    f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
  };

  /**
   * Node 1 (log `leader`, term `term`) and node 2 (log `follower`) of a 3-node cluster;
   * node 3 is down but its vote is injected, as in etcd's TestLeaderSyncFollowerLog, so
   * node 1 wins even when node 2 refuses. Returns the network after it settled.
   */
  function syncFollower(
    leader: number[],
    follower: number[],
    term: number,
    leaderCommit: number,
  ): Network {
    const net = new Network(
      [1, 2],
      (id) =>
        id === 1
          ? { logTerms: leader, hardState: { term, commit: leaderCommit } }
          : { logTerms: follower, hardState: { term: term - 1 } },
      [1, 2, 3],
    );
    net.raft(1).campaign("vote");
    net.raft(1).step(voteResp(3, 1, term + 1, false));
    assert.equal(net.raft(1).role, "leader");
    net.stabilize();
    return net;
  }

  for (const [name, follower] of Object.entries(FIGURE7)) {
    test(`§5.3 Figure 7 (${name}): the leader brings a divergent follower into exact agreement`, () => {
      const net = syncFollower(LEADER_LOG, follower, 8, LEADER_LOG.length);
      const leader = net.raft(1);
      const f = net.raft(2);
      assert.deepEqual(logTerms(f), logTerms(leader));
      assert.deepEqual(logTerms(leader), [...LEADER_LOG, 9], "leader log + its no-op");
      // The driver's persisted copy, rebuilt from Ready.entries alone, agrees too.
      const persisted = net.persisted.get(2)?.entries.map((e) => [e.index, e.term, e.data]);
      const leaderEntries = [];
      for (let i = 1; i <= leader.log.lastIndex(); i++) {
        const e = leader.log.entryAt(i);
        leaderEntries.push([e?.index, e?.term, e?.data]);
      }
      assert.deepEqual(persisted, leaderEntries);
      assert.equal(f.log.committed, 11, "the no-op commits on {1, 2} and reaches the follower");
      assert.equal(f.leader, 1);
    });
  }

  const backtrack: { name: string; leader: number[]; follower: number[]; term: number }[] = [
    {
      name: "follower has a long tail of one stale term",
      leader: [...Array(5).fill(1), ...Array(5).fill(3)],
      follower: [...Array(5).fill(1), ...Array(200).fill(2)],
      term: 3,
    },
    {
      name: "both have long divergent tails",
      leader: [...Array(5).fill(1), ...Array(200).fill(3)],
      follower: [...Array(5).fill(1), ...Array(200).fill(2)],
      term: 3,
    },
    {
      name: "follower tail spans three stale terms",
      leader: [1, ...Array(20).fill(5)],
      follower: [1, ...Array(50).fill(2), ...Array(50).fill(3), ...Array(50).fill(4)],
      term: 5,
    },
    {
      name: "follower shorter in terms, longer in entries",
      leader: [1, 1, ...Array(100).fill(4)],
      follower: [1, 2, 2, ...Array(100).fill(3)],
      term: 4,
    },
  ];
  for (const c of backtrack) {
    test(`§5.3 fast backtracking (${c.name}): round trips are O(terms), not O(entries)`, () => {
      const net = syncFollower(c.leader, c.follower, c.term, 1);
      const rejections = net.sent.filter(
        (m) => m.type === "appendResp" && m.from === 2 && m.reject,
      ).length;
      const followerTerms = new Set(c.follower).size;
      assert.ok(rejections >= 1, "the logs did diverge");
      assert.ok(
        rejections <= followerTerms,
        `${rejections} rejected appends for ${followerTerms} terms in the follower's log`,
      );
      assert.deepEqual(logTerms(net.raft(2)), logTerms(net.raft(1)));
    });
  }
});

describe("§5.4.2 committing entries from previous terms", () => {
  test("§5.4.2 Figure 8: a leader never commits an earlier-term entry by counting replicas", () => {
    // S1 was leader of term 2 and wrote index 2; now it leads term 4 (Figure 8 (c)).
    const voters = [1, 2, 3, 4, 5];
    const n = newRawNode(1, voters, { logTerms: [1, 2], hardState: { term: 3, commit: 1 } });
    n.campaign("vote");
    n.step(voteResp(2, 1, 4, false));
    n.step(voteResp(3, 1, 4, false));
    assert.equal(n.status().role, "leader");
    assert.equal(n.status().term, 4);
    assert.deepEqual(logTerms(coreForTesting(n)), [1, 2, 4], "the new leader appended a no-op");
    n.advance(n.ready()); // S1's own log is durable

    // The term-2 entry reaches S2 and S3: it is on a majority {S1, S2, S3}...
    n.step(appendResp(2, 1, 4, 2));
    n.step(appendResp(3, 1, 4, 2));
    assert.equal(n.status().commit, 1, "...but must not commit: S5 could still overwrite it");
    // ...even on every node.
    n.step(appendResp(4, 1, 4, 2));
    n.step(appendResp(5, 1, 4, 2));
    assert.equal(n.status().commit, 1);
    assert.deepEqual(n.ready().committedEntries, []);

    // The term-4 no-op on a majority commits both at once (Log Matching, §5.4.2).
    n.step(appendResp(2, 1, 4, 3));
    assert.equal(n.status().commit, 1, "no-op on 2 of 5 only");
    n.step(appendResp(3, 1, 4, 3));
    assert.equal(n.status().commit, 3);
    const rd = n.ready();
    assert.deepEqual(
      rd.committedEntries.map((e) => [e.index, e.term]),
      [
        [2, 2],
        [3, 4],
      ],
    );
    assert.equal(rd.hardState?.commit, 3);
  });
});

describe("thesis §10.2.1: the leader counts itself only after its own persist", () => {
  test("thesis §10.2.1: a single-node leader commits a proposal only after advance() reports it durable", () => {
    const n = newRawNode(1, [1]);
    n.campaign("vote");
    assert.equal(n.status().role, "leader");
    assert.equal(n.status().commit, 0, "the no-op is not committed before it is persisted");
    const rd0 = n.ready();
    assert.deepEqual(
      rd0.entries.map((e) => e.kind),
      [EntryKind.Noop],
    );
    n.advance(rd0);
    assert.equal(n.status().commit, 1);
    n.advance(n.ready());

    n.propose([bytes("x")]);
    assert.equal(n.status().commit, 1, "propose alone commits nothing");
    const rd = n.ready();
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [2],
    );
    assert.equal(rd.hardState, null, "commit unchanged, so no hard state to write");
    assert.deepEqual(rd.committedEntries, []);
    assert.equal(n.status().commit, 1, "taking the Ready is not persisting it");
    n.advance(rd);
    assert.equal(n.status().commit, 2);
    const rd2 = n.ready();
    assert.equal(rd2.hardState?.commit, 2);
    assert.deepEqual(
      rd2.committedEntries.map((e) => e.index),
      [2],
    );
  });

  test("thesis §10.2.1: in a 3-node cluster one follower's ack commits only once the leader's own write is durable", () => {
    const n = rawLeader([1, 2, 3]);
    n.propose([bytes("x")]);
    const rd = n.ready(); // the leader's write is in flight; appends may go out already
    assert.equal(ofType(rd.messages, "append").length, 2, "appends are sent in parallel");
    n.step(appendResp(2, 1, 1, 2));
    assert.equal(n.status().commit, 1, "leader + 1 follower, but the leader's copy is not durable");
    n.advance(rd);
    assert.equal(n.status().commit, 2, "now {1, 2} hold it durably");
  });
});

describe("Ready contract", () => {
  test("Ready: a vote grant comes in the same Ready as the hard state that records the vote", () => {
    const n = newRawNode(1, V3);
    n.step(voteReq(2, 1, 5, 0, 0));
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 5, vote: 2, commit: 0 });
    const resp = ofType(rd.messages, "voteResp");
    assert.equal(resp.length, 1);
    assert.equal(resp[0]?.reject, false);
    assert.equal(resp[0]?.to, 2);
    n.advance(rd);
    assert.equal(n.hasReady(), false);
  });

  test("Ready: a candidate's vote requests come with the hard state holding its new term and self-vote", () => {
    const n = newRawNode(1, V3, { hardState: { term: 3 } });
    n.campaign("vote");
    const rd = n.ready();
    assert.deepEqual(rd.hardState, { term: 4, vote: 1, commit: 0 });
    assert.equal(ofType(rd.messages, "vote").length, 2);
  });

  test("Ready: a follower's append ack comes with the entries it acknowledges", () => {
    const n = newRawNode(2, V3, { hardState: { term: 1 } });
    n.step(appendReq(1, 2, 1, 0, 0, entriesFromTerms([1, 1, 1]), 0));
    const rd = n.ready();
    const ack = ofType(rd.messages, "appendResp")[0];
    assert.equal(ack?.index, 3);
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [1, 2, 3],
      "everything the ack promises is persisted before it is sent",
    );
    assert.equal(rd.hardState, null, "term, vote and commit did not change");
  });

  test("Ready: an unchanged hard state is reported as null", () => {
    const n = newRawNode(2, V3, { hardState: { term: 1, vote: 1 } });
    n.step(heartbeat(1, 2, 1, 0));
    const rd = n.ready();
    assert.equal(rd.hardState, null);
    assert.equal(ofType(rd.messages, "heartbeatResp").length, 1);
    n.advance(rd);
    n.tick();
    assert.equal(n.hasReady(), false, "a tick that changes nothing produces no Ready");
    // A change is reported once, then null again after advance.
    n.step(heartbeat(1, 2, 2, 0));
    const rd2 = n.ready();
    assert.deepEqual(rd2.hardState, { term: 2, vote: NONE, commit: 0 });
    n.advance(rd2);
    n.step(heartbeat(1, 2, 2, 0));
    assert.equal(n.ready().hardState, null);
  });
});
