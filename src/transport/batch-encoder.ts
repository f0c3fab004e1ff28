/**
 * The gRPC serializer of peer batches (MessageBatch, proto/raft.proto), written once into
 * an exactly sized buffer: entries' payloads are copied once per peer instead of four
 * times (see wire/proto-writer.ts). Byte-identical to the generated encoder.
 */
import type { Entry, MessageBatch, RaftMessage } from "../gen/raft.ts";
import {
  allocBodyWithRoom,
  bytesFieldSize,
  lengthDelimitedSize,
  ProtoWriter,
  uintFieldSize,
  utf8Length,
} from "../wire/index.ts";

/** Serializes a batch for the wire (the `requestSerialize` of RaftPeer's calls). */
export function encodeMessageBatch(batch: MessageBatch): Buffer {
  return encodeBatchInto(batch, (size) => Buffer.allocUnsafe(size));
}

/**
 * A batch encoded once, with room for gRPC's header in front (wire/framed-message.ts):
 * the peer link hands it to its stream as it is, and releases it once it is written.
 */
export class EncodedBatch {
  constructor(
    /** The serialized MessageBatch (from {@link allocBodyWithRoom}). */
    readonly body: Buffer,
  ) {}
}

/** Encodes `batch` into a buffer with header room, for {@link EncodedBatch}. */
export function encodeBatchWithRoom(batch: MessageBatch): EncodedBatch {
  return new EncodedBatch(encodeBatchInto(batch, allocBodyWithRoom));
}

/** The serializer of the peer stream: a batch, or one the link encoded already. */
export function serializeBatch(value: MessageBatch | EncodedBatch): Buffer {
  return value instanceof EncodedBatch ? value.body : encodeMessageBatch(value);
}

function encodeBatchInto(batch: MessageBatch, alloc: (size: number) => Buffer): Buffer {
  const clusterIdBytes = utf8Length(batch.clusterId);
  const identity = batch.identity ?? "";
  const identityBytes = utf8Length(identity);
  const messageSizes = batch.messages.map(raftMessageSize);
  let size =
    bytesFieldSize(1, clusterIdBytes) + uintFieldSize(2, batch.from) + uintFieldSize(3, batch.to);
  for (const s of messageSizes) size += lengthDelimitedSize(4, s);
  size += bytesFieldSize(5, identityBytes);
  const w = new ProtoWriter(size, alloc(size));
  w.string(1, batch.clusterId, clusterIdBytes).uint(2, batch.from).uint(3, batch.to);
  batch.messages.forEach((m, i) => {
    w.lengthPrefix(4, messageSizes[i] as number);
    writeRaftMessage(w, m);
  });
  w.string(5, identity, identityBytes);
  return w.finish();
}

function raftMessageSize(m: RaftMessage): number {
  let size =
    uintFieldSize(1, m.type) +
    uintFieldSize(2, m.from) +
    uintFieldSize(3, m.to) +
    uintFieldSize(4, m.term) +
    uintFieldSize(5, m.logTerm) +
    uintFieldSize(6, m.index) +
    uintFieldSize(8, m.commit) +
    (m.reject ? 2 : 0) +
    uintFieldSize(10, m.rejectHint) +
    uintFieldSize(11, m.context);
  for (const e of m.entries) size += lengthDelimitedSize(7, entrySize(e));
  return size;
}

function writeRaftMessage(w: ProtoWriter, m: RaftMessage): void {
  w.uint(1, m.type).uint(2, m.from).uint(3, m.to).uint(4, m.term).uint(5, m.logTerm);
  w.uint(6, m.index);
  for (const e of m.entries) {
    w.lengthPrefix(7, entrySize(e));
    w.uint(1, e.term).uint(2, e.index).uint(3, e.kind).bytes(4, e.data);
  }
  w.uint(8, m.commit).bool(9, m.reject).uint(10, m.rejectHint).uint(11, m.context);
}

function entrySize(e: Entry): number {
  return (
    uintFieldSize(1, e.term) +
    uintFieldSize(2, e.index) +
    uintFieldSize(3, e.kind) +
    bytesFieldSize(4, e.data.length)
  );
}
