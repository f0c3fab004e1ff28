/**
 * The core never throws on a message from a peer: every message that
 * used to throw out of `step()` (and so out of a gRPC callback, killing the node), and
 * every impossible one that used to be acted on, is now dropped and counted in
 * `drops`, leaving the node's state as it was.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertInvariants, InvariantError, watchInvariants } from "../../../src/raft/invariants.ts";
import { MAX_TERM, MAX_TERM_STEP } from "../../../src/raft/limits.ts";
import { votersOnly } from "../../../src/raft/membership.ts";
import type { Raft } from "../../../src/raft/raft.ts";
import { mutableLogForTesting } from "../../../src/raft/testing.ts";
import { type Entry, EntryKind, NONE } from "../../../src/raft/types.ts";
import {
  appendReq,
  appendResp,
  entriesFromTerms,
  heartbeat,
  logTerms,
  newRaft,
  takeMsgs,
  voteReq,
  voteResp,
} from "./helpers.ts";

const V3 = [1, 2, 3];

/** Node 2, a follower of node 1 in term 2 holding entries 1 (t1) and 2 (t2), 1 committed. */
function follower(): Raft {
  const r = newRaft(2, V3, { logTerms: [1, 2], hardState: { term: 2, commit: 1 } });
  r.step(heartbeat(1, 2, 2, 1));
  takeMsgs(r);
  return r;
}

/** Steps `m` into `r`; asserts it was dropped for `reason` and changed nothing. */
function assertDropped(r: Raft, step: () => void, reason: string): void {
  const before = {
    log: logTerms(r),
    committed: r.log.committed,
    term: r.term,
    vote: r.vote,
    role: r.role,
  };
  const count = r.drops.get(reason as never) ?? 0;
  assert.doesNotThrow(step);
  assert.equal(r.drops.get(reason as never), count + 1, `counted as ${reason}`);
  assert.deepEqual(
    {
      log: logTerms(r),
      committed: r.log.committed,
      term: r.term,
      vote: r.vote,
      role: r.role,
    },
    before,
    "state unchanged",
  );
  assert.deepEqual(takeMsgs(r), [], "nothing answered");
}

function entry(index: number, term: number, kind: number = EntryKind.Normal): Entry {
  return { index, term, kind, data: new Uint8Array([1]) } as Entry;
}

describe("peer messages that used to throw out of step()", () => {
  test("an inconsistent append (entry index repeats prevIndex) no longer throws 'commit 2 beyond last index 1'", () => {
    const r = newRaft(2, V3, { logTerms: [1], hardState: { term: 1, commit: 0 } });
    assertDropped(
      r,
      () => r.step(appendReq(1, 2, 1, 1, 1, [entry(1, 1)], 2)),
      "entries_not_contiguous",
    );
  });

  test("an append whose entries leave a gap after prevIndex no longer throws 'gap appending'", () => {
    const r = follower();
    assertDropped(
      r,
      () => r.step(appendReq(1, 2, 2, 2, 2, [entry(5, 2)], 2)),
      "entries_not_contiguous",
    );
  });

  test("an append whose entries reach back over the commit no longer throws 'refusing to overwrite committed'", () => {
    const r = follower();
    assertDropped(
      r,
      () => r.step(appendReq(1, 2, 2, 2, 2, [entry(1, 2)], 1)),
      "entries_not_contiguous",
    );
  });

  test("an ack past the leader's log no longer throws 'log compacted ... without a snapshot'", () => {
    const r = newRaft(1, V3, { logTerms: [1], hardState: { term: 1 } });
    r.campaign("vote");
    r.step(voteResp(2, 1, 2, false));
    assert.equal(r.role, "leader");
    takeMsgs(r);
    assertDropped(r, () => r.step(appendResp(2, 1, 2, 1000)), "ack_beyond_log");
  });
});

