/** Who may start an InstallSnapshot transfer: the known leader, never over its own transfer. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { leaderAdmission, SnapshotGate } from "../../../src/transport/snapshot-gate.ts";

interface Soft {
  role: string;
  leader: number;
  term: number;
}

describe("snapshot admission", () => {
  test("a follower takes snapshots only from the leader it knows, for its term or later", () => {
    const soft: Soft = { role: "follower", leader: 2, term: 5 };
    const admit = leaderAdmission(() => soft);
    assert.equal(admit(2, 5), null);
    assert.equal(admit(2, 6), null, "the known leader re-elected in a later term");
    assert.match(admit(3, 5) ?? "", /from node 3, but the leader is node 2 \(term 5\)/);
    assert.match(admit(3, 99) ?? "", /the leader is node 2/, "a higher term is no pass");
    assert.match(admit(2, 4) ?? "", /of term 4 from node 2, now term 5/);
    soft.leader = 0;
    assert.match(admit(2, 5) ?? "", /no leader is known/);
    Object.assign(soft, { role: "leader", leader: 1 });
    assert.match(admit(2, 6) ?? "", /to the leader of term 5/);
  });

  test("the leader's transfer in progress is not replaced by anyone else's", () => {
    let admitted = new Set([2, 3]); // a fake rule: both pass, to reach the second check
    const gate = new SnapshotGate((from) => (admitted.has(from) ? null : `not ${from}`));
    const first = gate.enter(2, 5);
    assert.ok(!("refused" in first));
    const other = gate.enter(3, 5);
    assert.ok("refused" in other && other.busy, "node 3 must wait for node 2's transfer");
    const stranger = gate.enter(4, 5);
    assert.ok("refused" in stranger && !stranger.busy);
    const retry = gate.enter(2, 5);
    assert.ok(!("refused" in retry), "the leader may restart its own transfer");
    gate.leave(first); // the superseded transfer ending does not free the gate
    assert.ok("refused" in gate.enter(3, 5));
    // Leadership moved on: the old leader's transfer no longer holds anyone back.
    admitted = new Set([3]);
    const next = gate.enter(3, 6);
    assert.ok(!("refused" in next));
    gate.leave(next);
    assert.ok(!("refused" in gate.enter(3, 6)));
  });
});
