/**
 * A node that has not voted in this term but already follows a leader of it refuses a
 * vote request of the same term (§5.2 with etcd's rule: a known leader is not deposed by a
 * late candidate of its own term), while the same request is granted when no leader is
 * known (found by mutation testing of handleVoteRequest, docs/mutation/raft-core.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { heartbeat, newRaft, ofType, takeMsgs, voteReq } from "./helpers.ts";

const V5 = [1, 2, 3, 4, 5];

test("a follower of this term's leader refuses a same-term vote, though it never voted", () => {
  const r = newRaft(4, V5, { hardState: { term: 2 } });
  r.step(heartbeat(1, 4, 2, 0)); // leader 1 of term 2; 4 voted for nobody
  takeMsgs(r);
  r.step(voteReq(3, 4, 2, 0, 0));
  const [resp] = ofType(takeMsgs(r), "voteResp");
  assert.equal(resp?.reject, true);
  assert.equal(r.vote, 0, "no vote cast");
  assert.equal(r.leader, 1);
});

test("with no leader known and no vote cast, the same request is granted", () => {
  const r = newRaft(4, V5, { hardState: { term: 2 } });
  r.step(voteReq(3, 4, 2, 0, 0));
  const [resp] = ofType(takeMsgs(r), "voteResp");
  assert.equal(resp?.reject, false);
  assert.equal(r.vote, 3);
});
