/**
 * Two rules of the consensus core that no scenario test reaches at their edge (found by
 * mutation testing, see docs/mutation/raft-core.md): a restart with a stored
 * configuration replays only the configuration entries after the applied index, and
 * `ack_beyond_log` is a leader's check of its own log, never counted by a node that
 * does not lead.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeMembership, type Membership, votersOnly } from "../../../src/raft/membership.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { EntryKind } from "../../../src/raft/types.ts";
import {
  appendResp,
  ELECTION_TICK,
  electLeader,
  newRaft,
  raftConfig,
  takeMsgs,
} from "./helpers.ts";

const V3 = [1, 2, 3];

describe("restart", () => {
  test("with a stored configuration a restart keeps it in force at the applied index, replaying no entry up to it", () => {
    const grown: Membership = {
      members: [
        ...votersOnly(V3).members,
        { id: 4, learner: true, peerAddr: "", clientAddr: "", identity: "" },
      ],
      removed: [],
    };
    // The state machine applied the configuration entry at 2 (and the entry at 3) and
    // stored the configuration it set; the log still holds that entry.
    const stored: Membership = JSON.parse(JSON.stringify(grown));
    const r = new Raft(raftConfig(1, V3), {
      hardState: { term: 1, vote: 1, commit: 3 },
      log: {
        entries: [
          { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
          { index: 2, term: 1, kind: EntryKind.Config, data: encodeMembership(grown) },
          { index: 3, term: 1, kind: EntryKind.Normal, data: new Uint8Array([1]) },
        ],
        offset: 0,
        offsetTerm: 0,
        committed: 3,
        applied: 3,
      },
      membership: stored,
    });
    assert.equal(r.membership.index, 3, "reported at the applied index");
    // The server tells its edges of a new configuration only when the core's is not the
    // very object it handed in (src/server/node.ts): nothing was replayed.
    assert.equal(r.membership.membership, stored);
  });
});

describe("drop counters", () => {
  test("a leader that stepped down ignores an acknowledgement past its log without counting it", () => {
    const r = newRaft(1, V3, { checkQuorum: true });
    electLeader(r, V3, true);
    const term = r.term;
    // the first check counts the acks above; the second finds nobody heard since
    for (let i = 0; i < 2 * ELECTION_TICK; i++) r.tick();
    assert.equal(r.role, "follower");
    assert.equal(r.term, term, "stepped down in the same term");
    takeMsgs(r);
    r.step(appendResp(2, 1, term, 1)); // a late acknowledgement
    r.step(appendResp(3, 1, term, 1000)); // and one past the log
    assert.equal(r.drops.get("ack_beyond_log"), undefined, "only a leader judges acks");
    assert.deepEqual([...r.drops.values()], []);
    assert.deepEqual(takeMsgs(r), []);
  });
});
