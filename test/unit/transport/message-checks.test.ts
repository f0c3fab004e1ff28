/**
 * One test per rule of the peer edge (src/transport/message-checks.ts and the content
 * rules it shares with the core, src/raft/message-rules.ts): a valid message passes, and
 * the same message broken in exactly one way is refused for that rule's reason.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeCommand } from "../../../src/fsm/index.ts";
import { Command } from "../../../src/gen/command.ts";
import {
  type MessageBatch,
  MessageType,
  type RaftMessage,
  type SnapshotChunk,
} from "../../../src/gen/raft.ts";
import { encodeMembership, MAX_INDEX, MAX_TERM, votersOnly } from "../../../src/raft/index.ts";
import {
  checkBatch,
  checkChunk,
  chunkMembership,
  type PeerIdentity,
} from "../../../src/transport/message-checks.ts";

const SELF: PeerIdentity = {
  selfId: 1,
  clusterId: "c1",
  isMember: (id) => id === 2 || id === 3,
};

/** A message from node 2 to node 1 of `type` in term 5; fields may be overridden. */
function msg(type: MessageType, over: Partial<RaftMessage> = {}): RaftMessage {
  return {
    type,
    from: 2,
    to: 1,
    term: 5,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: 0,
    ...over,
  };
}

function batch(messages: RaftMessage[], over: Partial<MessageBatch> = {}): MessageBatch {
  return { clusterId: "c1", from: 2, to: 1, messages, identity: "", ...over };
}

function entry(index: number, term: number, kind = 0) {
  return { index, term, kind, data: Buffer.from([7]) };
}

/** An append after (3, t4) with entries 4 (t4) and 5 (t5), commit 4. */
function append(over: Partial<RaftMessage> = {}): RaftMessage {
  return msg(MessageType.MESSAGE_TYPE_APPEND, {
    index: 3,
    logTerm: 4,
    commit: 4,
    entries: [entry(4, 4), entry(5, 5)],
    ...over,
  });
}

/** The reason a batch of one message is refused for (whole or per message), or "ok". */
function verdictOf(m: RaftMessage, over: Partial<MessageBatch> = {}): string {
  const v = checkBatch(batch([m], over), SELF);
  if (v.refused !== null) return v.refused.reason;
  if (v.dropped.length > 0) return (v.dropped[0] as { reason: string }).reason;
  assert.equal(v.messages.length, 1);
  return "ok";
}

describe("batch header", () => {
  const hb = msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { commit: 3 });
  test("valid heartbeat passes", () => assert.equal(verdictOf(hb), "ok"));
  test("another cluster's batch is refused", () =>
    assert.equal(verdictOf(hb, { clusterId: "c2" }), "wrong_cluster"));
  test("a batch for another node is refused", () =>
    assert.equal(verdictOf(hb, { to: 3 }), "wrong_addressee"));
  test("a batch from non-member node 99 is refused", () =>
    assert.equal(verdictOf({ ...hb, from: 99 }, { from: 99 }), "not_member"));
  test("a batch claiming to come from this node is refused", () =>
    assert.equal(verdictOf({ ...hb, from: 1 }, { from: 1 }), "not_member"));
});

describe("each message", () => {
  test("a message whose from differs from the batch's is dropped", () =>
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { from: 3 })),
      "sender_mismatch",
    ));
  test("a message for another node is dropped", () =>
    assert.equal(verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { to: 3 })), "wrong_addressee"));
  test("an unknown message type is dropped", () => {
    assert.equal(verdictOf(msg(42 as MessageType)), "unknown_type");
    assert.equal(verdictOf(msg(MessageType.MESSAGE_TYPE_UNSPECIFIED)), "unknown_type");
  });
  test("snapshot metadata outside an InstallSnapshot transfer is dropped", () =>
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_SNAPSHOT, { index: 9, logTerm: 5 })),
      "snapshot_outside_transfer",
    ));
  test("only the bad message of a batch is dropped", () => {
    const good = msg(MessageType.MESSAGE_TYPE_HEARTBEAT);
    const v = checkBatch(
      batch([good, msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { term: 2 ** 53 - 1 }), good]),
      SELF,
    );
    assert.ok(v.refused === null);
    assert.equal(v.messages.length, 2);
    assert.deepEqual(
      v.dropped.map((d) => d.reason),
      ["term_range"],
    );
  });
});

