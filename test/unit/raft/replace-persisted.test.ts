/**
 * The driver may swap durable entries for the lighter form it persisted them in (an
 * upload chunk kept as its stored form, issue 22): only durable entries, only the same
 * entry (index, term, kind), and the core then sizes appends by what an entry stands for.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Raft } from "../../../src/raft/raft.ts";
import { type Entry, EntryKind } from "../../../src/raft/types.ts";
import {
  appendResp,
  bytes,
  electLeader,
  entriesFromTerms,
  newRawNode,
  ofType,
  raftConfig,
  takeMsgs,
} from "./helpers.ts";

function light(e: Entry, tag = "light"): Entry {
  return { ...e, data: bytes(`${tag}${e.index}`) };
}

test("only durable entries are swapped, and only for the same index, term and kind", () => {
  const n = newRawNode(1, [1]);
  n.campaign("vote");
  n.advance(n.ready()); // the no-op (1) is durable
  n.propose([bytes("a"), bytes("b")]);
  const rd = n.ready();
  const [a, b] = rd.entries as [Entry, Entry];
  assert.equal(n.replacePersisted([light(a), light(b)]), 0, "not durable yet");
  assert.deepEqual(n.entryAt(a.index)?.data, bytes("a"));
  n.advance(rd);
  assert.equal(n.status().stableIndex, b.index);
  const swapped = n.replacePersisted([
    light(a),
    { ...light(b), term: b.term + 1 },
    { ...light(b), kind: EntryKind.Config },
    { ...light(b), index: b.index + 1 },
  ]);
  assert.equal(swapped, 1);
  assert.deepEqual(n.entryAt(a.index), light(a));
  assert.deepEqual(
    n.entryAt(b.index)?.data,
    bytes("b"),
    "a different term or kind is not the entry",
  );
  // Applied entries still come out in order, in whatever form the log holds them.
  const applied = n.ready().committedEntries.map((e) => e.data);
  assert.deepEqual(applied, [bytes("light2"), bytes("b")]);
});

test("an entry compacted away or truncated meanwhile is left alone", () => {
  const n = newRawNode(1, [1], { logTerms: [1, 1, 1], hardState: { term: 1, commit: 3 } });
  assert.equal(
    n.replacePersisted([light({ term: 1, index: 0, kind: EntryKind.Normal, data: bytes("") })]),
    0,
  );
  assert.equal(
    n.replacePersisted([light({ term: 1, index: 9, kind: EntryKind.Normal, data: bytes("") })]),
    0,
  );
  const [e2] = entriesFromTerms([1], 2);
  assert.equal(n.replacePersisted([light(e2 as Entry)]), 1);
  assert.deepEqual(n.entryAt(2)?.data, bytes("light2"));
});

test("appends are sized by the bytes an entry stands for, not its stored form", () => {
  const stands = (e: Entry): number => (e.data[0] === 0x53 ? 1000 : e.data.length); // "S..."
  const entries = [1, 2, 3, 4].map((i) => ({
    term: 1,
    index: i,
    kind: EntryKind.Normal,
    data: bytes(`S${i}`),
  }));
  const config = { ...raftConfig(1, [1, 2], { maxMsgBytes: 1500 }), entryBytes: stands };
  const init = {
    hardState: { term: 1, vote: 0, commit: 0 },
    log: { entries, offset: 0, offsetTerm: 0, committed: 0, applied: 0 },
  };
  const r = new Raft(config, init);
  electLeader(r, [1, 2]);
  // The follower holds nothing: the leader probes from 1, then streams the rest.
  r.step({ ...appendResp(2, 1, r.term, r.log.lastIndex() - 1, true), rejectHint: 0 });
  const probe = ofType(takeMsgs(r), "append");
  r.step(appendResp(2, 1, r.term, 1));
  const sent = [...probe, ...ofType(takeMsgs(r), "append")].map((m) =>
    m.entries.map((e) => e.index),
  );
  // Without entryBytes all five (9 bytes of data) would go in one append.
  assert.deepEqual(sent, [[1], [2], [3], [4, 5]], "one 1000-byte entry per append (+ the no-op)");
});
