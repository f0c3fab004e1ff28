/**
 * Conversion between the core's Message union and the protobuf RaftMessage on the wire.
 * Entry payloads are shared, never copied, in both directions.
 */
import { MessageType, type RaftMessage, type Entry as WireEntry } from "../gen/raft.ts";
import type { Entry, EntryKind, Message } from "../raft/index.ts";

const TO_WIRE: Record<Message["type"], MessageType> = {
  preVote: MessageType.MESSAGE_TYPE_PRE_VOTE,
  preVoteResp: MessageType.MESSAGE_TYPE_PRE_VOTE_RESP,
  vote: MessageType.MESSAGE_TYPE_VOTE,
  voteResp: MessageType.MESSAGE_TYPE_VOTE_RESP,
  append: MessageType.MESSAGE_TYPE_APPEND,
  appendResp: MessageType.MESSAGE_TYPE_APPEND_RESP,
  heartbeat: MessageType.MESSAGE_TYPE_HEARTBEAT,
  heartbeatResp: MessageType.MESSAGE_TYPE_HEARTBEAT_RESP,
  snapshot: MessageType.MESSAGE_TYPE_SNAPSHOT,
};

const EMPTY_WIRE: Omit<RaftMessage, "type" | "from" | "to" | "term"> = {
  logTerm: 0,
  index: 0,
  entries: [],
  commit: 0,
  reject: false,
  rejectHint: 0,
  context: 0,
};

/** Encodes a core message for the wire. */
export function toWire(m: Message): RaftMessage {
  const base = { ...EMPTY_WIRE, type: TO_WIRE[m.type], from: m.from, to: m.to, term: m.term };
  switch (m.type) {
    case "preVote":
    case "vote":
      return { ...base, index: m.lastLogIndex, logTerm: m.lastLogTerm };
    case "preVoteResp":
    case "voteResp":
      return { ...base, reject: m.reject };
    case "append":
      return {
        ...base,
        index: m.prevIndex,
        logTerm: m.prevTerm,
        commit: m.commit,
        entries: m.entries.map(entryToWire),
      };
    case "appendResp":
      return {
        ...base,
        reject: m.reject,
        index: m.index,
        rejectHint: m.rejectHint,
        logTerm: m.hintTerm,
      };
    case "heartbeat":
      return { ...base, commit: m.commit, context: m.context };
    case "heartbeatResp":
      return { ...base, context: m.context };
    case "snapshot":
      return { ...base, index: m.snapshot.index, logTerm: m.snapshot.term };
  }
}

/** Decodes a wire message; null for a type this version does not know (ignored, like loss). */
export function fromWire(w: RaftMessage): Message | null {
  const base = { from: w.from, to: w.to, term: w.term };
  switch (w.type) {
    case MessageType.MESSAGE_TYPE_PRE_VOTE:
      return { ...base, type: "preVote", lastLogIndex: w.index, lastLogTerm: w.logTerm };
    case MessageType.MESSAGE_TYPE_VOTE:
      return { ...base, type: "vote", lastLogIndex: w.index, lastLogTerm: w.logTerm };
    case MessageType.MESSAGE_TYPE_PRE_VOTE_RESP:
      return { ...base, type: "preVoteResp", reject: w.reject };
    case MessageType.MESSAGE_TYPE_VOTE_RESP:
      return { ...base, type: "voteResp", reject: w.reject };
    case MessageType.MESSAGE_TYPE_APPEND:
      return {
        ...base,
        type: "append",
        prevIndex: w.index,
        prevTerm: w.logTerm,
        commit: w.commit,
        entries: w.entries.map(entryFromWire),
      };
    case MessageType.MESSAGE_TYPE_APPEND_RESP:
      return {
        ...base,
        type: "appendResp",
        reject: w.reject,
        index: w.index,
        rejectHint: w.rejectHint,
        hintTerm: w.logTerm,
      };
    case MessageType.MESSAGE_TYPE_HEARTBEAT:
      return { ...base, type: "heartbeat", commit: w.commit, context: w.context };
    case MessageType.MESSAGE_TYPE_HEARTBEAT_RESP:
      return { ...base, type: "heartbeatResp", context: w.context };
    case MessageType.MESSAGE_TYPE_SNAPSHOT:
      return { ...base, type: "snapshot", snapshot: { index: w.index, term: w.logTerm } };
    default:
      return null;
  }
}

function entryToWire(e: Entry): WireEntry {
  const data = Buffer.isBuffer(e.data)
    ? e.data
    : Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  return { term: e.term, index: e.index, kind: e.kind, data };
}

function entryFromWire(e: WireEntry): Entry {
  // Decoded bytes are views into the whole received batch (up to 8 MiB). Entries stay in
  // the log for thousands of entries and a view would keep its whole batch alive, so each
  // entry gets its own copy. (This did not explain the followers' RSS growth under
  // overwrites, which is in the native malloc heap; see the snapshot benchmark summary.)
  return {
    term: e.term,
    index: e.index,
    kind: e.kind as EntryKind,
    data: Uint8Array.prototype.slice.call(e.data),
  };
}

/** Approximate encoded size of a message, for queue byte limits. */
export function approximateBytes(m: Message): number {
  if (m.type !== "append") return 64;
  let bytes = 64;
  for (const e of m.entries) bytes += e.data.byteLength + 24;
  return bytes;
}