describe("terms and indexes in range", () => {
  test("a term up to MAX_TERM passes, above it is dropped", () => {
    assert.equal(verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { term: MAX_TERM })), "ok");
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { term: MAX_TERM + 1 })),
      "term_range",
    );
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { term: 2 ** 53 - 1 })),
      "term_range",
    );
  });
  test("a request in term 0 is dropped (answers may carry it)", () => {
    assert.equal(verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { term: 0 })), "term_range");
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_PRE_VOTE_RESP, { term: 0, reject: true })),
      "ok",
    );
  });
  test("a commit above MAX_INDEX is dropped", () => {
    assert.equal(verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { commit: MAX_INDEX })), "ok");
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_HEARTBEAT, { commit: MAX_INDEX + 1 })),
      "index_range",
    );
    assert.equal(verdictOf(append({ commit: MAX_INDEX + 1 })), "index_range");
  });
  test("an append whose last entry would pass MAX_INDEX is dropped", () =>
    assert.equal(
      verdictOf(
        append({ index: MAX_INDEX - 1, entries: [entry(MAX_INDEX, 4), entry(MAX_INDEX + 1, 5)] }),
      ),
      "index_range",
    ));
  test("an append-response index above MAX_INDEX is dropped", () =>
    assert.equal(
      verdictOf(msg(MessageType.MESSAGE_TYPE_APPEND_RESP, { index: MAX_INDEX + 1 })),
      "index_range",
    ));
});

describe("log positions", () => {
  const vote = msg(MessageType.MESSAGE_TYPE_VOTE, { index: 10, logTerm: 4 });
  test("a valid vote request passes", () => assert.equal(verdictOf(vote), "ok"));
  test("a last log term after the request's term is dropped", () =>
    assert.equal(verdictOf({ ...vote, logTerm: 6 }), "log_position"));
  test("index 0 with a term, or a term 0 with an index, is dropped", () => {
    assert.equal(verdictOf({ ...vote, index: 0 }), "log_position");
    assert.equal(verdictOf({ ...vote, logTerm: 0 }), "log_position");
  });
  test("an append's prevTerm after its term is dropped", () =>
    assert.equal(verdictOf(append({ logTerm: 6, entries: [] })), "log_position"));
});

describe("append entries", () => {
  test("a valid append passes", () => assert.equal(verdictOf(append()), "ok"));
  test("an entry of unknown kind 77 is dropped", () =>
    assert.equal(verdictOf(append({ entries: [entry(4, 4, 77)] })), "entry_kind"));
  test("entries not at prevIndex+1, +2, … are dropped", () => {
    assert.equal(verdictOf(append({ entries: [entry(3, 4)] })), "entries_not_contiguous");
    assert.equal(
      verdictOf(append({ entries: [entry(4, 4), entry(6, 5)] })),
      "entries_not_contiguous",
    );
  });
  test("an entry term above the message's term is dropped", () =>
    assert.equal(verdictOf(append({ entries: [entry(4, 6)] })), "entry_term"));
  test("entry terms that decrease are dropped", () =>
    assert.equal(verdictOf(append({ entries: [entry(4, 5), entry(5, 4)] })), "entry_term"));
  test("an entry term below prevTerm is dropped", () =>
    assert.equal(verdictOf(append({ entries: [entry(4, 3)] })), "entry_term"));
});

describe("answers", () => {
  const rej = msg(MessageType.MESSAGE_TYPE_APPEND_RESP, {
    reject: true,
    index: 9,
    rejectHint: 7,
    logTerm: 4,
  });
  test("a valid refusal passes", () => assert.equal(verdictOf(rej), "ok"));
  test("a refusal hinting past the refused index is dropped", () =>
    assert.equal(verdictOf({ ...rej, rejectHint: 10 }), "reject_hint"));
  test("a refusal hinting a term after its own is dropped", () =>
    assert.equal(verdictOf({ ...rej, logTerm: 6 }), "reject_hint"));
});

