/**
 * Streams state-machine snapshots to followers that fell behind the leader's compacted
 * log (Raft §7). Each transfer runs on its own connection (a separate subchannel), so a
 * large image never queues in front of heartbeats; it is paced by gRPC flow control
 * (never the whole image in memory); a transfer that stops making progress is cancelled
 * and reported as failed, and the core retries later. While a transfer runs, its index
 * is pinned: the leader keeps the log after it, so the follower can continue with appends
 * once installed instead of needing yet another snapshot (etcd #2662, #4055).
 */
import { createHash } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { RaftPeerClient, type SnapshotAck, type SnapshotChunk } from "../gen/raft.ts";
import {
  encodeMembership,
  type Membership,
  type SnapshotMeta,
  type SnapshotRequest,
} from "../raft/index.ts";
import { PEER_CHANNEL_OPTIONS } from "./peer-link.ts";

/** A consistent image to send (the on-disk store's read snapshot). */
export interface OutgoingSnapshot {
  readonly meta: SnapshotMeta;
  chunks(): AsyncIterable<Buffer>;
  close(): void;
}

/** What the sender needs from the node. */
export interface SnapshotSenderOptions {
  readonly selfId: number;
  readonly clusterId: string;
  /** This node's member identity (its data dir's), sent on every chunk. */
  readonly identity?: string;
  /** Where to dial a peer's listener (host:port), if it is a member this node knows. */
  readonly dial: (peer: number) => string | undefined;
  /** Opens an image of the state machine as it is now. */
  readonly open: () => OutgoingSnapshot;
  /** How a transfer ended (the loop tells the core). */
  readonly report: (peer: number, ok: boolean) => void;
  /** Progress and failures, for the log. */
  readonly log: (fields: object, message: string) => void;
  /** A transfer that cannot write for this long is cancelled (default 30 s). */
  readonly stallMs?: number;
  /** How to secure peer connections (mutual TLS when configured); plain text by default. */
  readonly credentials?: grpc.ChannelCredentials;
}

interface Transfer {
  readonly index: number;
  cancel(): void;
}

/** The leader's side of InstallSnapshot for every peer. */
export class SnapshotSender {
  private readonly transfers = new Map<number, Transfer>();
  private readonly clients = new Map<number, RaftPeerClient>();
  private closed = false;

  constructor(private readonly o: SnapshotSenderOptions) {}

  /** Starts streaming a snapshot to `m.to` unless one is already on its way there. */
  send(m: SnapshotRequest): void {
    if (this.closed || this.transfers.has(m.to)) return;
    const client = this.client(m.to);
    if (client === undefined) return;
    let image: OutgoingSnapshot;
    try {
      image = this.o.open();
    } catch (error) {
      // Reported later, as a transfer's end always is (never inside the loop's send).
      this.o.log({ peer: m.to, err: (error as Error).message }, "snapshot failed to open");
      queueMicrotask(() => this.o.report(m.to, false));
      return;
    }
    let call: grpc.ClientWritableStream<SnapshotChunk> | null = null;
    const transfer: Transfer = { index: image.meta.index, cancel: () => call?.cancel() };
    this.transfers.set(m.to, transfer);
    const started = Date.now();
    this.stream(client, m, image, (c) => (call = c))
      .then((bytes) => {
        this.o.log(
          { peer: m.to, index: image.meta.index, bytes, ms: Date.now() - started },
          "snapshot sent",
        );
        return true;
      })
      .catch((error: Error) => {
        this.o.log({ peer: m.to, index: image.meta.index, err: error.message }, "snapshot failed");
        return false;
      })
      .then((ok) => {
        image.close();
        this.transfers.delete(m.to);
        if (!this.closed) this.o.report(m.to, ok);
      });
  }

  /**
   * Lowest log index a transfer in flight still needs after its snapshot (Infinity if
   * none): compaction must keep it.
   */
  pinnedIndex(): number {
    let pinned = Number.POSITIVE_INFINITY;
    for (const t of this.transfers.values()) pinned = Math.min(pinned, t.index + 1);
    return pinned;
  }

