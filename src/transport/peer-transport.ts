/**
 * Routes the core's outgoing messages to per-peer links, and receives batches from peers
 * after checking they belong to this cluster and are addressed to this node.
 */
import * as grpc from "@grpc/grpc-js";
import type { DeliverAck, MessageBatch, RaftPeerServer } from "../gen/raft.ts";
import type { Message } from "../raft/index.ts";
import type { EntryRehydrator } from "./entry-rehydrator.ts";
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
  /** This node's member identity (its data dir's), sent with every batch. */
  readonly identity?: string;
  /**
   * Where to dial a peer (host:port), or undefined for one this node cannot reach (not a
   * member it knows). Asked when a link is first needed and after {@link PeerTransport.reconcile}.
   */
  readonly dial: (peer: number) => string | undefined;
  /** Called for every failed delivery (the caller decides how loudly to log). */
  readonly onError: (peer: number, error: Error) => void;
  /** Streams InstallSnapshot; without it, snapshot messages are dropped. */
  readonly snapshots?: SnapshotSender;
  /** How to secure peer connections (mutual TLS when configured); plain text by default. */
  readonly credentials?: grpc.ChannelCredentials;
  /**
   * Rehydrates entries the node keeps in stored form (chunks in its blob store) just
   * before they are sent; absent: entries go as they are.
   */
  readonly rehydrator?: EntryRehydrator;
}

/**
 * The send side for all peers. Links are made on first use from `dial`, so a member
 * added by a configuration gets one as soon as the core sends to it; {@link reconcile}
 * closes those of members removed or moved.
 */
export class PeerTransport {
  private readonly links = new Map<number, { link: PeerLink; address: string }>();
  /** {@link PeerLink.overflowed} of links closed since start. */
  private closedOverflows = 0;
  private readonly snapshots: SnapshotSender | undefined;
  private closed = false;

  constructor(private readonly options: PeerTransportOptions) {
    this.snapshots = options.snapshots;
  }

  /** Sends messages to their addressees; addressees with no known address are dropped. */
  send(messages: readonly Message[]): void {
    if (messages.length === 0 || this.closed) return;
    const touched = new Set<PeerLink>();
    for (const m of messages) {
      if (m.type === "snapshot") {
        this.snapshots?.send(m);
        continue;
      }
      const link = this.linkTo(m.to);
      if (link === undefined) continue;
      link.enqueue(m);
      touched.add(link);
    }
    for (const link of touched) link.flush();
  }

  /**
   * The configuration changed: closes the links (and snapshot connections) of peers that
   * are gone or whose address changed. New members get a link on first send.
   */
  reconcile(): void {
    for (const [id, { link, address }] of this.links) {
      if (this.options.dial(id) === address) continue;
      this.closedOverflows += link.overflowed;
      link.close();
      this.links.delete(id);
      this.snapshots?.forget(id);
    }
  }

  /** Sends an empty batch to each of `peers` it can dial (see {@link PeerLink.ping}). */
  ping(peers: readonly number[]): void {
    if (this.closed) return;
    for (const id of peers) this.linkTo(id)?.ping();
  }

  /**
   * Messages the links dropped because a peer's queue was full, since start (metrics:
   * `dfs_raft_peer_messages_dropped_total{reason="link_full"}`).
   */
  overflowedMessages(): number {
    let total = this.closedOverflows;
    for (const { link } of this.links.values()) total += link.overflowed;
    return total;
  }

  /** Peers with an open link (tests, status). */
  linkedPeers(): number[] {
    return [...this.links.keys()].sort((a, b) => a - b);
  }

  /** Closes every link. */
  close(): void {
    this.closed = true;
    for (const { link } of this.links.values()) link.close();
    this.links.clear();
    this.snapshots?.close();
  }

  private linkTo(peer: number): PeerLink | undefined {
    const known = this.links.get(peer);
    if (known !== undefined) return known.link;
    if (peer === this.options.selfId) return undefined;
    const address = this.options.dial(peer);
    if (address === undefined) return undefined;
    const o = this.options;
    const link = new PeerLink(
      o.selfId,
      peer,
      address,
      o.clusterId,
      DEFAULT_LINK_LIMITS,
      o.onError,
      o.credentials,
      o.identity ?? "",
      o.rehydrator,
    );
    this.links.set(peer, { link, address });
    return link;
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
