/**
 * Leader-side flow control (etcd-io/raft's Progress): a probing follower gets one append
 * at a time, a replicating one at most maxInflight, and heartbeat replies reopen a stuck
 * window so that lost appends are eventually repaired.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Message } from "../../../src/raft/messages.ts";
import {
  bytes,
  clusterWithLeader,
  heartbeatResp,
  logTerms,
  Network,
  ofType,
  takeMsgs,
} from "./helpers.ts";

/** Appends to `to` that carry entries, among `msgs`. */
function entryAppendsTo(msgs: readonly Message[], to: number) {
  return ofType(msgs, "append").filter((m) => m.to === to && m.entries.length > 0);
}

describe("flow control", () => {
  test("replicate state: the leader pipelines at most maxInflight appends to an unresponsive follower", () => {
    const net = clusterWithLeader(3, { maxInflight: 3 });
    net.cutLink(1, 2);
    net.cutLink(2, 1);
    const sentBefore = net.sent.length;
    for (let i = 0; i < 10; i++) net.node(1).propose([bytes(`p${i}`)]);
    net.stabilize();
    net.ticks(5); // heartbeats whose replies are lost do not reopen the window
    const to2 = entryAppendsTo(net.sent.slice(sentBefore), 2);
    assert.equal(to2.length, 3, "exactly maxInflight appends in flight");
    assert.deepEqual(
      to2.map((m) => m.entries.map((e) => e.index)),
      [[2], [3], [4]],
      "pipelined back to back without waiting for acks",
    );
    assert.equal(net.raft(1).log.committed, 11, "node 3 kept the cluster committing");
    assert.equal(net.raft(3).log.lastIndex(), 11);
  });

  test("replicate state: a heartbeat response frees one slot of a full window", () => {
    const net = clusterWithLeader(3, { maxInflight: 3 });
    net.cutLink(1, 2);
    net.cutLink(2, 1);
    for (let i = 0; i < 10; i++) net.node(1).propose([bytes(`p${i}`)]);
    net.stabilize();
    const leader = net.raft(1);
    takeMsgs(leader);
    leader.step(heartbeatResp(2, 1, leader.term));
    const out = entryAppendsTo(takeMsgs(leader), 2);
    assert.equal(out.length, 1, "exactly one more append");
    assert.equal(out[0]?.prevIndex, 4, "continues after the in-flight ones");
    assert.deepEqual(
      out[0]?.entries.map((e) => e.index),
      [5, 6, 7, 8, 9, 10, 11],
    );
  });

  test("replicate state: an append rejected after a lost message sends the leader back to probing, and the gap is repaired", () => {
    const net = clusterWithLeader(3);
    let lost = false;
    net.filter = (m) => {
      if (lost || m.type !== "append" || m.to !== 2 || m.entries.length === 0) return true;
      lost = true;
      return false;
    };
    net.node(1).propose([bytes("a")]); // its append to node 2 is lost
    net.stabilize();
    // Node 3's ack commits "a"; the commit broadcast reaches node 2 as an empty append
    // after index 2, which node 2 does not have: it rejects, and the leader re-probes.
    const rejections = ofType(net.sent, "appendResp").filter((m) => m.from === 2 && m.reject);
    assert.deepEqual(
      rejections.map((m) => m.index),
      [2],
      "one rejection of prevIndex 2",
    );
    assert.deepEqual(logTerms(net.raft(2)), logTerms(net.raft(1)));
    assert.equal(net.raft(2).log.committed, 2);
    net.node(1).propose([bytes("b")]);
    net.stabilize();
    assert.equal(net.raft(2).log.committed, 3, "back in replicate state");
    assert.equal(ofType(net.sent, "appendResp").filter((m) => m.from === 2 && m.reject).length, 1);
  });

  test("probe state: at most one append is outstanding to a follower whose position is unknown", () => {
    // Node 2 is unreachable from the start, so the new leader never learns its match.
    const net = new Network([1, 2, 3]);
    net.isolate(2);
    net.campaign(1);
    const leader = net.raft(1);
    assert.equal(leader.role, "leader");
    for (let i = 0; i < 5; i++) net.node(1).propose([bytes(`p${i}`)]);
    net.stabilize();
    net.ticks(3);
    assert.equal(
      ofType(net.sent, "append").filter((m) => m.to === 2).length,
      1,
      "only the initial probe",
    );
    takeMsgs(leader);
    leader.step(heartbeatResp(2, 1, leader.term));
    const probes = ofType(takeMsgs(leader), "append").filter((m) => m.to === 2);
    assert.equal(probes.length, 1, "a heartbeat reply allows one new probe");
    leader.step(heartbeatResp(2, 1, leader.term));
    assert.equal(
      ofType(takeMsgs(leader), "append").filter((m) => m.to === 2).length,
      1,
      "and one per reply, never a burst",
    );
  });

  test("§5.3 liveness: an idle leader repairs a follower that lost an append in replicate state", () => {
    const net = clusterWithLeader(3);
    net.ticks(2);
    net.isolate(3);
    net.node(1).propose([bytes("x")]);
    net.stabilize();
    net.heal();
    net.ticks(5); // heartbeats flow both ways; no new proposals
    assert.equal(net.raft(3).log.lastIndex(), net.raft(1).log.lastIndex());
    assert.equal(net.raft(3).log.committed, net.raft(1).log.committed);
  });

  test("§5.3 liveness: a write whose appends were all lost commits after the network heals, with no further writes", () => {
    const net = clusterWithLeader(3);
    net.ticks(2);
    net.cutLink(1, 2);
    net.cutLink(1, 3);
    const [pos] = net.node(1).propose([bytes("x")]);
    net.stabilize();
    assert.equal(net.raft(1).log.committed, 1);
    net.heal();
    net.ticks(10);
    assert.ok(
      net.raft(1).log.committed >= (pos?.index ?? Number.POSITIVE_INFINITY),
      `write at ${pos?.index} still uncommitted (commit ${net.raft(1).log.committed})`,
    );
  });
});
