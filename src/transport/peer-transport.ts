/**
 * Routes the core's outgoing messages to per-peer links, and receives batches from peers
 * after checking they belong to this cluster and are addressed to this node.
 */
import * as grpc from "@grpc/grpc-js";
import type { DeliverAck, MessageBatch, RaftPeerServer } from "../gen/raft.ts";
import type { Message } from "../raft/index.ts";
import { checkBatch, type PeerIdentity } from "./message-checks.ts";
import type { PeerAuthorizer } from "./peer-auth.ts";
import type { PeerDrops } from "./peer-drops.ts";
import { DEFAULT_LINK_LIMITS, PeerLink } from "./peer-link.ts";
import type { SnapshotSender } from "./snapshot-sender.ts";
import { installSnapshotHandler, type SnapshotInbox } from "./snapshot-service.ts";

/** How the transport reaches its peers. */
export interface PeerTransportOptions {
  readonly selfId: number;
  readonly clusterId: string;
  /** Peer id → host:port, excluding this node. */
  readonly peers: ReadonlyMap<number, string>;
  /** Called for every failed delivery (the caller decides how loudly to log). */
  readonly onError: (peer: number, error: Error) => void;
  /** Streams InstallSnapshot; without it, snapshot messages are dropped. */
  readonly snapshots?: SnapshotSender;
  /** How to secure peer connections (mutual TLS when configured); plain text by default. */
  readonly credentials?: grpc.ChannelCredentials;
}

/** The send side for all peers. */
export class PeerTransport {
  private readonly links = new Map<number, PeerLink>();
  private readonly snapshots: SnapshotSender | undefined;

  constructor(options: PeerTransportOptions) {
    this.snapshots = options.snapshots;
    for (const [id, address] of options.peers) {
      this.links.set(
        id,
        new PeerLink(
          options.selfId,
          id,
          address,
          options.clusterId,
          DEFAULT_LINK_LIMITS,
          options.onError,
          options.credentials,
        ),
      );
    }
  }

  /** Sends messages to their addressees; unknown addressees are dropped. */
  send(messages: readonly Message[]): void {
    if (messages.length === 0) return;
    const touched = new Set<PeerLink>();
    for (const m of messages) {
      if (m.type === "snapshot") {
        this.snapshots?.send(m);
        continue;
      }
      const link = this.links.get(m.to);
      if (link === undefined) continue;
      link.enqueue(m);
      touched.add(link);
    }
    for (const link of touched) link.flush();
  }

  /** Closes every link. */
  close(): void {
    for (const link of this.links.values()) link.close();
    this.snapshots?.close();
  }
}

/** What the receive side needs from its node. */
export interface PeerServiceOptions extends PeerIdentity {
  /** Hands checked messages to the core. */
  readonly deliver: (messages: Message[]) => void;
  /** Counts and logs refused messages. */
  readonly drops: PeerDrops;
  /** Receives InstallSnapshot streams; without it the call is UNIMPLEMENTED. */
  readonly snapshots?: SnapshotInbox;
  /**
   * With mutual TLS: refuses (PERMISSION_DENIED, nothing delivered) a batch or snapshot
   * whose claimed sender is not the member named by the certificate that carried it.
   */
  readonly authorize?: PeerAuthorizer;
}

/**
 * The receive side: a RaftPeer service implementation that checks each batch
 * (message-checks.ts) and hands the messages that pass to `deliver`. A batch from another
 * cluster, for another node or from a non-member is refused with FAILED_PRECONDITION so a
 * misconfigured peer sees why; a bad message inside a batch is dropped on its own. Every
 * refusal is counted and logged (rate-limited) through `drops`.
 */
export function peerService(options: PeerServiceOptions): RaftPeerServer {
  const { drops, authorize } = options;
  const accept = (batch: MessageBatch): string | null => {
    const verdict = checkBatch(batch, options);
    if (verdict.refused !== null) {
      drops.record(batch.from, verdict.refused.reason, verdict.refused.detail);
      return verdict.refused.detail;
    }
    for (const d of verdict.dropped) drops.record(batch.from, d.reason, d.detail);
    if (verdict.messages.length > 0) options.deliver(verdict.messages);
    return null;
  };
  return {
    deliver(
      call: grpc.ServerUnaryCall<MessageBatch, DeliverAck>,
      callback: grpc.sendUnaryData<DeliverAck>,
    ): void {
      const denied = authorize?.(call, call.request.from) ?? null;
      if (denied !== null) {
        callback({ code: grpc.status.PERMISSION_DENIED, details: denied });
        return;
      }
      const refused = accept(call.request);
      if (refused === null) callback(null, {});
      else callback({ code: grpc.status.FAILED_PRECONDITION, details: refused });
    },
    stream(
      call: grpc.ServerReadableStream<MessageBatch, DeliverAck>,
      callback: grpc.sendUnaryData<DeliverAck>,
    ): void {
      let done = false;
      const finish = (error: Partial<grpc.StatusObject> | null): void => {
        if (done) return;
        done = true;
        if (error === null) callback(null, {});
        else callback(error);
      };
      call.on("data", (batch: MessageBatch) => {
        if (done) return;
        const denied = authorize?.(call, batch.from) ?? null;
        if (denied !== null)
          return finish({ code: grpc.status.PERMISSION_DENIED, details: denied });
        const refused = accept(batch);
        if (refused !== null) finish({ code: grpc.status.FAILED_PRECONDITION, details: refused });
      });
      call.on("end", () => finish(null));
      call.on("error", () => finish(null));
    },
    installSnapshot:
      options.snapshots === undefined
        ? (_call, callback) =>
            callback({ code: grpc.status.UNIMPLEMENTED, details: "snapshots are off" })
        : installSnapshotHandler(options.snapshots, options, drops, authorize),
  };
}
