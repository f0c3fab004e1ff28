/**
 * The content rules of a Raft message (src/raft/message-rules.ts), judged on the core's
 * own message type, each at its boundary: the last value a rule accepts passes, the first
 * it refuses gets that rule's reason. Written for the mutation run's survivors
 * (docs/mutation.md): the peer-edge test reaches these rules only through the wire codec,
 * which cannot express some of the values (a fractional term, a message type it does not
 * know).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type AppendRequest,
  type AppendResponse,
  EntryKind,
  encodeMembership,
  isIndex,
  isKnownEntryKind,
  isTerm,
  MAX_INDEX,
  MAX_TERM,
  type Message,
  messageFault,
  votersOnly,
} from "../../../src/raft/index.ts";

const BASE = { from: 2, to: 1, term: 5 } as const;

function entry(
  index: number,
  term: number,
  kind = EntryKind.Normal,
  data: Uint8Array = Uint8Array.of(7),
) {
  return { index, term, kind, data };
}

/** After (3, t4): entries 4 (t4) and 5 (t5), commit 4, in term 5. */
function append(over: Partial<AppendRequest> = {}): AppendRequest {
  return {
    ...BASE,
    type: "append",
    prevIndex: 3,
    prevTerm: 4,
    entries: [entry(4, 4), entry(5, 5)],
    commit: 4,
    ...over,
  };
}

function appendResp(over: Partial<AppendResponse> = {}): AppendResponse {
  return {
    ...BASE,
    type: "appendResp",
    reject: true,
    index: 7,
    rejectHint: 7,
    hintTerm: 5,
    ...over,
  };
}

