/**
 * Write forwarding (docs/architecture.md#the-put-path): a follower that knows the leader
 * relays a write it cannot propose to the leader's client port, over one pooled gRPC
 * connection per leader address, with the caller's deadline and metadata (its
 * credentials), and answers with the leader's answer, error or not. Session and sequence
 * travel unchanged inside the request, so exactly-once holds across a relay as across a
 * client's own retry. A relayed request carries `dfs-forwarded` and is never relayed
 * again (the receiver, if no longer leading, answers NOT_LEADER with its hint); a client
 * that sends `dfs-no-forward` gets NOT_LEADER and the hint as before. At most
 * `maxInFlight` relays at once per node, then RESOURCE_EXHAUSTED.
 */
import * as grpc from "@grpc/grpc-js";
import {
  DfsError,
  FORWARDED_METADATA,
  MAX_GRPC_MESSAGE_BYTES,
  MAX_GRPC_RESPONSE_BYTES,
  NO_FORWARD_METADATA,
} from "../../api/index.ts";
import { DfsClient } from "../../gen/dfs.ts";
import { toServiceError } from "../grpc-errors.ts";
import { REQUEST_TIMEOUT_MS } from "../loop/waiters.ts";

/** Relays one node keeps in flight at most before refusing more (RESOURCE_EXHAUSTED). */
export const FORWARD_MAX_IN_FLIGHT = 1024;

/** The unary write methods a follower relays. */
export type ForwardedMethod = "put" | "delete" | "deletePrefix" | "batch";

/** What the forwarder needs from its node. */
export interface ForwarderDeps {
  /** The leader's client address when this node follows a known leader; else undefined. */
  readonly leaderAddress: () => string | undefined;
  /** How to reach another node's client port (plain text: the relays' only mode so far). */
  readonly credentials: grpc.ChannelCredentials;
  readonly maxInFlight?: number;
}

/** Transport headers gRPC sets itself; never copied onto a relayed call. */
const OWN_HEADERS = new Set(["content-type", "te", "user-agent", "host", "accept-encoding"]);

type Callback = (
  error: grpc.ServiceError | Partial<grpc.StatusObject> | null,
  value?: unknown,
) => void;
type Relay = (
  request: unknown,
  metadata: grpc.Metadata,
  options: Partial<grpc.CallOptions>,
  callback: (error: grpc.ServiceError | null, response: unknown) => void,
) => grpc.ClientUnaryCall;

/** Relays writes from a follower to the leader. */
export class Forwarder {
  private readonly clients = new Map<string, DfsClient>();
  private inFlight = 0;
  private readonly maxInFlight: number;
  /** Relays done so far (for tests and logs). */
  relayed = 0;

  constructor(private readonly d: ForwarderDeps) {
    this.maxInFlight = d.maxInFlight ?? FORWARD_MAX_IN_FLIGHT;
  }

  /**
   * Where to relay a call with `metadata`: the leader's address when this node follows a
   * known leader and the call neither was relayed already nor asked not to be.
   */
  target(metadata: grpc.Metadata): string | undefined {
    if (metadata.get(FORWARDED_METADATA).length > 0) return undefined;
    if (metadata.get(NO_FORWARD_METADATA).length > 0) return undefined;
    return this.d.leaderAddress();
  }

  /** Relays `call` to `address` and answers `callback` with whatever the leader answered. */
  relay(
    method: ForwardedMethod,
    address: string,
    call: grpc.ServerUnaryCall<unknown, unknown>,
    callback: Callback,
  ): void {
    if (this.inFlight >= this.maxInFlight) {
      const busy = `this node is relaying ${this.inFlight} writes to the leader already; retry, or send writes to the leader (${address})`;
      callback(toServiceError(new DfsError("resource_exhausted", busy, address)));
      return;
    }
    this.inFlight++;
    this.relayed++;
    const client = this.clientFor(address);
    const send = (client[method] as unknown as Relay).bind(client);
    send(
      call.request,
      relayMetadata(call.metadata),
      { deadline: deadlineOf(call) },
      (error, response) => {
        this.inFlight--;
        if (error !== null) callback(error);
        else callback(null, response);
      },
    );
  }

  /** Closes every pooled connection. */
  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

  private clientFor(address: string): DfsClient {
    let client = this.clients.get(address);
    if (client === undefined) {
      client = new DfsClient(address, this.d.credentials, {
        "grpc.max_send_message_length": MAX_GRPC_MESSAGE_BYTES,
        "grpc.max_receive_message_length": MAX_GRPC_RESPONSE_BYTES,
      });
      this.clients.set(address, client);
    }
    return client;
  }
}

/** The caller's metadata (credentials and all) minus transport headers, marked as relayed. */
function relayMetadata(incoming: grpc.Metadata): grpc.Metadata {
  const out = new grpc.Metadata();
  for (const [key, values] of Object.entries(incoming.getMap())) {
    if (key.startsWith(":") || key.startsWith("grpc-") || OWN_HEADERS.has(key)) continue;
    out.set(key, values);
  }
  out.set(FORWARDED_METADATA, "1");
  return out;
}

/** The caller's deadline, or the node's own request timeout when it set none. */
function deadlineOf(call: grpc.ServerUnaryCall<unknown, unknown>): grpc.Deadline {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? d : Date.now() + REQUEST_TIMEOUT_MS;
}