describe("peer messages the core refuses before they touch its state", () => {
  test("an entry of unknown kind 77 is never appended (so never reaches the WAL)", () => {
    const r = follower();
    assertDropped(r, () => r.step(appendReq(1, 2, 2, 2, 2, [entry(3, 2, 77)], 2)), "entry_kind");
    assert.equal(r.log.unstableEntries().length, 0);
  });

  test("a heartbeat with term 2^53-1 is dropped, not adopted", () => {
    const r = follower();
    assertDropped(r, () => r.step(heartbeat(1, 2, 2 ** 53 - 1, 1)), "term_range");
    assertDropped(r, () => r.step(heartbeat(1, 2, MAX_TERM + 1, 1)), "term_range");
  });

  test("entries of a term after the append's own term are refused", () => {
    const r = follower();
    assertDropped(r, () => r.step(appendReq(1, 2, 2, 2, 2, [entry(3, 3)], 2)), "entry_term");
  });

  test("entry terms that go back, or below prevTerm, are refused", () => {
    const r = newRaft(2, V3, { logTerms: [1, 2], hardState: { term: 3 } });
    assertDropped(
      r,
      () => r.step(appendReq(1, 2, 3, 2, 2, [entry(3, 3), entry(4, 2)], 0)),
      "entry_term",
    );
    assertDropped(r, () => r.step(appendReq(1, 2, 3, 2, 2, [entry(3, 1)], 0)), "entry_term");
  });

  test("a vote from node 99, outside the configuration, does not count towards a majority", () => {
    const r = newRaft(1, V3, { hardState: { term: 1 } });
    r.campaign("vote");
    takeMsgs(r);
    r.step(voteResp(99, 1, 2, false));
    r.step(voteResp(98, 1, 2, false));
    assert.equal(r.role, "candidate");
  });

  test("an append from removed node 99 is not appended and does not depose anyone", () => {
    const membership = { ...votersOnly(V3), removed: [99] };
    const r = newRaft(2, V3, { logTerms: [1, 2], hardState: { term: 2, commit: 2 }, membership });
    assertDropped(
      r,
      () => r.step(appendReq(99, 2, 11, 2, 2, entriesFromTerms([11], 3), 3)),
      "not_member",
    );
    assert.equal(r.term, 2);
  });

  test("a message addressed to another node, or claiming to come from this one, is refused", () => {
    const r = follower();
    assertDropped(r, () => r.step(heartbeat(1, 3, 2, 1)), "wrong_addressee");
    assertDropped(r, () => r.step(heartbeat(2, 2, 5, 1)), "not_member");
  });

  test("a second leader in one term is refused by the follower and by the leader", () => {
    const f = follower();
    assertDropped(f, () => f.step(appendReq(3, 2, 2, 2, 2, [entry(3, 2)], 3)), "second_leader");
    const l = newRaft(1, V3, { hardState: { term: 1 } });
    l.campaign("vote");
    l.step(voteResp(2, 1, 2, false));
    takeMsgs(l);
    assertDropped(l, () => l.step(heartbeat(3, 1, 2, 0)), "second_leader");
  });

  test("a vote request whose last log term is after its own term is refused", () => {
    const r = follower();
    assertDropped(r, () => r.step(voteReq(3, 2, 3, 10, 4)), "log_position");
    assertDropped(r, () => r.step(voteReq(3, 2, 3, 0, 1)), "log_position");
  });

  test("a snapshot whose term is after the message's term is refused", () => {
    const r = follower();
    assertDropped(
      r,
      () => r.step({ type: "snapshot", from: 1, to: 2, term: 2, snapshot: { index: 9, term: 3 } }),
      "snapshot_meta",
    );
  });

  test("an append commits only up to its last new entry, never a stale tail", () => {
    // Follower holds 1 (t1) and 2 (t1, from a deposed leader); the leader of term 2 has
    // only 1 and says commit 5. Entry 2 was not verified by this append: committing it
    // (clamping to the last index instead) would apply an entry the leader will overwrite.
    const r = newRaft(2, V3, { logTerms: [1, 1], hardState: { term: 2 } });
    r.step(appendReq(1, 2, 2, 1, 1, [], 5));
    assert.equal(r.log.committed, 1);
  });

  test("a heartbeat's commit beyond the log commits nothing, yet the heartbeat counts", () => {
    // Follower holds 1 (t1) and 2 (t1, from a deposed leader). The leader caps a
    // heartbeat's commit at the follower's match, so commit 9 comes from a broken or
    // forged sender: clamping it to 2 would commit entry 2, which no leader verified.
    const r = newRaft(2, V3, { logTerms: [1, 1], hardState: { term: 2 }, electionTick: 10 });
    for (let i = 0; i < 9; i++) r.tick();
    r.step(heartbeat(1, 2, 2, 9, 7));
    assert.equal(r.log.committed, 0, "no commit from a claim beyond the log");
    assert.equal(r.drops.get("commit_beyond_log"), 1);
    assert.equal(r.leader, 1, "the leader is followed");
    assert.deepEqual(
      takeMsgs(r),
      [
        { type: "heartbeatResp", from: 2, to: 1, term: 2, context: 7 },
        {
          type: "appendResp",
          from: 2,
          to: 1,
          term: 2,
          reject: true,
          index: 9,
          rejectHint: 2,
          hintTerm: 1,
        },
      ],
      "answered with its context (ReadIndex and check-quorum count it), and where its log ends",
    );
    for (let i = 0; i < 9; i++) r.tick();
    assert.equal(r.role, "follower", "the election timer restarted");
    assert.deepEqual(takeMsgs(r), []);
    // A commit within the log is the leader's word on the entries we acknowledged.
    r.step(appendReq(1, 2, 2, 1, 1, entriesFromTerms([2], 2), 0));
    takeMsgs(r);
    r.step(heartbeat(1, 2, 2, 2));
    assert.equal(r.log.committed, 2);
  });
});