describe("message rules (src/raft/message-rules.ts)", () => {
  test("terms and indexes: 0 to the maximum, safe integers only", () => {
    for (const ok of [0, 1, MAX_TERM]) assert.equal(isTerm(ok), true, `term ${ok}`);
    for (const bad of [-1, MAX_TERM + 1, 1.5, Number.NaN]) assert.equal(isTerm(bad), false);
    for (const ok of [0, 1, MAX_INDEX]) assert.equal(isIndex(ok), true, `index ${ok}`);
    for (const bad of [-1, MAX_INDEX + 1, 2.5, Number.POSITIVE_INFINITY])
      assert.equal(isIndex(bad), false);
  });

  test("entry kinds: normal, no-op and configuration, nothing else", () => {
    for (const k of [EntryKind.Normal, EntryKind.Noop, EntryKind.Config])
      assert.equal(isKnownEntryKind(k), true);
    for (const k of [-1, 3, 99]) assert.equal(isKnownEntryKind(k), false);
  });

  test("every message's term in range; requests need term >= 1, answers may carry 0", () => {
    const vote = { ...BASE, type: "vote", lastLogIndex: 3, lastLogTerm: 4, transfer: false };
    assert.equal(messageFault(vote as Message), null);
    assert.equal(messageFault({ ...vote, term: MAX_TERM + 1 } as Message), "term_range");
    assert.equal(messageFault({ ...vote, type: "preVote", term: 0 } as Message), "term_range");
    const heartbeat = { ...BASE, type: "heartbeat", commit: 3, context: 0 } as const;
    assert.equal(messageFault(heartbeat), null);
    assert.equal(messageFault({ ...heartbeat, term: 0 }), "term_range");
    assert.equal(messageFault({ ...heartbeat, commit: MAX_INDEX }), null);
    assert.equal(messageFault({ ...heartbeat, commit: MAX_INDEX + 1 }), "index_range");
    const timeoutNow = { ...BASE, type: "timeoutNow", commit: 0 } as const;
    assert.equal(messageFault(timeoutNow), null);
    assert.equal(messageFault({ ...timeoutNow, term: 0 }), "term_range");
    assert.equal(messageFault({ ...timeoutNow, commit: -1 }), "index_range");
    for (const type of ["preVoteResp", "voteResp"] as const)
      assert.equal(messageFault({ ...BASE, type, term: 0, reject: true }), null);
    assert.equal(messageFault({ ...BASE, type: "heartbeatResp", term: 0, context: 1 }), null);
    assert.equal(messageFault({ ...BASE, type: "gossip" } as unknown as Message), "unknown_type");
  });

  describe("term 1 is the first a request may carry", () => {
    const one = { from: 2, to: 1, term: 1 } as const;
    test("vote", () => {
      const m = { ...one, type: "vote", lastLogIndex: 0, lastLogTerm: 0, transfer: false };
      assert.equal(messageFault(m as Message), null);
    });
    test("heartbeat", () => {
      assert.equal(messageFault({ ...one, type: "heartbeat", commit: 0, context: 0 }), null);
    });
    test("timeoutNow", () => {
      assert.equal(messageFault({ ...one, type: "timeoutNow", commit: 0 }), null);
    });
    test("snapshot", () => {
      assert.equal(
        messageFault({ ...one, type: "snapshot", snapshot: { index: 1, term: 1 } }),
        null,
      );
    });
    test("append, and an entry of term 1", () => {
      const m = append({ ...one, prevIndex: 0, prevTerm: 0, commit: 0, entries: [entry(1, 1)] });
      assert.equal(messageFault(m), null);
    });
    test("an entry of term 1 in a later term's append", () => {
      assert.equal(
        messageFault(append({ prevIndex: 0, prevTerm: 0, commit: 0, entries: [entry(1, 1)] })),
        null,
      );
    });
  });

  test("a vote's last log position: index 0 exactly with term 0, no term past the message's", () => {
    const vote = (lastLogIndex: number, lastLogTerm: number): Message => ({
      ...BASE,
      type: "preVote",
      lastLogIndex,
      lastLogTerm,
      transfer: false,
    });
    assert.equal(messageFault(vote(0, 0)), null);
    assert.equal(messageFault(vote(3, 5)), null, "an entry of the message's own term");
    assert.equal(messageFault(vote(3, 6)), "log_position");
    assert.equal(messageFault(vote(0, 1)), "log_position");
    assert.equal(messageFault(vote(1, 0)), "log_position");
    assert.equal(messageFault(vote(-1, 0)), "index_range");
    assert.equal(messageFault(vote(1, -1)), "index_range");
  });

  test("a snapshot: position in range, index and term >= 1, term not past the message's", () => {
    const snap = (index: number, term: number, over = {}): Message => ({
      ...BASE,
      type: "snapshot",
      snapshot: { index, term, ...over },
    });
    assert.equal(messageFault(snap(9, 5)), null);
    assert.equal(messageFault(snap(1, 1)), null);
    assert.equal(messageFault({ ...snap(9, 5), term: 0 }), "term_range");
    assert.equal(messageFault(snap(MAX_INDEX + 1, 5)), "index_range");
    assert.equal(messageFault(snap(9, MAX_TERM + 1)), "index_range");
    assert.equal(messageFault(snap(0, 5)), "snapshot_meta");
    assert.equal(messageFault(snap(9, 0)), "snapshot_meta");
    assert.equal(messageFault(snap(9, 6)), "snapshot_meta");
    assert.equal(messageFault(snap(9, 5, { membership: votersOnly([1, 2, 3]) })), null);
    assert.equal(messageFault(snap(9, 5, { membership: votersOnly([]) })), "bad_config");
  });

  test("an append: a run of log after its previous position", () => {
    assert.equal(messageFault(append()), null);
    assert.equal(messageFault(append({ term: 0 })), "term_range");
    assert.equal(messageFault(append({ prevIndex: 0, prevTerm: 0, entries: [entry(1, 5)] })), null);
    assert.equal(messageFault(append({ prevTerm: 6 })), "log_position");
    assert.equal(messageFault(append({ commit: MAX_INDEX + 1 })), "index_range");
    assert.equal(
      messageFault(append({ prevIndex: MAX_INDEX - 1, entries: [entry(MAX_INDEX, 4)] })),
      null,
      "the last index there is",
    );
    assert.equal(
      messageFault(
        append({
          prevIndex: MAX_INDEX - 1,
          entries: [entry(MAX_INDEX, 4), entry(MAX_INDEX + 1, 4)],
        }),
      ),
      "index_range",
    );
    assert.equal(messageFault(append({ entries: [entry(5, 4)] })), "entries_not_contiguous");
    assert.equal(
      messageFault(append({ entries: [entry(4, 4), entry(6, 5)] })),
      "entries_not_contiguous",
    );
    assert.equal(messageFault(append({ entries: [entry(4, 3)] })), "entry_term", "below prevTerm");
    assert.equal(
      messageFault(append({ entries: [entry(4, 5), entry(5, 4)] })),
      "entry_term",
      "a term going back",
    );
    assert.equal(
      messageFault(append({ entries: [entry(4, 6)] })),
      "entry_term",
      "past the leader's",
    );
    assert.equal(
      messageFault(append({ prevIndex: 0, prevTerm: 0, entries: [entry(1, 0)] })),
      "entry_term",
      "term 0",
    );
    assert.equal(messageFault(append({ entries: [entry(4, 4), entry(5, 4)] })), null, "same term");
    assert.equal(messageFault(append({ entries: [entry(4, 4, 7 as EntryKind)] })), "entry_kind");
    const config = encodeMembership(votersOnly([1, 2, 3]));
    assert.equal(messageFault(append({ entries: [entry(4, 4, EntryKind.Config, config)] })), null);
    assert.equal(
      messageFault(append({ entries: [entry(4, 4, EntryKind.Config, Uint8Array.of(1, 2))] })),
      "bad_config",
    );
    assert.equal(
      messageFault(append({ entries: [entry(4, 4, EntryKind.Noop, Uint8Array.of(1))] })),
      null,
    );
  });

  test("an append's answer: indexes in range; a refusal's hint at or before it, of no later term", () => {
    assert.equal(messageFault(appendResp()), null);
    assert.equal(messageFault(appendResp({ rejectHint: 6, hintTerm: 4 })), null);
    assert.equal(messageFault(appendResp({ rejectHint: 8 })), "reject_hint");
    assert.equal(messageFault(appendResp({ hintTerm: 6 })), "reject_hint");
    assert.equal(
      messageFault(appendResp({ reject: false, rejectHint: 8, hintTerm: 6 })),
      null,
      "an acceptance's hint is not judged",
    );
    assert.equal(messageFault(appendResp({ index: MAX_INDEX + 1 })), "index_range");
    assert.equal(messageFault(appendResp({ rejectHint: -1 })), "index_range");
    assert.equal(messageFault(appendResp({ hintTerm: MAX_TERM + 1 })), "index_range");
    assert.equal(messageFault(appendResp({ term: 0, hintTerm: 0, rejectHint: 0 })), null);
  });
});
