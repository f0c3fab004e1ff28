/**
 * Outgoing messages to one peer over one long-lived client stream (like etcd's peer
 * streams): batches go out in order with no per-call setup, which is what bounded
 * throughput when every batch was its own unary call. Raft tolerates loss, so when the
 * peer is slow, paused or gone the link drops messages rather than buffer without bound,
 * and a broken stream is simply reopened on the next send.
 */
import * as grpc from "@grpc/grpc-js";
import type { MessageBatch, RaftMessage, RaftPeerClient } from "../gen/raft.ts";
import type { Message } from "../raft/index.ts";
import { frameOf, installInPlaceFraming, releaseBuffer } from "../wire/index.ts";
import { encodeBatchWithRoom } from "./batch-encoder.ts";
import { approximateBytes, toWire } from "./codec.ts";
import {
  type EntryRehydrator,
  needsRehydration,
  RehydrationError,
  rehydrateMessages,
} from "./entry-rehydrator.ts";
import { PeerClient } from "./peer-client.ts";

/** Limits of one peer link; see DEFAULT_LINK_LIMITS for the reasons. */
export interface LinkLimits {
  /** Bytes queued (waiting for the stream to drain) before new messages are dropped. */
  readonly maxQueueBytes: number;
  /** Bytes written as one batch (at least one message). */
  readonly maxBatchBytes: number;
  /**
   * Bytes of batches handed to the stream whose write has not completed (gRPC holds
   * them, encoded, until HTTP/2 flow control lets them out). At or above it no batch is
   * written until one completes; a batch is written whenever none is outstanding.
   */
  readonly maxUnsentBytes: number;
}

/**
 * What a link may hold, by design (issue 22: a node's memory bounded whatever moves):
 * 24 MiB queued (Raft's window per follower, RaftTuning.maxInflightAppendBytes = 16 MiB,
 * plus the one 4 MiB append that may pass it, so a healthy follower never loses an
 * append here; a peer slower than that loses the rest, and Raft resends from the log,
 * rehydrating stored chunks from the blobs) and one 8 MiB batch in gRPC's hands. Without
 * the second bound gRPC's stream took 16 batches (its object-mode high-water mark), up
 * to 128 MiB encoded, before asking to drain.
 */
export const DEFAULT_LINK_LIMITS: LinkLimits = {
  maxQueueBytes: 24 * 1024 * 1024,
  maxBatchBytes: 8 * 1024 * 1024,
  maxUnsentBytes: 8 * 1024 * 1024,
};

/**
 * Largest message between peers: appends go in batches of up to 8 MiB and snapshots in
 * chunks; both ends of a peer link (the channel and the peer port's server) use it.
 */
export const PEER_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * Channel options: reconnect to a restarted peer within about a second, and detect a
 * silently dead connection (a blackholed link) through keepalive pings within seconds.
 */
export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.min_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.max_send_message_length": PEER_MESSAGE_BYTES,
  "grpc.max_receive_message_length": PEER_MESSAGE_BYTES,
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5000,
  "grpc.enable_channelz": 0, // per-call statistics nobody reads
};

/**
 * A link's own channel: {@link PEER_CHANNEL_OPTIONS} without grpc-js's retry buffer. With
 * it, grpc-js kept each small message for a possible retry and completed its write at
 * once, before HTTP/2 had sent it; with no room, every write completes only once HTTP/2
 * has written it, which is what lets the link release a batch in its write's callback.
 * A link never wanted retries: Raft resends what is lost.
 */
export const LINK_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  ...PEER_CHANNEL_OPTIONS,
  "grpc.per_rpc_retry_buffer_size": 0,
};

/** The send side of the link to one peer. */
export class PeerLink {
  private readonly client: RaftPeerClient;
  /** Messages waiting, in the core's form (stored-form entries stay small until sent). */
  private queue: { message: Message; bytes: number }[] = [];
  private queuedBytes = 0;
  private stream: grpc.ClientWritableStream<MessageBatch> | null = null;
  /** False while the stream's buffer is full (until its 'drain'). */
  private writable = true;
  /** Bytes of batches written to the current stream and not yet completed. */
  private unsent = 0;
  /** True inside flush (a write's completion may come back synchronously). */
  private flushing = false;
  /** True while a batch's entries are being rehydrated (nothing else is written). */
  private preparing = false;
  private closed = false;
  /** Messages dropped because the queue was full or a stream broke (observability). */
  dropped = 0;
  /**
   * Of {@link dropped}, those refused because the queue was full: a follower that a
   * healthy leader's Raft window should never overrun (RaftTuning.maxInflightAppendBytes).
   */
  overflowed = 0;
  /** Bytes of written batches given back to the allocator at once (observability, tests). */
  released = 0;

  constructor(
    private readonly selfId: number,
    private readonly peerId: number,
    address: string,
    private readonly clusterId: string,
    private readonly limits: LinkLimits,
    private readonly onError: (peer: number, error: Error) => void,
    credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    /** This node's member identity, sent with every batch ("" for none). */
    private readonly identity = "",
    /** Rehydrates stored-form entries before they are sent; absent: none are kept. */
    private readonly rehydrator?: EntryRehydrator,
  ) {
    this.client = new PeerClient(address, credentials, LINK_CHANNEL_OPTIONS);
    installInPlaceFraming();
  }

