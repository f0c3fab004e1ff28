/**
 * Outgoing messages to one peer: a bounded queue drained by one Deliver call at a time,
 * so messages arrive in order and a burst becomes one batch. Raft tolerates loss, so when
 * the peer is slow or down the queue drops rather than grows without bound, and a failed
 * call is dropped rather than retried (the protocol's own retries take over).
 */
import * as grpc from "@grpc/grpc-js";
import { type RaftMessage, RaftPeerClient } from "../gen/raft.ts";
import type { Message } from "../raft/index.ts";
import { approximateBytes, toWire } from "./codec.ts";

/** Limits of one peer link; see DEFAULT_LINK_LIMITS for the reasons. */
export interface LinkLimits {
  /** Bytes queued before new messages are dropped. */
  readonly maxQueueBytes: number;
  /** Bytes sent in one Deliver call (at least one message). */
  readonly maxBatchBytes: number;
  /** Deadline of one Deliver call: a paused or blackholed peer must not hold the link forever. */
  readonly callTimeoutMs: number;
}

/** 64 MiB queue (a few dozen full appends), 8 MiB batches, 2 s call deadline. */
export const DEFAULT_LINK_LIMITS: LinkLimits = {
  maxQueueBytes: 64 * 1024 * 1024,
  maxBatchBytes: 8 * 1024 * 1024,
  callTimeoutMs: 2000,
};

/** Channel options so a restarted peer is reconnected within about a second. */
export const PEER_CHANNEL_OPTIONS: grpc.ChannelOptions = {
  "grpc.initial_reconnect_backoff_ms": 100,
  "grpc.min_reconnect_backoff_ms": 100,
  "grpc.max_reconnect_backoff_ms": 1000,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 10000,
};

/** The send side of the link to one peer. */
export class PeerLink {
  private readonly client: RaftPeerClient;
  private queue: { wire: RaftMessage; bytes: number }[] = [];
  private queuedBytes = 0;
  private inFlight = false;
  private closed = false;
  /** Messages dropped because the queue was full or a call failed (observability). */
  dropped = 0;

  constructor(
    private readonly selfId: number,
    private readonly peerId: number,
    address: string,
    private readonly clusterId: string,
    private readonly limits: LinkLimits,
    private readonly onError: (peer: number, error: Error) => void,
  ) {
    this.client = new RaftPeerClient(
      address,
      grpc.credentials.createInsecure(),
      PEER_CHANNEL_OPTIONS,
    );
  }

  /** Queues a message; sends immediately when no call is in flight. */
  enqueue(m: Message): void {
    if (this.closed) return;
    const bytes = approximateBytes(m);
    if (this.queuedBytes + bytes > this.limits.maxQueueBytes && this.queue.length > 0) {
      this.dropped++;
      return;
    }
    this.queue.push({ wire: toWire(m), bytes });
    this.queuedBytes += bytes;
    if (!this.inFlight) this.flush();
  }

  private flush(): void {
    if (this.queue.length === 0 || this.closed) return;
    const batch: RaftMessage[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0] as { wire: RaftMessage; bytes: number };
      if (batch.length > 0 && bytes + next.bytes > this.limits.maxBatchBytes) break;
      this.queue.shift();
      batch.push(next.wire);
      bytes += next.bytes;
    }
    this.queuedBytes -= bytes;
    this.inFlight = true;
    const request = {
      clusterId: this.clusterId,
      from: this.selfId,
      to: this.peerId,
      messages: batch,
    };
    const deadline = Date.now() + this.limits.callTimeoutMs;
    this.client.deliver(request, new grpc.Metadata(), { deadline }, (error) => {
      this.inFlight = false;
      if (error) {
        this.dropped += batch.length;
        this.onError(this.peerId, error);
      }
      this.flush();
    });
  }

  /** Stops sending and closes the channel. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.client.close();
  }
}