/**
 * Delivers every queued message among `nodes` until none is left (in order); messages to
 * a node outside `nodes` are lost.
 */
function deliverAll(nodes: readonly Raft[]): void {
  for (let moved = true; moved; ) {
    moved = false;
    for (const from of nodes) {
      for (const m of takeMsgs(from)) {
        nodes.find((n) => n.id === m.to)?.step(m);
        moved = true;
      }
    }
  }
}

/** Three nodes in term `term` with empty logs, with pre-vote and check-quorum. */
function clusterAt(term: number): Raft[] {
  return V3.map((id) => newRaft(id, V3, { hardState: { term }, preVote: true, checkQuorum: true }));
}

/**
 * Ticks `alive` (delivering among them; the others hear nothing) until exactly one of
 * them leads and the rest follow it in its term; returns the leader.
 */
function electAmong(alive: readonly Raft[]): Raft {
  for (let t = 0; t < 500; t++) {
    const leaders = alive.filter((r) => r.role === "leader");
    const leader = leaders[0];
    if (
      leaders.length === 1 &&
      leader !== undefined &&
      alive.every((r) => r.term === leader.term && r.leader === leader.id)
    ) {
      return leader;
    }
    for (const r of alive) r.tick();
    deliverAll(alive);
  }
  throw new Error(`no single leader: ${JSON.stringify(alive.map((r) => [r.role, r.term]))}`);
}

/** Holds `rounds` elections, each after the current leader of `nodes` went silent. */
function electRepeatedly(nodes: readonly Raft[], rounds: number): void {
  for (let i = 0; i < rounds; i++) {
    const old = electAmong(nodes);
    const oldTerm = old.term;
    takeMsgs(old);
    const next = electAmong(nodes.filter((r) => r !== old));
    assert.ok(next.term > oldTerm, `election ${i}`);
  }
  electAmong(nodes);
}

