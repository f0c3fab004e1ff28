/**
 * Compaction forgets only the configurations no retained index can be in: the one in
 * force at the compaction point stays, so a snapshot taken there (or any later index
 * before the next change) still gets the configuration it was taken under (found by
 * mutation testing of forgetConfigsBefore, docs/mutation/raft-core.md).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeMembership,
  type Member,
  type Membership,
  votersOnly,
} from "../../../src/raft/membership.ts";
import { Raft } from "../../../src/raft/raft.ts";
import { mutableLogForTesting } from "../../../src/raft/testing.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import { bytes, heartbeat, raftConfig } from "./helpers.ts";

const BASE = votersOnly([1, 2, 3]);

function member(id: number, learner: boolean): Member {
  return { id, learner, peerAddr: `p${id}`, clientAddr: `c${id}`, identity: "" };
}

function configEntry(index: number, m: Membership): Entry {
  return { index, term: 1, kind: EntryKind.Config, data: encodeMembership(m) };
}

test("compaction between two changes keeps the configuration in force at its index", () => {
  const m2: Membership = { members: [...BASE.members, member(4, true)], removed: [] };
  const m3: Membership = { members: [...BASE.members, member(4, false)], removed: [] };
  const entries: Entry[] = [
    { index: 1, term: 1, kind: EntryKind.Noop, data: new Uint8Array() },
    configEntry(2, m2),
    { index: 3, term: 1, kind: EntryKind.Normal, data: bytes("x") },
    configEntry(4, m3),
  ];
  const r = new Raft(raftConfig(2, []), {
    hardState: { term: 1, vote: 0, commit: 4 },
    log: { entries, offset: 0, offsetTerm: 0, committed: 4, applied: 1 },
    membership: BASE,
  });
  r.step(heartbeat(1, 2, 1, 4));
  mutableLogForTesting(r).appliedTo(4);
  r.snapshotTaken({ index: 3, term: 1 });
  r.compact(3);
  const at = (index: number) => encodeMembership(r.membershipAt(index));
  assert.deepEqual(at(3), encodeMembership(m2), "index 3 lies under the change at 2");
  assert.deepEqual(at(4), encodeMembership(m3));
});