  /** Queues a message; call {@link flush} after queueing a Ready's worth. */
  enqueue(m: Message): void {
    if (this.closed) return;
    const bytes = approximateBytes(m, this.rehydrator?.bytes);
    if (this.queuedBytes + bytes > this.limits.maxQueueBytes && this.queue.length > 0) {
      this.dropped++;
      this.overflowed++;
      return;
    }
    this.queue.push({ message: m, bytes });
    this.queuedBytes += bytes;
  }

  /**
   * Writes queued messages as batches while the stream accepts them. A batch holding
   * stored-form entries is rehydrated first (asynchronously; later batches wait, so the
   * order holds), then written, and flushing goes on.
   */
  flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.queue.length > 0 && this.canWrite() && !this.closed && !this.preparing) {
        const { messages: batch, bytes } = this.takeBatch();
        if (batch.some((m) => needsRehydration(m, this.rehydrator))) {
          this.preparing = true;
          void this.writeRehydrated(batch, bytes);
          return;
        }
        this.write(batch, bytes);
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Bytes of batches in gRPC's hands for this link (observability, tests). */
  get unsentBytes(): number {
    return this.unsent;
  }

  private canWrite(): boolean {
    return this.writable && this.unsent < this.limits.maxUnsentBytes;
  }

  /**
   * Encodes the batch once, into the buffer HTTP/2 will write (wire/framed-message.ts),
   * and releases that buffer when the write completed: HTTP/2 has sent it then, and
   * nothing else holds it (no retry buffer: {@link LINK_CHANNEL_OPTIONS}). So a leader's
   * batches never wait as garbage for V8's next full collection (bench/README.md,
   * session 7).
   */
  private write(batch: readonly Message[], bytes: number): void {
    const stream = this.openStream();
    this.unsent += bytes;
    const encoded = encodeBatchWithRoom(this.wrap(batch.map((m) => toWire(m))));
    const written = () => {
      this.released += releaseBuffer(frameOf(encoded.body));
      // A broken stream's writes are forgotten with it (openStream's reset).
      if (this.stream !== stream) return;
      this.unsent -= bytes;
      this.flush();
    };
    this.writable = stream.write(encoded as unknown as MessageBatch, written);
  }

  private async writeRehydrated(batch: readonly Message[], bytes: number): Promise<void> {
    try {
      const full = await rehydrateMessages(batch, this.rehydrator as EntryRehydrator);
      if (!this.closed) this.write(full, bytes);
    } catch (error) {
      // Our own blob is missing or damaged: never send what we cannot vouch for. The
      // follower asks again (a rejected or missing append), and the error is reported.
      this.dropped += batch.length;
      const reason = error instanceof Error ? error.message : String(error);
      this.onError(this.peerId, new RehydrationError(`not sent to ${this.peerId}: ${reason}`));
    } finally {
      this.preparing = false;
    }
    this.flush();
  }

  /**
   * Sends an empty batch: it carries no Raft message, but the peer checks its header like
   * any other, so a peer that refuses this node (removed, or another data dir's) says so.
   * Skipped while messages wait or the stream is full (those carry the same header).
   */
  ping(): void {
    if (this.closed || !this.canWrite() || this.preparing || this.queue.length > 0) return;
    this.write([], 0);
  }

  /** Takes the next batch's messages off the queue (at least one, up to maxBatchBytes). */
  private takeBatch(): { messages: Message[]; bytes: number } {
    const messages: Message[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as { message: Message; bytes: number };
      if (messages.length > 0 && bytes + next.bytes > this.limits.maxBatchBytes) break;
      this.queue.shift();
      messages.push(next.message);
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    return { messages, bytes };
  }

  private wrap(messages: RaftMessage[]): MessageBatch {
    return {
      clusterId: this.clusterId,
      from: this.selfId,
      to: this.peerId,
      messages,
      identity: this.identity,
    };
  }

  private openStream(): grpc.ClientWritableStream<MessageBatch> {
    if (this.stream !== null) return this.stream;
    const stream = this.client.stream((error) => {
      // The stream ended (peer gone, restarted, unreachable): what is queued is lost, as
      // Raft allows; the next send opens a new stream. Never reopen from here, or a down
      // peer would turn this callback into a busy loop.
      if (this.stream === stream) {
        this.stream = null;
        this.writable = true;
        this.unsent = 0;
        this.dropped += this.queue.length;
        this.queue = [];
        this.queuedBytes = 0;
      }
      if (error && !this.closed) this.onError(this.peerId, error);
    });
    stream.on("drain", () => {
      if (this.stream !== stream) return;
      this.writable = true;
      this.flush();
    });
    this.stream = stream;
    return stream;
  }

  /** Stops sending and closes the stream and channel. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.stream?.cancel();
    this.stream = null;
    this.client.close();
  }
}
