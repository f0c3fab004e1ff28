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
  timeoutNow: MessageType.MESSAGE_TYPE_TIMEOUT_NOW,
  readIndex: MessageType.MESSAGE_TYPE_READ_INDEX,
  readIndexResp: MessageType.MESSAGE_TYPE_READ_INDEX_RESP,
};

/**
 * Encodes a core message for the wire. Every message is built as one literal with all
 * fields in the same order (no spreads), so V8 gives them one shape: with spreads, these
 * conversions took 7 % of a leader's busy time at one put in flight (CPU profile).
 */
export function toWire(m: Message): RaftMessage {
  const w: RaftMessage = {
    type: TO_WIRE[m.type],
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    context: 0,
  };
  switch (m.type) {
    case "preVote":
    case "vote":
      w.index = m.lastLogIndex;
      w.logTerm = m.lastLogTerm;
      w.context = m.transfer ? 1 : 0;
      break;
    case "preVoteResp":
    case "voteResp":
      w.reject = m.reject;
      break;
    case "append":
      w.index = m.prevIndex;
      w.logTerm = m.prevTerm;
      w.commit = m.commit;
      w.entries = m.entries.map(entryToWire);
      break;
    case "appendResp":
      w.reject = m.reject;
      w.index = m.index;
      w.rejectHint = m.rejectHint;
      w.logTerm = m.hintTerm;
      break;
    case "heartbeat":
      w.commit = m.commit;
      w.context = m.context;
      break;
    case "heartbeatResp":
      w.context = m.context;
      break;
    case "snapshot":
      w.index = m.snapshot.index;
      w.logTerm = m.snapshot.term;
      break;
    case "timeoutNow":
      w.commit = m.commit;
      break;
    case "readIndex":
      w.context = m.context;
      break;
    case "readIndexResp":
      w.index = m.index;
      w.context = m.context;
      break;
  }
  return w;
}

/** Decodes a wire message; null for a type this version does not know (ignored, like loss). */
export function fromWire(w: RaftMessage): Message | null {
  const { from, to, term } = w;
  switch (w.type) {
    case MessageType.MESSAGE_TYPE_PRE_VOTE:
      return voteFromWire("preVote", w);
    case MessageType.MESSAGE_TYPE_VOTE:
      return voteFromWire("vote", w);
    case MessageType.MESSAGE_TYPE_PRE_VOTE_RESP:
      return { type: "preVoteResp", from, to, term, reject: w.reject };
    case MessageType.MESSAGE_TYPE_VOTE_RESP:
      return { type: "voteResp", from, to, term, reject: w.reject };
    case MessageType.MESSAGE_TYPE_APPEND:
      return {
        type: "append",
        from,
        to,
        term,
        prevIndex: w.index,
        prevTerm: w.logTerm,
        commit: w.commit,
        entries: w.entries.map(entryFromWire),
      };
    case MessageType.MESSAGE_TYPE_APPEND_RESP:
      return {
        type: "appendResp",
        from,
        to,
        term,
        reject: w.reject,
        index: w.index,
        rejectHint: w.rejectHint,
        hintTerm: w.logTerm,
      };
    case MessageType.MESSAGE_TYPE_HEARTBEAT:
      return { type: "heartbeat", from, to, term, commit: w.commit, context: w.context };
    case MessageType.MESSAGE_TYPE_HEARTBEAT_RESP:
      return { type: "heartbeatResp", from, to, term, context: w.context };
    case MessageType.MESSAGE_TYPE_SNAPSHOT:
      return { type: "snapshot", from, to, term, snapshot: { index: w.index, term: w.logTerm } };
    case MessageType.MESSAGE_TYPE_TIMEOUT_NOW:
      return { type: "timeoutNow", from, to, term, commit: w.commit };
    case MessageType.MESSAGE_TYPE_READ_INDEX:
      return { type: "readIndex", from, to, term, context: w.context };
    case MessageType.MESSAGE_TYPE_READ_INDEX_RESP:
      return { type: "readIndexResp", from, to, term, index: w.index, context: w.context };
    default:
      return null;
  }
}

function voteFromWire(type: "preVote" | "vote", w: RaftMessage): Message {
  const { from, to, term } = w;
  const transfer = w.context === 1;
  return { type, from, to, term, lastLogIndex: w.index, lastLogTerm: w.logTerm, transfer };
}

function entryToWire(e: Entry): WireEntry {
  const data = Buffer.isBuffer(e.data)
    ? e.data
    : Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  return { term: e.term, index: e.index, kind: e.kind, data };
}

function entryFromWire(e: WireEntry): Entry {
  return { term: e.term, index: e.index, kind: e.kind as EntryKind, data: ownedBytes(e.data) };
}

/**
 * `data` itself when it owns its whole memory, else a copy. Entries stay in the log for
 * thousands of entries, so one must not be a view that keeps a whole received batch (up
 * to 8 MiB) alive. The generated decoder already gives each entry's bytes a buffer of
 * their own (`Buffer.from(reader.bytes())` copies), so copying them again here cost each
 * follower a second copy and a second 1 MiB of garbage per uploaded MiB (issue 22,
 * bench/upload-cpu.ts); only views, and small payloads sharing Node's 8 KiB pool, are
 * copied now.
 */
function ownedBytes(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return Uint8Array.prototype.slice.call(data);
}

/**
 * Approximate encoded size of a message, for queue byte limits; `entryBytes` gives an
 * entry's size on the wire when that is not its data's (a stored-form chunk).
 */
export function approximateBytes(m: Message, entryBytes?: (e: Entry) => number): number {
  if (m.type !== "append") return 64;
  let bytes = 64;
  for (const e of m.entries) bytes += (entryBytes?.(e) ?? e.data.byteLength) + 24;
  return bytes;
}