describe("InstallSnapshot chunks", () => {
  const chunk: SnapshotChunk = {
    identity: "",
    clusterId: "c1",
    from: 2,
    to: 1,
    term: 5,
    index: 100,
    logTerm: 4,
    offset: 0,
    data: Buffer.alloc(0),
    done: false,
    sha256: Buffer.alloc(0),
    membership: Buffer.alloc(0),
  };
  test("a valid chunk passes", () => assert.equal(checkChunk(chunk, SELF), null));
  test("a chunk from non-member node 99 is refused", () =>
    assert.equal(checkChunk({ ...chunk, from: 99 }, SELF)?.reason, "not_member"));
  test("a chunk of another cluster or for another node is refused", () => {
    assert.equal(checkChunk({ ...chunk, clusterId: "x" }, SELF)?.reason, "wrong_cluster");
    assert.equal(checkChunk({ ...chunk, to: 2 }, SELF)?.reason, "wrong_addressee");
  });
  test("snapshot term after the message's term, or an empty snapshot, is refused", () => {
    assert.equal(checkChunk({ ...chunk, logTerm: 6 }, SELF)?.reason, "snapshot_meta");
    assert.equal(checkChunk({ ...chunk, index: 0 }, SELF)?.reason, "snapshot_meta");
  });
  test("a term above MAX_TERM is refused", () =>
    assert.equal(checkChunk({ ...chunk, term: MAX_TERM + 1 }, SELF)?.reason, "index_range"));
  test("the configuration a chunk carries is decoded and checked; a bad one is refused", () => {
    const good = encodeMembership(votersOnly([1, 2, 3]));
    assert.equal(checkChunk({ ...chunk, membership: Buffer.from(good) }, SELF), null);
    assert.deepEqual(
      chunkMembership({ ...chunk, membership: Buffer.from(good) }),
      votersOnly([1, 2, 3]),
    );
    assert.equal(chunkMembership(chunk), undefined, "none from an older sender");
    for (const bad of ["{", '{"members":[],"removed":[]}', "null", "\u00ff"]) {
      const refused = checkChunk({ ...chunk, membership: Buffer.from(bad) }, SELF);
      assert.equal(refused?.reason, "bad_config", bad);
    }
  });
});

describe("member identity", () => {
  const BOUND = "b".repeat(32);
  const WITH_IDENTITY: PeerIdentity = {
    ...SELF,
    identityFault: (id, identity) =>
      id === 2 && identity !== "" && identity !== BOUND
        ? "member 2 belongs to another data dir; this data dir is new: remove 2 and add this node as a new member"
        : null,
  };
  const hb = msg(MessageType.MESSAGE_TYPE_HEARTBEAT);
  test("a batch from the data dir the configuration binds passes", () => {
    const verdict = checkBatch(batch([hb], { identity: BOUND }), WITH_IDENTITY);
    assert.equal(verdict.refused, null);
  });
  test("a batch or chunk from another data dir is refused whole, naming the remedy", () => {
    const verdict = checkBatch(batch([hb], { identity: "a".repeat(32) }), WITH_IDENTITY);
    assert.equal(verdict.refused?.reason, "identity_mismatch");
    assert.match(verdict.refused?.detail ?? "", /remove 2 and add this node as a new member/);
    const chunk = {
      identity: "a".repeat(32),
      clusterId: "c1",
      from: 2,
      to: 1,
      term: 5,
      index: 100,
      logTerm: 4,
      offset: 0,
      data: Buffer.alloc(0),
      done: false,
      sha256: Buffer.alloc(0),
      membership: Buffer.alloc(0),
    };
    assert.equal(checkChunk(chunk, WITH_IDENTITY)?.reason, "identity_mismatch");
  });
});

describe("upload chunks in the stored form", () => {
  const id = "0123456789abcdef0123456789abcdef";
  const full = encodeCommand({ op: "upload_chunk", uploadId: id, seq: 1, data: Buffer.from("x") });
  const stored = encodeCommand({
    op: "upload_chunk",
    uploadId: id,
    seq: 1,
    data: Buffer.alloc(0),
    stored: { length: 1, crc32: 123 },
  });
  const withData = (data: Uint8Array, kind = 0) =>
    append({ entries: [entry(4, 4), { ...entry(5, 5, kind), data: Buffer.from(data) }] });
  test("a full chunk passes", () => assert.equal(verdictOf(withData(full)), "ok"));
  test("a stored-form chunk (bytes left in the sender's blob) is dropped", () =>
    assert.equal(verdictOf(withData(stored)), "stored_chunk"));
  test("a stored form the scan cannot read alone is judged by the decoder", () => {
    const time = Command.encode(Command.fromPartial({ timeMs: 9 })).finish();
    assert.equal(verdictOf(withData(Buffer.concat([stored, stored]))), "stored_chunk");
    assert.equal(verdictOf(withData(Buffer.concat([time, stored]))), "stored_chunk");
  });
  test("payloads that are not commands, and other entry kinds, are not judged", () => {
    assert.equal(verdictOf(withData(Buffer.from([7, 7, 7]))), "ok");
    assert.equal(verdictOf(withData(stored, 1)), "ok", "a no-op's data is not a command");
  });
});
