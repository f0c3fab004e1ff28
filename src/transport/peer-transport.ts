/**
 * Routes the core's outgoing messages to per-peer links, and receives batches from peers
 * after checking they belong to this cluster and are addressed to this node.
 */
import * as grpc from "@grpc/grpc-js";
import type { DeliverAck, MessageBatch, RaftPeerServer } from "../gen/raft.ts";
import type { Message } from "../raft/index.ts";
import { fromWire } from "./codec.ts";
import { DEFAULT_LINK_LIMITS, PeerLink } from "./peer-link.ts";

/** How the transport reaches its peers. */
export interface PeerTransportOptions {
  readonly selfId: number;
  readonly clusterId: string;
  /** Peer id → host:port, excluding this node. */
  readonly peers: ReadonlyMap<number, string>;
  /** Called for every failed delivery (the caller decides how loudly to log). */
  readonly onError: (peer: number, error: Error) => void;
}

/** The send side for all peers. */
export class PeerTransport {
  private readonly links = new Map<number, PeerLink>();

  constructor(options: PeerTransportOptions) {
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
        ),
      );
    }
  }

  /** Sends messages to their addressees; unknown addressees are dropped. */
  send(messages: readonly Message[]): void {
    for (const m of messages) this.links.get(m.to)?.enqueue(m);
  }

  /** Closes every link. */
  close(): void {
    for (const link of this.links.values()) link.close();
  }
}

/**
 * The receive side: a RaftPeer service implementation that validates each batch and hands
 * its messages to `deliver`. A batch from another cluster or for another node is refused
 * with FAILED_PRECONDITION so a misconfigured peer sees why.
 */
export function peerService(
  selfId: number,
  clusterId: string,
  deliver: (messages: Message[]) => void,
): RaftPeerServer {
  return {
    deliver(
      call: grpc.ServerUnaryCall<MessageBatch, DeliverAck>,
      callback: grpc.sendUnaryData<DeliverAck>,
    ): void {
      const batch = call.request;
      if (batch.clusterId !== clusterId || batch.to !== selfId) {
        const why =
          batch.clusterId !== clusterId
            ? `cluster id mismatch: this node is in cluster ${clusterId}, sender in ${batch.clusterId}`
            : `message for node ${batch.to} reached node ${selfId}`;
        callback({ code: grpc.status.FAILED_PRECONDITION, details: why });
        return;
      }
      const messages: Message[] = [];
      for (const w of batch.messages) {
        const m = fromWire(w);
        if (m !== null && m.from === batch.from) messages.push(m);
      }
      deliver(messages);
      callback(null, {});
    },
  };
}
