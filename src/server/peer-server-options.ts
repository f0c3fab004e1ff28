/**
 * The gRPC server options of the peer port, in one place like client-server-options.ts:
 * the peer message size, concurrent streams per connection, keepalive and idle timeout
 * (defaults and reasons in resource-limits.ts, table in docs/security.md "Resource
 * limits"), and the rule for when a plain-text peer port deserves a warning.
 */
import type { ServerOptions } from "@grpc/grpc-js";
import { PEER_MESSAGE_BYTES } from "../transport/index.ts";
import {
  PEER_KEEPALIVE_TIME_MS,
  PEER_KEEPALIVE_TIMEOUT_MS,
  PEER_MAX_CONCURRENT_STREAMS,
  PEER_MAX_CONNECTION_IDLE_MS,
} from "./resource-limits.ts";

/**
 * Options for the peer port's grpc.Server. Messages keep the 64 MiB limit the peer links
 * dial with (appends go in batches of up to 8 MiB, snapshots in chunks); streams per
 * connection, keepalive and idle connections are bounded so a stranger who reaches the
 * port cannot hold a thousand handlers or sockets.
 */
export function peerServerOptions(): ServerOptions {
  return {
    "grpc.max_receive_message_length": PEER_MESSAGE_BYTES,
    "grpc.max_send_message_length": PEER_MESSAGE_BYTES,
    "grpc.max_concurrent_streams": PEER_MAX_CONCURRENT_STREAMS,
    "grpc.keepalive_time_ms": PEER_KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": PEER_KEEPALIVE_TIMEOUT_MS,
    "grpc.max_connection_idle_ms": PEER_MAX_CONNECTION_IDLE_MS,
    "grpc.enable_channelz": 0, // per-call statistics nobody reads (client-server-options.ts)
  };
}

/**
 * True when `host` names only this machine (127.0.0.0/8, ::1, localhost): a plain-text
 * peer port there is reachable by local processes only. Anything else, including the
 * wildcards 0.0.0.0 and ::, is reachable from the network.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}
