/**
 * Edges of configuration changes and leadership transfers that the cluster tests reach
 * only in their common case (found by mutation testing, docs/mutation/raft-core.md):
 * only a leader may propose a configuration, a change during a transfer says why it is
 * refused, and a lagging transferee is sent entries the moment the transfer begins.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigChangeError, NotLeaderError } from "../../../src/raft/errors.ts";
import { type Member, votersOnly } from "../../../src/raft/membership.ts";
import { bytes, clusterWithLeader, electLeader, newRaft, ofType, takeMsgs } from "./helpers.ts";

const BASE = votersOnly([1, 2, 3]);

function learner(id: number): Member {
  return { id, learner: true, peerAddr: `p${id}`, clientAddr: `c${id}`, identity: "" };
}

test("a follower refuses to propose a configuration, naming its leader, and appends nothing", () => {
  const net = clusterWithLeader(3);
  const follower = net.raft(2);
  const last = follower.log.lastIndex();
  assert.throws(
    () => follower.proposeMembership({ members: [...BASE.members, learner(4)], removed: [] }),
    (error: unknown) => error instanceof NotLeaderError && error.leader === 1,
  );
  assert.equal(follower.log.lastIndex(), last);
});

test("a configuration change during a leadership transfer is refused as such", () => {
  const r = newRaft(1, [1, 2, 3]);
  electLeader(r, [1, 2]); // followers have acknowledged nothing: 2 lags
  r.transferLeadership(2);
  assert.throws(
    () => r.proposeMembership({ members: [...BASE.members, learner(4)], removed: [] }),
    (error: unknown) =>
      error instanceof ConfigChangeError &&
      error.reason === "transferring" &&
      /a leadership transfer is under way/.test(error.message),
  );
});

test("a transferee behind the leader's log is sent an append at once, not after a tick", () => {
  const r = newRaft(1, [1, 2, 3]);
  electLeader(r, [1, 2, 3], true); // both followers replicating, through the no-op
  r.propose([bytes("x")]); // sent to both, not yet acknowledged: 2 lags by one entry
  takeMsgs(r);
  r.transferLeadership(2);
  const msgs = takeMsgs(r);
  const appends = ofType(msgs, "append").filter((m) => m.to === 2);
  assert.equal(appends.length, 1, "one append to the transferee (empty: the entry is in flight)");
  assert.equal(appends[0]?.commit, r.log.committed);
  assert.equal(ofType(msgs, "timeoutNow").length, 0, "no TimeoutNow before it caught up");
});
