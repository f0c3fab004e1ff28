/**
 * Linearizable reads through ReadIndex (Raft thesis §6.4): a read is served at the commit
 * index the leader had when it was asked, once a majority confirmed it still leads.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { NotLeaderError } from "../../../src/raft/errors.ts";
import type { Message } from "../../../src/raft/messages.ts";
import { NONE } from "../../../src/raft/types.ts";
import { bytes, clusterWithLeader, ELECTION_TICK, Network, newRawNode, ofType } from "./helpers.ts";

/** Delivers only messages whose both ends are in `connected`. */
function onlyBetween(connected: readonly number[]): (m: Message) => boolean {
  return (m) => connected.includes(m.from) && connected.includes(m.to);
}

describe("thesis §6.4 ReadIndex", () => {
  test("§6.4: a read on a new leader waits until an entry of its own term has committed", () => {
    const net = new Network([1, 2, 3]);
    net.filter = (m) => m.type !== "append"; // the no-op cannot replicate yet
    net.campaign(1);
    const leader = net.raft(1);
    assert.equal(leader.role, "leader");
    assert.equal(leader.log.committed, 0);
    net.node(1).readIndex(7);
    net.stabilize();
    net.ticks(2);
    assert.deepEqual(net.readStates.get(1), [], "no read before the leader commits in its term");
    assert.equal(
      net.sent.filter((m) => m.type === "heartbeat" && m.context !== 0).length,
      0,
      "the read's confirmation round has not even started",
    );
    net.heal();
    net.tick();
    assert.equal(leader.log.committed, 1, "the no-op committed");
    assert.deepEqual(net.readStates.get(1), [{ index: 1, context: 7 }]);
  });

  test("§6.4: a read is confirmed only after a majority acknowledges a heartbeat carrying its context", () => {
    const net = clusterWithLeader(5);
    net.node(1).propose([bytes("x")]);
    net.stabilize();
    const commit = net.raft(1).log.committed;
    assert.equal(commit, 2);

    net.filter = onlyBetween([1]); // every follower unreachable
    net.node(1).readIndex(1);
    net.stabilize();
    const hbs = ofType(net.sent, "heartbeat").filter((m) => m.context === 1);
    assert.deepEqual(
      hbs.map((m) => m.to).sort(),
      [2, 3, 4, 5],
      "the read triggers its own heartbeat round",
    );
    net.tick();
    assert.deepEqual(net.readStates.get(1), [], "no follower answered");

    net.filter = onlyBetween([1, 2]);
    net.tick();
    assert.deepEqual(net.readStates.get(1), [], "leader + 1 of 5 is not a majority");

    net.filter = onlyBetween([1, 2, 3]);
    net.tick();
    assert.deepEqual(net.readStates.get(1), [{ index: commit, context: 1 }]);
  });

  test("§6.4: reads queued before one confirmation round are all released, in order, once", () => {
    const net = clusterWithLeader(3);
    net.isolate(1);
    for (const ctx of [1, 2, 3]) net.node(1).readIndex(ctx);
    net.stabilize();
    assert.deepEqual(net.readStates.get(1), []);
    net.heal();
    net.tick(); // one heartbeat, carrying the newest context (3)
    assert.deepEqual(
      net.readStates.get(1)?.map((rs) => rs.context),
      [1, 2, 3],
    );
    assert.ok(net.readStates.get(1)?.every((rs) => rs.index === 1));
    net.ticks(3);
    assert.equal(net.readStates.get(1)?.length, 3, "a released read is not released again");
  });

  test("§6.4: ReadIndex on a node that knows no leader throws NotLeaderError", () => {
    const lost = newRawNode(2, [1, 2, 3]);
    assert.throws(
      () => lost.readIndex(1),
      (e: unknown) => e instanceof NotLeaderError && e.leader === NONE,
    );
    const candidate = newRawNode(1, [1, 2, 3]);
    candidate.campaign("vote");
    assert.throws(
      () => candidate.readIndex(1),
      (e: unknown) => e instanceof NotLeaderError && e.leader === NONE,
    );
  });

  test("§6.4: the read state's index is the commit index at the time of the request", () => {
    const net = clusterWithLeader(3);
    // An earlier write is appended but not yet committed when the read arrives.
    net.filter = (m) => m.type !== "append";
    net.node(1).propose([bytes("in flight")]);
    net.stabilize();
    const atRequest = net.raft(1).log.committed;
    assert.equal(net.raft(1).log.lastIndex(), atRequest + 1);
    net.filter = () => false; // the read's confirmation is delayed...
    net.node(1).readIndex(9);
    const round = ofType(net.raft(1).msgs, "heartbeat")[0]?.context ?? 0;
    assert.ok(round > 0, "the read's round has its heartbeat");
    net.node(1).propose([bytes("later write")]);
    net.stabilize();
    net.heal();
    net.deliver(net.dropped.filter((m) => m.type === "append"));
    assert.equal(net.raft(1).log.committed, atRequest + 2, "...while both writes commit");
    assert.deepEqual(net.readStates.get(1), []);
    net.deliver(net.dropped.filter((m) => m.type === "heartbeat" && m.context === round));
    assert.deepEqual(net.readStates.get(1), [{ index: atRequest, context: 9 }]);
  });

  test("§6.4: a single-node leader confirms reads at once, but only after committing in its term", () => {
    const n = newRawNode(1, [1]);
    n.campaign("vote");
    n.readIndex(1);
    const rd = n.ready();
    assert.deepEqual(rd.readStates, [], "the no-op is not yet durable, so not committed");
    n.advance(rd);
    assert.deepEqual(n.ready().readStates, [{ index: 1, context: 1 }]);
    n.readIndex(2);
    assert.deepEqual(n.ready().readStates, [{ index: 1, context: 2 }]);
  });

  test("§6.4: a leader deposed before its read is confirmed never releases it (no stale read)", () => {
    const net = clusterWithLeader(3);
    net.isolate(1);
    net.node(1).readIndex(5);
    // The majority elects a new leader and commits a write the old leader cannot see.
    let ticks = 0;
    while (net.leaders().every((id) => id === 1) && ticks < 10 * ELECTION_TICK) {
      net.tick([2, 3]);
      ticks++;
    }
    const [newLeader] = net.leaders().filter((id) => id !== 1);
    assert.ok(newLeader !== undefined);
    net.node(newLeader).propose([bytes("new value")]);
    net.stabilize();
    net.heal();
    net.ticks(5);
    assert.notEqual(net.raft(1).role, "leader");
    assert.deepEqual(net.readStates.get(1), []);
  });
});