describe("forged terms cannot end elections", () => {
  test("a heartbeat in term 2^52 or 2^52-1 moves a node up by MAX_TERM_STEP, no more", () => {
    const nodes = clusterAt(3);
    const r = nodes[1] as Raft;
    r.step(heartbeat(1, 2, MAX_TERM, 0));
    assert.equal(r.term, 3 + MAX_TERM_STEP);
    assert.equal(r.leader, NONE, "the forged sender is not followed");
    r.step(heartbeat(1, 2, MAX_TERM - 1, 0));
    assert.equal(r.term, 3 + 2 * MAX_TERM_STEP);
    assert.equal(r.drops.get("term_jump"), 2);
    assert.deepEqual(takeMsgs(r), [], "not answered");
    assert.deepEqual(logTerms(r), []);
    // The cluster elects (node 2's term spreads a step at a time) and goes on electing.
    const leader = electAmong(nodes);
    assert.ok(leader.term > 3 + 2 * MAX_TERM_STEP && leader.term < 3 + 4 * MAX_TERM_STEP);
    electRepeatedly(nodes, 10);
  });

  test("a term exactly MAX_TERM_STEP ahead is adopted; one further is only stepped to", () => {
    const r = newRaft(2, V3, { hardState: { term: 5 } });
    r.step(heartbeat(1, 2, 5 + MAX_TERM_STEP, 0));
    assert.equal(r.term, 5 + MAX_TERM_STEP);
    assert.equal(r.leader, 1, "adopted: the heartbeat is handled");
    assert.equal(takeMsgs(r).length, 1);
    const at = r.term;
    r.step(heartbeat(3, 2, at + MAX_TERM_STEP + 1, 0));
    assert.equal(r.term, at + MAX_TERM_STEP);
    assert.equal(r.leader, NONE);
    assert.deepEqual(takeMsgs(r), []);
  });

  test("a cluster moved to the highest adoptable term still elects, many times over", () => {
    const nodes = clusterAt(3);
    (nodes[1] as Raft).step(heartbeat(1, 2, 3 + MAX_TERM_STEP, 0));
    takeMsgs(nodes[1] as Raft);
    electRepeatedly(nodes, 20);
    assert.ok((nodes[0] as Raft).term > 3 + MAX_TERM_STEP);
  });

  test("a node far behind its peers catches up, a step per message", () => {
    const nodes = clusterAt(3 + 5 * MAX_TERM_STEP);
    const behind = newRaft(3, V3, { hardState: { term: 3 }, preVote: true, checkQuorum: true });
    nodes[2] = behind;
    const leader = electAmong(nodes.slice(0, 2));
    for (let i = 0; i < 8 && behind.leader !== leader.id; i++) {
      for (const r of nodes) r.tick();
      deliverAll(nodes);
    }
    assert.equal(behind.leader, leader.id);
    assert.equal(behind.term, leader.term);
    assert.equal(behind.drops.get("term_jump"), 5);
  });

  test("a node in a leader's lease ignores a far-ahead vote request entirely", () => {
    const r = newRaft(2, V3, { hardState: { term: 2 }, checkQuorum: true });
    r.step(heartbeat(1, 2, 2, 0));
    takeMsgs(r);
    r.step(voteReq(3, 2, MAX_TERM, 0, 0));
    assert.equal(r.term, 2);
    assert.equal(r.leader, 1);
    assert.equal(r.drops.get("term_jump"), 1);
  });

  test("reaching MAX_TERM takes 2^32 stepped messages; there the node stops campaigning", () => {
    assert.equal(MAX_TERM / MAX_TERM_STEP, 2 ** 32);
    const r = newRaft(1, V3, { hardState: { term: MAX_TERM } });
    r.campaign("vote");
    r.campaign("preVote");
    assert.equal(r.term, MAX_TERM);
    assert.deepEqual(takeMsgs(r), []);
  });
});

describe("the core's own limits and invariants", () => {
  test("a broken invariant throws InvariantError instead of being persisted", () => {
    const r = follower();
    mutableLogForTesting(r).committed = 7; // past the last index: only a bug could do this
    assert.throws(() => r.tick(), InvariantError);
  });

  test("the leader's commit over an entry of an earlier term is caught", () => {
    const r = newRaft(1, V3, { logTerms: [1, 1], hardState: { term: 1 } });
    r.campaign("vote");
    r.step(voteResp(2, 1, 2, false));
    takeMsgs(r);
    const before = watchInvariants(r);
    mutableLogForTesting(r).commitTo(1); // as if maybeCommit had counted replicas of a term-1 entry (Figure 8)
    assert.throws(() => assertInvariants(r, before, false), /committed an entry of term 1/);
  });

  test("a vote changed within its term is caught", () => {
    const r = follower();
    const before = { ...watchInvariants(r), vote: 3 };
    assert.notEqual(r.vote, 3);
    assert.throws(() => assertInvariants(r, before, false), /vote in term \d+ changed/);
  });

  test("a second leader within one term is caught", () => {
    const r = follower();
    assert.equal(r.leader, 1);
    const before = { ...watchInvariants(r), leader: 3 };
    assert.throws(() => assertInvariants(r, before, false), /second leader 1 in term/);
  });

  test("the checks pass on an honest node", () => {
    const r = follower();
    assert.doesNotThrow(() => assertInvariants(r, watchInvariants(r), true));
  });
});
