/**
 * Linearizable reads on a follower (Raft thesis §6.4): the follower asks the leader for a
 * read index (READ_INDEX), the leader confirms in its normal heartbeat round that it still
 * leads and answers (READ_INDEX_RESP) with the commit index it had when the request
 * arrived; the follower emits a ReadState the driver serves once applied reaches it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_INDEX } from "../../../src/raft/limits.ts";
import { messageFault } from "../../../src/raft/message-rules.ts";
import type { Message } from "../../../src/raft/messages.ts";
import { bytes, clusterWithLeader, ELECTION_TICK, Network, ofType } from "./helpers.ts";

/** Delivers only messages whose both ends are in `connected`. */
function onlyBetween(connected: readonly number[]): (m: Message) => boolean {
  return (m) => connected.includes(m.from) && connected.includes(m.to);
}

describe("thesis §6.4 ReadIndex on a follower", () => {
  test("a follower's read goes to the leader once and comes back at the leader's commit index", () => {
    const net = clusterWithLeader(3);
    net.node(1).propose([bytes("x")]);
    net.stabilize();
    const commit = net.raft(1).log.committed;
    net.node(2).readIndex(41);
    const asked = ofType(net.raft(2).msgs, "readIndex");
    assert.deepEqual(
      asked.map((m) => [m.to, m.context, m.term]),
      [[1, 41, net.raft(1).term]],
    );
    net.stabilize();
    const answers = ofType(net.sent, "readIndexResp");
    assert.deepEqual(
      answers.map((m) => [m.from, m.to, m.index, m.context]),
      [[1, 2, commit, 41]],
    );
    assert.deepEqual(net.readStates.get(2), [{ index: commit, context: 41 }]);
    assert.deepEqual(net.readStates.get(1), [], "the leader keeps no ReadState of its own");
  });

  test("the index is the leader's commit at the request, even where the follower lags", () => {
    const net = clusterWithLeader(3);
    net.filter = (m) => !(m.type === "append" && m.to === 3);
    net.node(1).propose([bytes("a"), bytes("b")]);
    net.stabilize();
    const commit = net.raft(1).log.committed;
    assert.ok(net.raft(3).log.committed < commit, "follower 3 has not learned the commit");
    net.node(3).readIndex(1);
    net.stabilize();
    assert.deepEqual(net.readStates.get(3), [{ index: commit, context: 1 }]);
    assert.ok(
      net.raft(3).log.applied < commit,
      "the driver must wait: the read index is ahead of what 3 applied",
    );
  });

  test("no answer without a quorum's heartbeat acks after the request", () => {
    const net = clusterWithLeader(5);
    net.filter = onlyBetween([1, 2]);
    net.node(2).readIndex(7);
    net.stabilize();
    net.tick();
    assert.equal(ofType(net.sent, "readIndexResp").length, 0, "leader + asker: 2 of 5");
    assert.deepEqual(net.readStates.get(2), []);
    net.filter = onlyBetween([1, 2, 3]);
    net.tick();
    assert.deepEqual(net.readStates.get(2), [{ index: net.raft(1).log.committed, context: 7 }]);
  });

  test("a new leader answers a follower only after committing an entry of its term", () => {
    const net = new Network([1, 2, 3]);
    net.filter = (m) => m.type !== "append"; // the no-op cannot replicate yet
    net.campaign(1);
    net.tick(); // a heartbeat tells 2 who leads
    assert.equal(net.raft(2).leader, 1);
    net.node(2).readIndex(5);
    net.stabilize();
    net.ticks(2);
    assert.equal(net.raft(1).log.committed, 0);
    assert.equal(ofType(net.sent, "readIndexResp").length, 0);
    net.heal();
    net.tick();
    assert.equal(net.raft(1).log.committed, 1, "the no-op committed");
    assert.deepEqual(net.readStates.get(2), [{ index: 1, context: 5 }]);
  });

  test("a leader deposed before confirming never answers (no stale read)", () => {
    const net = clusterWithLeader(3);
    net.filter = onlyBetween([1, 2]); // the leader hears only the asker
    net.cutLink(2, 1);
    net.node(2).readIndex(3);
    net.stabilize();
    const held = net.dropped.filter((m) => m.type === "readIndex");
    assert.equal(held.length, 1, "the request is in flight");
    net.heal();
    net.isolate(1);
    let ticks = 0;
    while (net.leaders().every((id) => id === 1) && ticks < 10 * ELECTION_TICK) {
      net.tick([2, 3]);
      ticks++;
    }
    net.node(net.leaders().find((id) => id !== 1) ?? 0).propose([bytes("new")]);
    net.stabilize();
    net.heal();
    net.deliver(held); // the old request reaches the old leader late
    net.ticks(3);
    const stale = ofType(net.sent, "readIndexResp").filter((m) => m.from === 1);
    assert.deepEqual(stale, [], "the deposed leader answers nothing");
  });

  test("contexts are per node: two followers using the same number each get their own answer", () => {
    const net = clusterWithLeader(3);
    net.node(2).readIndex(1);
    net.node(3).readIndex(1);
    net.node(1).readIndex(1);
    net.stabilize();
    const commit = net.raft(1).log.committed;
    for (const id of [1, 2, 3]) {
      assert.deepEqual(net.readStates.get(id), [{ index: commit, context: 1 }], `node ${id}`);
    }
  });

  test("an answer from anyone but the leader followed is dropped", () => {
    const net = clusterWithLeader(3);
    const term = net.raft(2).term;
    net.deliver([{ type: "readIndexResp", from: 3, to: 2, term, index: 1, context: 1 }]);
    assert.deepEqual(net.readStates.get(2), []);
    assert.equal(net.node(2).droppedMessages().get("second_leader"), 1);
  });

  test("a non-leader receiving READ_INDEX ignores it", () => {
    const net = clusterWithLeader(3);
    const term = net.raft(3).term;
    net.deliver([{ type: "readIndex", from: 2, to: 3, term, context: 9 }]);
    assert.equal(ofType(net.sent, "readIndexResp").length, 0);
  });

  test("message rules: READ_INDEX and its answer need a term and indexes in range", () => {
    const base = { from: 2, to: 1, term: 1 };
    assert.equal(messageFault({ ...base, type: "readIndex", context: 1 }), null);
    assert.equal(messageFault({ ...base, term: 0, type: "readIndex", context: 1 }), "term_range");
    assert.equal(
      messageFault({ ...base, type: "readIndex", context: MAX_INDEX + 1 }),
      "index_range",
    );
    assert.equal(
      messageFault({ ...base, type: "readIndexResp", index: MAX_INDEX + 1, context: 1 }),
      "index_range",
    );
    assert.equal(
      messageFault({ ...base, type: "readIndexResp", index: 1, context: -1 }),
      "index_range",
    );
  });
});