  /** Cancels every transfer and closes the connections. */
  close(): void {
    this.closed = true;
    for (const t of this.transfers.values()) t.cancel();
    for (const c of this.clients.values()) c.close();
  }

  /**
   * Drops what this sender holds for `peer` (a member removed, or its address changed):
   * its transfer is cancelled and its connection closed; a later send dials again.
   */
  forget(peer: number): void {
    this.transfers.get(peer)?.cancel();
    this.clients.get(peer)?.close();
    this.clients.delete(peer);
  }

  private client(peer: number): RaftPeerClient | undefined {
    let client = this.clients.get(peer);
    const address = this.o.dial(peer);
    if (client === undefined && address !== undefined) {
      const credentials = this.o.credentials ?? grpc.credentials.createInsecure();
      client = new RaftPeerClient(address, credentials, {
        ...PEER_CHANNEL_OPTIONS,
        // Its own connection: never share HTTP/2 flow control with the heartbeat stream.
        "grpc.use_local_subchannel_pool": 1,
      });
      this.clients.set(peer, client);
    }
    return client;
  }

  private async stream(
    client: RaftPeerClient,
    m: SnapshotRequest,
    image: OutgoingSnapshot,
    expose: (call: grpc.ClientWritableStream<SnapshotChunk>) => void,
  ): Promise<number> {
    let settle: (error: Error | null, ack?: SnapshotAck) => void = () => {};
    const response = new Promise<SnapshotAck>((resolve, reject) => {
      settle = (error, ack) => (error ? reject(error) : resolve(ack as SnapshotAck));
    });
    const call = client.installSnapshot((error, ack) => settle(error, ack));
    expose(call);
    response.catch(() => {}); // observed below; a failure mid-stream must not go unhandled
    const header = {
      clusterId: this.o.clusterId,
      from: this.o.selfId,
      to: m.to,
      term: m.term,
      index: image.meta.index,
      logTerm: image.meta.term,
      // The configuration at the image's own index (its record), which may be older than
      // the core's snapshot position; the core's when the image holds none (bootstrap).
      membership: membershipBytes(image.meta.membership ?? m.snapshot.membership),
      identity: this.o.identity ?? "",
    };
    const hash = createHash("sha256");
    let offset = 0;
    let ended = false;
    response.then(
      () => (ended = true),
      () => (ended = true),
    );
    try {
      for await (const data of image.chunks()) {
        if (ended) throw new Error("the follower ended the transfer early");
        hash.update(data);
        const more = call.write({ ...header, offset, data, done: false, sha256: Buffer.alloc(0) });
        offset += data.length;
        if (!more) await this.drained(call, response);
      }
    } catch (error) {
      call.cancel(); // the follower must not wait for chunks that will never come
      throw error;
    }
    call.write({ ...header, offset, data: Buffer.alloc(0), done: true, sha256: hash.digest() });
    call.end();
    await withTimeout(response, this.o.stallMs ?? 30_000, () => call.cancel());
    return offset;
  }

  /** Waits for the stream to accept more, or fails if it stalls or the call ends. */
  private drained(
    call: grpc.ClientWritableStream<SnapshotChunk>,
    response: Promise<unknown>,
  ): Promise<void> {
    const drain = new Promise<void>((resolve) => call.once("drain", () => resolve()));
    const ended = response.then(() => {
      throw new Error("the follower ended the transfer early");
    });
    ended.catch(() => {}); // may settle after the race is decided
    return withTimeout(Promise.race([drain, ended]), this.o.stallMs ?? 30_000, () => call.cancel());
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`snapshot transfer made no progress for ${ms} ms`));
    }, ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function membershipBytes(m: Membership | undefined): Buffer {
  return m === undefined ? Buffer.alloc(0) : Buffer.from(encodeMembership(m));
}
