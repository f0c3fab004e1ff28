/**
 * The gRPC server options of the client port, in one place so the node passes them to
 * its client server with one line: message size, concurrent streams per connection and
 * keepalive. grpc-js 1.14's server honours `grpc.max_concurrent_streams`,
 * `grpc.keepalive_time_ms`, `grpc.keepalive_timeout_ms` and `grpc.max_connection_idle_ms`;
 * it has no ping-strike enforcement (`grpc.http2.min_ping_interval_without_data_ms`,
 * `grpc.http2.max_ping_strikes`, the server side of `grpc.keepalive_permit_without_calls`
 * are ignored), so a ping flood is left to Node's HTTP/2 session, which refuses a peer
 * that does not read its PING acks. See docs/security.md "Resource limits".
 */
import type { ServerOptions } from "@grpc/grpc-js";
import { MAX_GRPC_MESSAGE_BYTES, MAX_GRPC_RESPONSE_BYTES } from "../api/limits.ts";
import {
  CLIENT_KEEPALIVE_TIME_MS,
  CLIENT_KEEPALIVE_TIMEOUT_MS,
  CLIENT_MAX_CONCURRENT_STREAMS,
  CLIENT_MAX_CONNECTION_IDLE_MS,
} from "./resource-limits.ts";

/**
 * Options for the client port's grpc.Server. Requests are limited to one value plus
 * framing ({@link MAX_GRPC_MESSAGE_BYTES}): a larger one is refused by gRPC with
 * RESOURCE_EXHAUSTED as soon as its length prefix arrives, before it is buffered, and
 * the client library never builds one. Responses may reach {@link
 * MAX_GRPC_RESPONSE_BYTES} (a Batch of gets), which is what clients accept.
 */
export function clientServerOptions(): ServerOptions {
  return {
    "grpc.max_receive_message_length": MAX_GRPC_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_GRPC_RESPONSE_BYTES,
    "grpc.max_concurrent_streams": CLIENT_MAX_CONCURRENT_STREAMS,
    "grpc.keepalive_time_ms": CLIENT_KEEPALIVE_TIME_MS,
    "grpc.keepalive_timeout_ms": CLIENT_KEEPALIVE_TIMEOUT_MS,
    "grpc.max_connection_idle_ms": CLIENT_MAX_CONNECTION_IDLE_MS,
  };
}
