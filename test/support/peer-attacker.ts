/**
 * A hostile (or broken) peer for adversary tests: a small gRPC client of the RaftPeer
 * service that sends crafted MessageBatches over Deliver and Stream, or raw bytes to any
 * method of any service, and reports the status each call ended with. It speaks the real
 * wire format (the generated encoders), so what it sends is exactly what a peer could.
 */

import { BinaryWriter } from "@bufbuild/protobuf/wire";
import * as grpc from "@grpc/grpc-js";
import type { DfsClient } from "../../src/client/index.ts";
import { type Entry, MessageBatch, MessageType, RaftMessage } from "../../src/gen/raft.ts";

/** How a call ended: its gRPC status code and details (0 and "" on success). */
export interface CallOutcome {
  readonly code: grpc.status;
  readonly details: string;
}

const DELIVER = "/dfs.raft.v1.RaftPeer/Deliver";
const STREAM = "/dfs.raft.v1.RaftPeer/Stream";
const identity = (b: Buffer): Buffer => b;

/** One connection to a node's peer (or client) port. */
export class PeerAttacker {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
  }

  /** Sends `batch` with one Deliver call. */
  deliver(batch: MessageBatch, timeoutMs = 5_000): Promise<CallOutcome> {
    return this.unaryRaw(DELIVER, encodeBatch(batch), timeoutMs);
  }

  /** Sends `batches` on one Stream call, then half-closes it. */
  stream(batches: readonly MessageBatch[], timeoutMs = 5_000): Promise<CallOutcome> {
    return this.streamRaw(STREAM, batches.map(encodeBatch), timeoutMs);
  }

  /** Sends raw request bytes to a unary method (`path` like "/dfs.v1.Dfs/Get"). */
  unaryRaw(path: string, bytes: Buffer, timeoutMs = 5_000): Promise<CallOutcome> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(
        path,
        identity,
        identity,
        bytes,
        { deadline: Date.now() + timeoutMs },
        (error) => resolve(outcome(error)),
      );
    });
  }

  /** Sends raw request messages on a client-streaming method. */
  streamRaw(path: string, messages: readonly Buffer[], timeoutMs = 5_000): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.client.makeClientStreamRequest(
        path,
        identity,
        identity,
        { deadline: Date.now() + timeoutMs },
        (error) => resolve(outcome(error)),
      );
      call.on("error", () => {}); // the status arrives through the callback
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  /** Sends one raw request to a server-streaming method; resolves with how the call ended. */
  serverStreamRaw(path: string, bytes: Buffer, timeoutMs = 5_000): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.client.makeServerStreamRequest(path, identity, identity, bytes, {
        deadline: Date.now() + timeoutMs,
      });
      settle(call, resolve);
    });
  }

  /** Sends raw messages on a bidi-streaming method, then half-closes it. */
  bidiRaw(path: string, messages: readonly Buffer[], timeoutMs = 5_000): Promise<CallOutcome> {
    return new Promise((resolve) => {
      const call = this.client.makeBidiStreamRequest(path, identity, identity, {
        deadline: Date.now() + timeoutMs,
      });
      settle(call, resolve);
      for (const m of messages) call.write(m);
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}

/** Reads a response stream to its end and resolves with its final status. */
function settle(call: grpc.ClientReadableStream<Buffer>, resolve: (o: CallOutcome) => void): void {
  call.on("data", () => {});
  call.on("error", (error: grpc.ServiceError) => resolve(outcome(error)));
  call.on("status", (s: grpc.StatusObject) => {
    if (s.code === grpc.status.OK) resolve({ code: s.code, details: "" });
  });
}

function outcome(error: grpc.ServiceError | null): CallOutcome {
  return error === null
    ? { code: grpc.status.OK, details: "" }
    : { code: error.code, details: error.details };
}

/** Encodes a batch with the generated encoder (what any protobuf peer would send). */
export function encodeBatch(batch: MessageBatch): Buffer {
  return Buffer.from(MessageBatch.encode(batch).finish());
}

/** A batch of `messages` from `from` to `to` in `clusterId`. */
export function batchOf(
  clusterId: string,
  from: number,
  to: number,
  messages: RaftMessage[],
): MessageBatch {
  return { clusterId, from, to, messages, identity: "" };
}

/** A RaftMessage with every field at its wire default except those given. */
export function raftMessage(fields: Partial<RaftMessage> & { type: MessageType }): RaftMessage {
  return RaftMessage.fromPartial(fields);
}

/** A heartbeat from `from` to `to` in `term` carrying `commit`. */
export function heartbeat(from: number, to: number, term: number, commit = 0): RaftMessage {
  return raftMessage({ type: MessageType.MESSAGE_TYPE_HEARTBEAT, from, to, term, commit });
}

/** An append after (prevIndex, prevTerm) of `entries`, committing `commit`. */
export function append(
  from: number,
  to: number,
  term: number,
  prevIndex: number,
  prevTerm: number,
  entries: Entry[],
  commit: number,
): RaftMessage {
  return raftMessage({
    type: MessageType.MESSAGE_TYPE_APPEND,
    from,
    to,
    term,
    index: prevIndex,
    logTerm: prevTerm,
    entries,
    commit,
  });
}

/**
 * A MessageBatch holding one heartbeat whose term is `term` as a full 64-bit value (the
 * generated encoder takes JS numbers, which cannot say 2^60 exactly).
 */
export function batchWithRawTerm(
  clusterId: string,
  from: number,
  to: number,
  term: bigint,
): Buffer {
  const message = new BinaryWriter()
    .uint32(8)
    .int32(MessageType.MESSAGE_TYPE_HEARTBEAT)
    .uint32(16)
    .uint32(from)
    .uint32(24)
    .uint32(to)
    .uint32(32)
    .uint64(term)
    .finish();
  const batch = new BinaryWriter()
    .uint32(10)
    .string(clusterId)
    .uint32(16)
    .uint32(from)
    .uint32(24)
    .uint32(to)
    .uint32(34)
    .bytes(message)
    .finish();
  return Buffer.from(batch);
}

/** Bytes that are not a protobuf message: a length-delimited field that runs past the end. */
export const MALFORMED_PROTOBUF = Buffer.from([0x0a, 0xff, 0x01, 0x41]);

/**
 * Makes `ids` removed members of the cluster (each added as a learner at an address
 * nobody listens on, then removed): since peers accept ids they do not know yet (a member
 * added by a configuration they have not learned), only a removed id is refused whole.
 * The attacks of a "non-member" use these.
 */
export async function removedIds(
  client: { memberAdd: DfsClient["memberAdd"]; memberRemove: DfsClient["memberRemove"] },
  ids: readonly number[],
): Promise<void> {
  for (const [i, id] of ids.entries()) {
    await client.memberAdd({
      id,
      peerAddr: `127.0.0.1:${9 + 2 * i}`,
      clientAddr: `127.0.0.1:${10 + 2 * i}`,
      learner: true,
    });
    await client.memberRemove(id);
  }
}
